"""HTTP bodies for the clinic's lead-status styles."""

from __future__ import annotations

from typing import Annotated

import msgspec

from leads.domain.statuses import StatusStyle


class StatusStylePatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: The clinic's own name of the status (all languages); `clear_label` goes back to the translated names.
    label: Annotated[str, msgspec.Meta(max_length=120, examples=["Aguardando contato"])] | None = None
    clear_label: bool = False
    color: Annotated[str, msgspec.Meta(examples=["#1D5FA8"])] | None = None
    #: Back to the status's default colour.
    reset_color: bool = False


class StatusOrderIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: Every status exactly once, in the new order.
    statuses: list[str]


class StatusStyleOut(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    #: The clinic's own name; null: the status's translated name.
    label: str | None
    color: str
    position: int
    #: A lead in a closed status is no longer worked (NOT_INTERESTED, VISIT_COMPLETED).
    closed: bool

    @classmethod
    def of(cls, s: StatusStyle) -> StatusStyleOut:
        return cls(status=s.status, label=s.label, color=s.color, position=s.position, closed=s.closed)
