"""pytest fixtures for the real servers (loaded with `-p devkit.testing`).

The servers come from devkit.infra: environment variables, else testcontainers, else embedded
servers from pip packages. Nothing is skipped: a test that needs a server gets one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit import infra as devinfra
from devkit.infra import Infra
from devkit.stack import ROOT, Stack
from kit import migrations
from kit.context import new_id


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    started = devinfra.start(tmp_path_factory.mktemp("infra"))
    try:
        yield started
    finally:
        started.stop()


def fresh_database(infra: Infra, service: str) -> str:
    """A new, migrated database of `service` (tests never share state by accident)."""
    name = f"test_{service}_{new_id().replace('-', '')[:16]}"
    asyncio.run(migrations.ensure_database(infra.postgres_url, name))
    url = migrations.database_url(infra.postgres_url, name)
    migrations.upgrade(ROOT / "services" / service, url)
    return url


@pytest.fixture(scope="session")
def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system on free ports, started once per test session."""
    running = Stack(Path(tmp_path_factory.mktemp("stack")), free_ports=True, infra=infra)
    try:
        running.up()
        yield running
    finally:
        running.stop()


#: Test tiers by folder (docs/architecture.md, "Tests"): `-m unit` runs the fast ones only.
TIERS = ("unit", "integration", "e2e", "deploy")


def tier_of(path: Path) -> str | None:
    return next((tier for tier in TIERS if tier in path.parts), None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = tier_of(Path(item.path))
        if tier is not None:
            item.add_marker(tier)
