"""The use cases of privacy against an in-memory unit of work (devkit.memory.MemoryWork): fast, no IO."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from contracts.claims import CRM_READ, CRM_WRITE
from devkit.memory import MemoryWork
from kit.auth import Principal
from kit.context import new_id
from privacy import services as cases
from privacy.domain import InvalidPrivacy, Item


@dataclass
class State:
    items: list[Item] = field(default_factory=list)


class MemoryItems:
    def __init__(self, state: State) -> None:
        self.state = state

    async def add(self, item: Item) -> None:
        self.state.items.append(item)

    async def page(self, tenant_id: str, *, limit: int, offset: int) -> tuple[list[Item], int]:
        mine = sorted(
            (i for i in self.state.items if i.tenant_id == tenant_id), key=lambda i: i.created_at, reverse=True
        )
        return mine[offset : offset + limit], len(mine)


class MemoryPrivacyWork(MemoryWork[State]):
    def opened(self) -> None:
        self.items = MemoryItems(self.state)


def principal() -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=new_id(), email="staff@clinic.test", permissions=frozenset({CRM_READ, CRM_WRITE})
    )


async def test_an_item_is_stored_for_its_clinic_only() -> None:
    db = MemoryPrivacyWork(State())
    mine, other = principal(), principal()
    added = await cases.add_item(db.factory(), mine, "  First   visit ")
    assert added.title == "First visit"
    assert await cases.list_items(db.factory(), mine, limit=10, offset=0) == ([added], 1)
    assert await cases.list_items(db.factory(), other, limit=10, offset=0) == ([], 0)
    assert db.commits == 1


async def test_a_refused_item_stores_nothing() -> None:
    db = MemoryPrivacyWork(State())
    with pytest.raises(InvalidPrivacy):
        await cases.add_item(db.factory(), principal(), "   ")
    assert db.state.items == []
    assert db.commits == 0
