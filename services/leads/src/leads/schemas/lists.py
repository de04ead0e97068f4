"""HTTP bodies for the clinic-configurable lists."""

from __future__ import annotations

from typing import Annotated

import msgspec

from leads.domain.lists import ListItem


class ListItemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=120, examples=["Harmonização facial"])]
    #: Stable key used in data (a source slug, a treatment key...); made from the label when omitted.
    slug: Annotated[str, msgspec.Meta(max_length=63)] | None = None
    color: Annotated[str, msgspec.Meta(examples=["#10B981"])] | None = None


class ListItemPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | None = None
    color: str | None = None
    clear_color: bool = False
    active: bool | None = None


class ListOrderIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    ids: list[str]


class ListItemOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    slug: str
    label: str
    color: str | None
    position: int
    active: bool

    @classmethod
    def of(cls, i: ListItem) -> ListItemOut:
        return cls(
            id=i.id, kind=i.kind, slug=i.slug, label=i.label, color=i.color, position=i.position, active=i.active
        )
