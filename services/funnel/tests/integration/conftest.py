"""Fixtures of funnel's integration tier: a migrated database of its own per test and funnel's unit of work on it
(the helpers the test files share are in support.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from devkit.infra import Infra
from devkit.testing import fresh_database
from funnel.services.work import FunnelUnitOfWork, FunnelWorkFactory
from kit.db import make_engine, uow_factory


@pytest.fixture
def database_url(infra: Infra) -> str:
    """A new database of its own, migrated to head (a sync fixture: fresh_database runs its own loop)."""
    return fresh_database(infra, "funnel")


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[FunnelWorkFactory]:
    engine = make_engine(database_url)
    yield uow_factory(engine, "funnel", FunnelUnitOfWork)
    await engine.dispose()
