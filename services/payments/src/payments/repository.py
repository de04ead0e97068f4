"""The only module of payments that builds queries."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit import webhooks
from kit.webhooks import receipts_table
from payments.domain.charges import OPEN, SETTLED, Charge
from payments.domain.discounts import DiscountRule, ProcedurePrice
from payments.models import (
    accounts,
    charges,
    discount_rules,
    idempotency_keys,
    lead_sources,
    procedure_prices,
    refunds,
)

_CHARGE_FIELDS = tuple(f.name for f in fields(Charge))


def _charge(row: Any) -> Charge:
    values = {c: getattr(row, c) for c in _CHARGE_FIELDS}
    values["methods"] = tuple(values["methods"])
    return Charge(**values)


def _values(charge: Charge) -> dict[str, Any]:
    values = {c: getattr(charge, c) for c in _CHARGE_FIELDS}
    values["methods"] = list(charge.methods)
    return values


def _lock_with_receipt_statement() -> Any:
    """Built once: constructing this CTE + lateral select took ~2 ms of CPU per webhook (column proxies)."""
    receipt = {c.name: bindparam(f"receipt_{c.name}", type_=c.type) for c in receipts_table.c}
    ins = insert(receipts_table).values(receipt).on_conflict_do_nothing().returning(receipts_table.c.event_id)
    stored = ins.cte("stored")
    locked = (
        select(charges)
        .where(charges.c.id == bindparam("charge_id"), charges.c.tenant_id == bindparam("tenant_id"))
        .with_for_update()
        .lateral("locked")
    )
    one = select(literal(1).label("one")).subquery("one")
    return select(
        select(func.count()).select_from(stored).scalar_subquery().label("fresh_receipt"), *locked.c
    ).select_from(one.outerjoin(locked, true()))


_LOCK_WITH_RECEIPT = _lock_with_receipt_statement()


class ChargeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, charge: Charge) -> None:
        await self.session.execute(charges.insert().values(_values(charge)))

    async def save(self, charge: Charge, *, previous: Charge | None = None) -> None:
        """Write the charge; given the row as it was read, only the columns that changed (a smaller statement
        on the webhook path)."""
        values = {k: v for k, v in _values(charge).items() if k not in ("id", "tenant_id")}
        if previous is not None:
            before = _values(previous)
            values = {k: v for k, v in values.items() if before[k] != v}
            if not values:
                return
        await self.session.execute(
            update(charges).where(charges.c.id == charge.id, charges.c.tenant_id == charge.tenant_id).values(values)
        )

    async def get(self, tenant_id: str, charge_id: str, *, lock: bool = False) -> Charge | None:
        query = select(charges).where(charges.c.id == charge_id, charges.c.tenant_id == tenant_id)
        if lock:
            # Two deliveries about one payment queue here, so the second sees what the first did.
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return _charge(row) if row else None

    async def lock_with_receipt(
        self, tenant_id: str, charge_id: str, receipt: dict[str, Any]
    ) -> tuple[Charge | None, bool]:
        """Store a webhook's receipt and lock its charge in one round trip: (the charge or None, whether the
        receipt is new). The receipt is inserted even when no such charge exists (the caller decides)."""
        params = {**{f"receipt_{k}": v for k, v in receipt.items()}, "charge_id": charge_id, "tenant_id": tenant_id}
        row = (await self.session.execute(_LOCK_WITH_RECEIPT, params)).one()
        return (_charge(row) if row.id is not None else None), bool(row.fresh_receipt)

    async def by_provider_payment(self, tenant_id: str, provider: str, payment_id: str) -> Charge | None:
        query = select(charges).where(
            charges.c.tenant_id == tenant_id,
            charges.c.provider == provider,
            charges.c.provider_payment_id == payment_id,
        )
        row = (await self.session.execute(query)).first()
        return _charge(row) if row else None

    async def for_appointment(self, tenant_id: str, appointment_id: str) -> list[Charge]:
        query = select(charges).where(charges.c.tenant_id == tenant_id, charges.c.appointment_id == appointment_id)
        return [_charge(r) for r in (await self.session.execute(query)).all()]

    async def page(
        self,
        tenant_id: str,
        *,
        status: str | None,
        lead_id: str | None,
        patient_id: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Charge], int]:
        where = [charges.c.tenant_id == tenant_id]
        if status:
            where.append(charges.c.status == status)
        if lead_id:
            where.append(charges.c.lead_id == lead_id)
        if patient_id:
            where.append(charges.c.patient_id == patient_id)
        total = (await self.session.execute(select(func.count()).select_from(charges).where(*where))).scalar_one()
        query = select(charges).where(*where).order_by(charges.c.created_at.desc()).limit(limit).offset(offset)
        return [_charge(r) for r in (await self.session.execute(query)).all()], int(total)

    async def of_person(self, tenant_id: str, *, lead_id: str | None, patient_id: str | None) -> list[Charge]:
        who = []
        if lead_id:
            who.append(charges.c.lead_id == lead_id)
        if patient_id:
            who.append(charges.c.patient_id == patient_id)
        query = select(charges).where(charges.c.tenant_id == tenant_id, or_(*who)).order_by(charges.c.created_at)
        return [_charge(r) for r in (await self.session.execute(query)).all()]

    async def claim_expired(self, now: datetime, limit: int) -> list[Charge]:
        query = (
            select(charges)
            .where(charges.c.status.in_(sorted(OPEN)), charges.c.expires_at <= now)
            .order_by(charges.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_charge(r) for r in (await self.session.execute(query)).all()]

    async def due_for_reconciliation(self, before: datetime, limit: int) -> list[Charge]:
        """Unpaid links (still open, or closed without money) nobody has asked the provider about since `before`."""
        last = func.coalesce(charges.c.reconciled_at, charges.c.created_at)
        query = (
            select(charges)
            .where(charges.c.status.in_([*sorted(OPEN), "expired", "cancelled"]), last <= before)
            .where(charges.c.created_at >= func.now() - func.make_interval(0, 0, 0, 7))
            .order_by(last)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_charge(r) for r in (await self.session.execute(query)).all()]

    async def mark_reconciled(self, charge_ids: list[str], now: datetime) -> None:
        if charge_ids:
            await self.session.execute(update(charges).where(charges.c.id.in_(charge_ids)).values(reconciled_at=now))

    async def paid_between(self, tenant_id: str, start: datetime, end: datetime) -> list[tuple[Charge, str | None]]:
        """Charges with money received in [start, end), each with its lead's source (from the leads events)."""
        query = (
            select(charges, lead_sources.c.source.label("lead_source"))
            .select_from(
                charges.outerjoin(
                    lead_sources,
                    and_(lead_sources.c.tenant_id == charges.c.tenant_id, lead_sources.c.lead_id == charges.c.lead_id),
                )
            )
            .where(
                charges.c.tenant_id == tenant_id,
                charges.c.status.in_(sorted(SETTLED)),
                charges.c.paid_at >= start,
                charges.c.paid_at < end,
            )
            .order_by(charges.c.paid_at)
        )
        return [(_charge(r), r.lead_source) for r in (await self.session.execute(query)).all()]


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seen(self, provider: str, scope: str, event_id: str) -> bool:
        """Whether this delivery's receipt is stored: one round trip, outside a transaction (no BEGIN and
        ROLLBACK around a single read)."""
        conn = await self.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        query = select(receipts_table.c.event_id).where(
            receipts_table.c.provider == provider,
            receipts_table.c.scope == scope,
            receipts_table.c.event_id == event_id[:200],
        )
        return (await conn.execute(query)).first() is not None

    async def record(self, delivery: webhooks.Delivery, *, provider: str, scope: str, event_id: str) -> bool:
        """Store the delivery's receipt in this transaction; False: it was received before (kit.webhooks)."""
        return await webhooks.record_receipt(self.session, delivery, provider=provider, scope=scope, event_id=event_id)


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> None:
        await self.session.execute(refunds.insert().values(values))

    async def of_charges(self, tenant_id: str, charge_ids: list[str]) -> list[Any]:
        if not charge_ids:
            return []
        query = (
            select(refunds)
            .where(refunds.c.tenant_id == tenant_id, refunds.c.charge_id.in_(charge_ids))
            .order_by(refunds.c.created_at)
        )
        return list((await self.session.execute(query)).all())

    async def between(self, tenant_id: str, start: datetime, end: datetime) -> Decimal:
        query = select(func.coalesce(func.sum(refunds.c.amount), 0)).where(
            refunds.c.tenant_id == tenant_id, refunds.c.created_at >= start, refunds.c.created_at < end
        )
        return Decimal((await self.session.execute(query)).scalar_one()).quantize(Decimal("0.01"))


class IdempotencyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim(self, tenant_id: str, key: str, request_hash: str, charge_id: str, now: datetime) -> bool:
        """True: the key is ours now. False: it was used before (look it up)."""
        stmt = (
            insert(idempotency_keys)
            .values(tenant_id=tenant_id, key=key, request_hash=request_hash, charge_id=charge_id, created_at=now)
            .on_conflict_do_nothing()
            .returning(idempotency_keys.c.key)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get(self, tenant_id: str, key: str) -> tuple[str, str] | None:
        query = select(idempotency_keys.c.request_hash, idempotency_keys.c.charge_id).where(
            idempotency_keys.c.tenant_id == tenant_id, idempotency_keys.c.key == key
        )
        row = (await self.session.execute(query)).first()
        return (row.request_hash, row.charge_id) if row else None


def _price(row: Any) -> ProcedurePrice:
    return ProcedurePrice(
        tenant_id=row.tenant_id, procedure_id=row.procedure_id, name=row.name, amount=row.amount, currency=row.currency
    )


def _rule(row: Any) -> DiscountRule:
    return DiscountRule(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        kind=row.kind,
        value=row.value,
        procedure_id=row.procedure_id,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        active=row.active,
    )


class PriceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: str, procedure_id: str) -> ProcedurePrice | None:
        query = select(procedure_prices).where(
            procedure_prices.c.tenant_id == tenant_id, procedure_prices.c.procedure_id == procedure_id
        )
        row = (await self.session.execute(query)).first()
        return _price(row) if row else None

    async def all(self, tenant_id: str) -> list[ProcedurePrice]:
        query = (
            select(procedure_prices).where(procedure_prices.c.tenant_id == tenant_id).order_by(procedure_prices.c.name)
        )
        return [_price(r) for r in (await self.session.execute(query)).all()]

    async def upsert(self, price: ProcedurePrice, user_id: str, now: datetime) -> None:
        values = {
            "tenant_id": price.tenant_id,
            "procedure_id": price.procedure_id,
            "name": price.name,
            "amount": price.amount,
            "currency": price.currency,
            "updated_by": user_id,
            "updated_at": now,
        }
        stmt = insert(procedure_prices).values(values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "procedure_id"],
                set_={k: v for k, v in values.items() if k not in ("tenant_id", "procedure_id")},
            )
        )

    async def delete(self, tenant_id: str, procedure_id: str) -> bool:
        result = await self.session.execute(
            procedure_prices.delete().where(
                procedure_prices.c.tenant_id == tenant_id, procedure_prices.c.procedure_id == procedure_id
            )
        )
        return bool(getattr(result, "rowcount", 0))


class DiscountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def all(self, tenant_id: str) -> list[DiscountRule]:
        query = (
            select(discount_rules).where(discount_rules.c.tenant_id == tenant_id).order_by(discount_rules.c.created_at)
        )
        return [_rule(r) for r in (await self.session.execute(query)).all()]

    async def get(self, tenant_id: str, rule_id: str) -> DiscountRule | None:
        query = select(discount_rules).where(discount_rules.c.tenant_id == tenant_id, discount_rules.c.id == rule_id)
        row = (await self.session.execute(query)).first()
        return _rule(row) if row else None

    async def add(self, rule: DiscountRule, now: datetime) -> None:
        await self.session.execute(discount_rules.insert().values({**rule.__dict__, "created_at": now}))

    async def save(self, rule: DiscountRule) -> None:
        values = {k: v for k, v in rule.__dict__.items() if k not in ("id", "tenant_id")}
        await self.session.execute(
            update(discount_rules)
            .where(discount_rules.c.id == rule.id, discount_rules.c.tenant_id == rule.tenant_id)
            .values(values)
        )

    async def delete(self, tenant_id: str, rule_id: str) -> bool:
        result = await self.session.execute(
            discount_rules.delete().where(discount_rules.c.tenant_id == tenant_id, discount_rules.c.id == rule_id)
        )
        return bool(getattr(result, "rowcount", 0))


class LeadSourceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, tenant_id: str, lead_id: str, source: str) -> None:
        stmt = insert(lead_sources).values(tenant_id=tenant_id, lead_id=lead_id, source=source)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["tenant_id", "lead_id"], set_={"source": source})
        )

    async def link_patient(self, tenant_id: str, lead_id: str, patient_id: str) -> None:
        await self.session.execute(
            update(lead_sources)
            .where(lead_sources.c.tenant_id == tenant_id, lead_sources.c.lead_id == lead_id)
            .values(patient_id=patient_id)
        )

    async def source_of(self, tenant_id: str, lead_id: str) -> str | None:
        query = select(lead_sources.c.source).where(
            lead_sources.c.tenant_id == tenant_id, lead_sources.c.lead_id == lead_id
        )
        return (await self.session.execute(query)).scalar_one_or_none()


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: str) -> Any | None:
        return (await self.session.execute(select(accounts).where(accounts.c.tenant_id == tenant_id))).first()

    async def secrets_for_update(self, current_prefix: str, limit: int) -> list[tuple[str, str, str]]:
        """Accounts with a credential not sealed under the current key (`current_prefix`)."""
        stale = [
            and_(column != "", ~column.startswith(current_prefix, autoescape=True))
            for column in (accounts.c.access_token, accounts.c.webhook_secret)
        ]
        query = (
            select(accounts.c.tenant_id, accounts.c.access_token, accounts.c.webhook_secret)
            .where(or_(*stale))
            .order_by(accounts.c.tenant_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [(r.tenant_id, r.access_token, r.webhook_secret) for r in (await self.session.execute(query)).all()]

    async def set_secrets(self, tenant_id: str, *, access_token: str, webhook_secret: str) -> None:
        await self.session.execute(
            update(accounts)
            .where(accounts.c.tenant_id == tenant_id)
            .values(access_token=access_token, webhook_secret=webhook_secret)
        )

    async def upsert(self, values: dict[str, Any]) -> None:
        stmt = insert(accounts).values(values)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id"], set_={k: v for k, v in values.items() if k != "tenant_id"}
            )
        )
