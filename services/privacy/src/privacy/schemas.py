"""Request and response bodies of privacy (msgspec)."""

from __future__ import annotations

from datetime import datetime

import msgspec

from privacy.domain import Item


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str


class ItemOut(msgspec.Struct):
    id: str
    title: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, item: Item) -> ItemOut:
        return cls(id=item.id, title=item.title, created_by=item.created_by, created_at=item.created_at)
