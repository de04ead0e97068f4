"""privacy on a real, migrated PostgreSQL: the use cases, the tenant boundary, and the HTTP API's problems."""

from __future__ import annotations

import httpx
import pytest

from contracts.claims import CRM_READ, CRM_WRITE
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from privacy import services as cases
from privacy.app import create_api
from privacy.domain import InvalidPrivacy


@pytest.fixture
def database_url(infra: Infra) -> str:
    """A new database of its own, migrated to head (a sync fixture: fresh_database runs its own loop)."""
    return fresh_database(infra, "privacy")


def principal(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id, email="staff@clinic.test", permissions=frozenset({CRM_READ, CRM_WRITE})
    )


async def test_items_are_stored_paged_and_kept_per_clinic(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = uow_factory(engine, "privacy", cases.PrivacyUnitOfWork)
    mine, other = principal(new_id()), principal(new_id())
    try:
        for n in range(3):
            await cases.add_item(uow, mine, f"item {n}")
        await cases.add_item(uow, other, "not yours")
        first, total = await cases.list_items(uow, mine, limit=2, offset=0)
        rest, _ = await cases.list_items(uow, mine, limit=2, offset=2)
        assert total == 3
        assert [i.title for i in first + rest] == ["item 2", "item 1", "item 0"]
        with pytest.raises(InvalidPrivacy):
            await cases.add_item(uow, mine, "   ")
    finally:
        await engine.dispose()


async def test_the_api_wants_a_token_and_answers_problems(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_DATABASE_URL", database_url)
    app = create_api()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://privacy") as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        anonymous = await client.get("/api/v1/privacy/items")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
