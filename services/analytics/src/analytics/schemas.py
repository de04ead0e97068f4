"""Request and response bodies of analytics (msgspec)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import msgspec


class ReportOut(msgspec.Struct, kw_only=True, rename={"first": "from", "last": "to"}):
    """One report: its rows (one per group), their columns in display order, and the totals."""

    report: str
    first: date
    last: date
    #: `clinic` (analytics:all) or `own` (the caller's leads, contacts or patients).
    scope: str
    group_by: list[str]
    sort: str
    columns: list[str]
    rows: list[dict[str, Any]]
    totals: dict[str, Any]


class SourceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    source: str
    note: str | None = None


class SourceOut(msgspec.Struct, kw_only=True):
    lead_id: str
    #: What reports count: the correction when there is one.
    source: str | None
    original_source: str | None
    corrected: bool
    corrected_by: str | None = None
    corrected_at: datetime | None = None
    note: str | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> SourceOut:
        return cls(
            lead_id=row["lead_id"],
            source=row["corrected"] or row["source"],
            original_source=row["source"],
            corrected=row["corrected"] is not None,
            corrected_by=row["corrected_by"],
            corrected_at=row["corrected_at"],
            note=row["note"],
        )


class SpendIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, rename={"first": "from", "last": "to"}):
    """Money spent on a campaign of one source over clinic days `from`..`to` (inclusive)."""

    source: str
    #: The channel it bought, when only one (e.g. call for a tracking number); none: split by leads.
    channel: str | None = None
    campaign: str | None = None
    first: date
    last: date
    amount: Decimal
    currency: str


class SpendOut(msgspec.Struct, kw_only=True):
    id: str
    source: str
    channel: str | None
    campaign: str | None
    period_start: datetime
    period_end: datetime
    amount: Decimal
    currency: str
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> SpendOut:
        return cls(**{f: row[f] for f in cls.__struct_fields__})


class CommissionIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    percent: Decimal


class CommissionOut(msgspec.Struct, kw_only=True):
    #: "*" is the clinic's default.
    curator_id: str
    percent: Decimal
    set_by: str
    set_at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> CommissionOut:
        return cls(**{f: row[f] for f in cls.__struct_fields__})


class PanelOut(msgspec.Struct, kw_only=True):
    count: int
    #: The sum of the payments (payments_today only).
    amount: Decimal | None = None
    #: Where the detail is.
    detail: str


class DashboardOut(msgspec.Struct, kw_only=True):
    scope: str
    panels: dict[str, PanelOut]


class PanelDetailOut(msgspec.Struct, kw_only=True):
    panel: str
    items: list[dict[str, Any]]
