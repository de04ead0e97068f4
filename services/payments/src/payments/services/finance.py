"""The finance section: payments by period, method, provider and lead source with totals; a patient's ledger;
and the lead-source read model kept from the leads events."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from contracts import EventMeta
from contracts.leads import LeadConvertedV1, LeadCreatedV1
from kit.auth import Principal
from payments.domain.charges import Charge
from payments.domain.errors import InvalidInput
from payments.services.work import PaymentsWork, PaymentsWorkFactory

ZERO = Decimal("0.00")
MAX_PERIOD_DAYS = 366


async def remember_source(uow: PaymentsWork, event: LeadCreatedV1, meta: EventMeta) -> None:
    await uow.lead_sources.upsert(meta.tenant_id, event.lead_id, event.source)


async def remember_patient(uow: PaymentsWork, event: LeadConvertedV1, meta: EventMeta) -> None:
    await uow.lead_sources.link_patient(meta.tenant_id, event.lead_id, event.patient_id)


@dataclass
class Bucket:
    count: int = 0
    amount: Decimal = ZERO

    def add(self, amount: Decimal) -> None:
        self.count += 1
        self.amount += amount


@dataclass
class FinanceView:
    start: date
    end: date
    currency_totals: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    by_method: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    by_provider: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    by_source: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    by_day: dict[str, Bucket] = field(default_factory=lambda: defaultdict(Bucket))
    refunded: Decimal = ZERO
    late: int = 0
    payments: list[tuple[Charge, str | None]] = field(default_factory=list)


async def finance_view(uow_factory: PaymentsWorkFactory, principal: Principal, start: date, end: date) -> FinanceView:
    """Money received from `start` to `end` (both days included, the clinic's time zone)."""
    if end < start:
        raise InvalidInput("'to' is before 'from'.", field="to")
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidInput(f"A period is at most {MAX_PERIOD_DAYS} days.", field="to")
    zone = ZoneInfo(principal.timezone)
    lo = datetime.combine(start, time.min, zone)
    hi = datetime.combine(end + timedelta(days=1), time.min, zone)
    async with uow_factory() as uow:
        rows = await uow.charges.paid_between(principal.tenant_id, lo, hi)
        refunded = await uow.refunds.between(principal.tenant_id, lo, hi)
    view = FinanceView(start=start, end=end, refunded=refunded, payments=rows)
    for charge, source in rows:
        amount = charge.paid_amount or charge.amount
        view.currency_totals[charge.currency].add(amount)
        view.by_method[charge.method or "unknown"].add(amount)
        view.by_provider[charge.provider].add(amount)
        view.by_source[source or "unknown"].add(amount)
        assert charge.paid_at
        view.by_day[charge.paid_at.astimezone(zone).date().isoformat()].add(amount)
        view.late += int(charge.late)
    return view


@dataclass(frozen=True)
class LedgerEntry:
    at: datetime
    kind: str  # charge, payment, refund, expired, cancelled
    payment_id: str
    description: str
    amount: Decimal
    currency: str
    method: str | None = None


async def ledger(
    uow_factory: PaymentsWorkFactory, principal: Principal, *, lead_id: str | None, patient_id: str | None
) -> tuple[list[LedgerEntry], dict[str, Any]]:
    if not lead_id and not patient_id:
        raise InvalidInput("Give lead_id or patient_id.", field="patient_id")
    async with uow_factory() as uow:
        charges = await uow.charges.of_person(principal.tenant_id, lead_id=lead_id, patient_id=patient_id)
        refunds = await uow.refunds.of_charges(principal.tenant_id, [c.id for c in charges])
    entries: list[LedgerEntry] = []
    charged = paid = back = debt = ZERO
    for c in charges:
        entries.append(LedgerEntry(c.created_at, "charge", c.id, c.description, c.amount, c.currency))
        charged += c.amount
        if c.paid_at is not None and c.paid_amount is not None:
            entries.append(LedgerEntry(c.paid_at, "payment", c.id, c.description, c.paid_amount, c.currency, c.method))
            paid += c.paid_amount
        elif c.closed_at is not None:
            entries.append(LedgerEntry(c.closed_at, c.status, c.id, c.description, c.amount, c.currency))
        debt += c.open_debt
    by_charge = {c.id: c for c in charges}
    for r in refunds:
        c = by_charge[r.charge_id]
        entries.append(LedgerEntry(r.created_at, "refund", c.id, r.reason or c.description, r.amount, c.currency))
        back += r.amount
    entries.sort(key=lambda e: e.at)
    totals = {"charged": charged, "paid": paid, "refunded": back, "open_debt": debt}
    return entries, totals
