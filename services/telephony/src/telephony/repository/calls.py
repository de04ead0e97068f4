"""Queries of calls, provider accounts, tracking numbers and the leads read model."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, literal, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.webhooks import receipts_table
from telephony.domain import CallEvent, CallRecord, KnownContact, Recording, TrackingNumber
from telephony.models import accounts, calls, contacts, tracking_numbers
from telephony.providers import Account

#: The unique index of (clinic, provider, provider call id): two first deliveries of one call race on it.
CALL_KEY = "ux_calls_provider_call"


# --- the ingress' statements, built once ------------------------------------------------------------------
# The ingress runs these for every delivery. Building a SQLAlchemy statement costs more CPU than PostgreSQL
# takes to run it (the `LATERAL` select proxies every column of `calls`, the upsert coerces 21 values), and a
# statement built anew also has its cache key computed anew; one built here with bind parameters is built once
# and its cache key is memoised on it, so a delivery only binds values (docs/benchmarks.md, telephony).
_RECEIPT = insert(receipts_table).values({c.name: bindparam(f"r_{c.name}", type_=c.type) for c in receipts_table.c})
_STORE_RECEIPT = _RECEIPT.on_conflict_do_nothing().returning(receipts_table.c.event_id)


def _phones() -> Any:
    return bindparam("phones", expanding=True)


def _claim_statement() -> Any:
    fresh = _STORE_RECEIPT.cte("stored")
    locked = (
        select(calls)
        .where(
            calls.c.tenant_id == bindparam("tenant_id"),
            calls.c.provider == bindparam("provider"),
            calls.c.provider_call_id == bindparam("provider_call_id"),
        )
        .with_for_update()
        .lateral("locked")
    )
    contact = (
        select(contacts.c.lead_id.label("contact_lead_id"), contacts.c.name.label("contact_name"),
               contacts.c.phone.label("contact_phone"))
        .where(contacts.c.tenant_id == bindparam("tenant_id"), contacts.c.phone.in_(_phones()))
        .order_by(contacts.c.updated_at.desc())
        .limit(1)
        .lateral("contact")
    )  # fmt: skip
    one = select(literal(1).label("one")).subquery("one")
    return select(
        select(func.count()).select_from(fresh).scalar_subquery().label("fresh_receipt"), *locked.c, *contact.c
    ).select_from(one.outerjoin(locked, true()).outerjoin(contact, true()))


_CLAIM = _claim_statement()
#: Every column but the key: what an upsert of the call sets (from the row it tried to insert).
_CALL_VALUES = [c.name for c in calls.c if c.name not in ("id", "tenant_id", "provider", "provider_call_id")]
_UPSERT = insert(calls).values({c.name: bindparam(c.name, type_=c.type) for c in calls.c})
_SAVE_CALL = _UPSERT.on_conflict_do_update(
    index_elements=[calls.c.id], set_={name: _UPSERT.excluded[name] for name in _CALL_VALUES}
)
_CONTACT = (
    select(contacts)
    .where(contacts.c.tenant_id == bindparam("tenant_id"), contacts.c.phone.in_(_phones()))
    .order_by(contacts.c.updated_at.desc())
    .limit(1)
)


def _receipt_params(receipt: dict[str, Any]) -> dict[str, Any]:
    return {f"r_{k}": v for k, v in receipt.items()}


def event_to_json(e: CallEvent) -> dict[str, Any]:
    data = asdict(e)
    data["at"] = e.at.isoformat()
    return data


def event_from_json(data: dict[str, Any]) -> CallEvent:
    return CallEvent(**{**data, "at": datetime.fromisoformat(data["at"])})


class StoredCall:
    """A row of `calls`: the folded record plus what the service keeps beside it."""

    def __init__(self, row: Any) -> None:
        self.id: str = row.id
        self.tenant_id: str = row.tenant_id
        self.source: str | None = row.source
        self.lead_id: str | None = row.lead_id
        self.events = [event_from_json(e) for e in row.events]
        self.announced: list[str] = list(row.announced)
        self.record = CallRecord(
            provider=row.provider,
            provider_call_id=row.provider_call_id,
            direction=row.direction,
            caller=row.caller,
            tracking_number=row.tracking_number,
            state=row.state,
            started_at=row.started_at,
            answered_at=row.answered_at,
            ended_at=row.ended_at,
            talk_seconds=row.talk_seconds,
            duration_seconds=row.duration_seconds,
            disposition=row.disposition,
            recording_ref=row.recording_ref,
            last_seq=row.last_seq,
        )


@dataclass(frozen=True)
class Card:
    """A call card: the call and the contact it was matched to (None: a new caller)."""

    call: StoredCall
    contact: KnownContact | None
    recording: Recording | None = None


class AccountRepository:
    """The clinics' provider accounts and tracking numbers."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def account(self, tenant_id: str, provider: str) -> Account | None:
        row = (
            await self.session.execute(
                select(accounts).where(accounts.c.tenant_id == tenant_id, accounts.c.provider == provider)
            )
        ).first()
        if row is None:
            return None
        return Account(
            tenant_id=row.tenant_id,
            provider=row.provider,
            secret=row.secret,
            api_key=row.api_key,
            country=row.country,
            timezone=row.timezone,
            api_url=row.api_url,
        )

    async def accounts(self, tenant_id: str) -> list[Account]:
        """The clinic's connected providers (with their secrets: callers show only that they are set)."""
        query = select(accounts).where(accounts.c.tenant_id == tenant_id).order_by(accounts.c.provider)
        return [
            Account(
                tenant_id=r.tenant_id,
                provider=r.provider,
                secret=r.secret,
                api_key=r.api_key,
                country=r.country,
                timezone=r.timezone,
            )
            for r in (await self.session.execute(query)).all()
        ]

    async def save_account(self, account: Account, at: datetime) -> None:
        values = {
            "secret": account.secret,
            "api_key": account.api_key,
            "country": account.country,
            "timezone": account.timezone,
            "api_url": account.api_url,
            "updated_at": at,
        }
        stmt = insert(accounts).values(tenant_id=account.tenant_id, provider=account.provider, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[accounts.c.tenant_id, accounts.c.provider], set_=values)
        )

    async def add_number(self, number: TrackingNumber) -> bool:
        stmt = (
            insert(tracking_numbers)
            .values(
                id=number.id,
                tenant_id=number.tenant_id,
                number=number.number,
                source=number.source,
                label=number.label,
                created_at=number.created_at,
            )
            .on_conflict_do_nothing()
            .returning(tracking_numbers.c.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def numbers(self, tenant_id: str) -> list[TrackingNumber]:
        query = select(tracking_numbers).where(tracking_numbers.c.tenant_id == tenant_id)
        rows = (await self.session.execute(query.order_by(tracking_numbers.c.number))).all()
        return [TrackingNumber(r.id, r.tenant_id, r.number, r.source, r.label, r.created_at) for r in rows]

    async def remove_number(self, tenant_id: str, number_id: str) -> bool:
        stmt = delete(tracking_numbers).where(
            tracking_numbers.c.tenant_id == tenant_id, tracking_numbers.c.id == number_id
        )
        return (await self.session.execute(stmt.returning(tracking_numbers.c.id))).first() is not None


class CallRepository:
    """Calls: the folded record, its stored provider events, what was announced; the deliveries' receipts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store_receipt(self, receipt: dict[str, Any]) -> bool:
        """A delivery's receipt (kit.webhooks.receipt_values); False: received before."""
        return (await self.session.execute(_STORE_RECEIPT, _receipt_params(receipt))).first() is not None

    async def claim(
        self, tenant_id: str, provider: str, provider_call_id: str, receipt: dict[str, Any], phones: list[str]
    ) -> tuple[bool, StoredCall | None, KnownContact | None]:
        """One round trip for a delivery: lock the call's row (`FOR UPDATE`, when it exists), store the
        delivery's receipt and look up the contact of `phones`. (whether the receipt is new, the call, the
        contact). A call inserted by a concurrent first delivery is not seen here: saving this one then hits
        `ux_calls_provider_call`, and the ingress runs the unit of work again (`is_call_race`)."""
        params: dict[str, Any] = {"tenant_id": tenant_id, "provider": provider, "provider_call_id": provider_call_id}
        params |= {"phones": phones or [""], **_receipt_params(receipt)}
        row = (await self.session.execute(_CLAIM, params)).one()
        known = (
            KnownContact(row.contact_lead_id, row.contact_name, (row.contact_phone,)) if row.contact_lead_id else None
        )
        return bool(row.fresh_receipt), (StoredCall(row) if row.id is not None else None), known

    async def lock_call(self, tenant_id: str, provider: str, provider_call_id: str) -> StoredCall | None:
        """The call's row, locked; a transaction lock on its key first, so two first deliveries of one call
        at once are applied one after the other instead of racing to insert it."""
        key = f"telephony:{tenant_id}:{provider}:{provider_call_id}"
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
        query = (
            select(calls)
            .where(
                calls.c.tenant_id == tenant_id,
                calls.c.provider == provider,
                calls.c.provider_call_id == provider_call_id,
            )
            .with_for_update()
        )
        row = (await self.session.execute(query)).first()
        return StoredCall(row) if row else None

    async def save_call(
        self,
        call_id: str,
        tenant_id: str,
        record: CallRecord,
        *,
        events: list[CallEvent],
        announced: list[str],
        source: str | None,
        lead_id: str | None,
        at: datetime,
    ) -> None:
        params = {
            "id": call_id,
            "tenant_id": tenant_id,
            "provider": record.provider,
            "provider_call_id": record.provider_call_id,
            "direction": record.direction,
            "caller": record.caller,
            "tracking_number": record.tracking_number,
            "source": source,
            "lead_id": lead_id,
            "state": record.state,
            "started_at": record.started_at,
            "answered_at": record.answered_at,
            "ended_at": record.ended_at,
            "talk_seconds": record.talk_seconds,
            "duration_seconds": record.duration_seconds,
            "disposition": record.disposition,
            "recording_ref": record.recording_ref,
            "last_seq": record.last_seq,
            "events": [event_to_json(e) for e in events],
            "announced": announced,
            "updated_at": at,
        }
        await self.session.execute(_SAVE_CALL, params)

    async def call(self, tenant_id: str, call_id: str) -> StoredCall | None:
        query = select(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call_id)
        row = (await self.session.execute(query)).first()
        return StoredCall(row) if row else None

    async def page(
        self,
        tenant_id: str,
        *,
        disposition: str | None,
        state: str | None,
        caller: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[StoredCall], int]:
        where = [calls.c.tenant_id == tenant_id]
        if disposition:
            where.append(calls.c.disposition == disposition)
        if state:
            where.append(calls.c.state == state)
        if caller:
            where.append(calls.c.caller == caller)
        total = (await self.session.execute(select(func.count()).select_from(calls).where(*where))).scalar_one()
        query = select(calls).where(*where).order_by(calls.c.started_at.desc(), calls.c.id).limit(limit).offset(offset)
        return [StoredCall(r) for r in (await self.session.execute(query)).all()], total


class ContactRepository:
    """The leads read model: phone -> (lead, name), for the call card."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember_contact(self, tenant_id: str, phone: str, lead_id: str, name: str, at: datetime) -> None:
        stmt = insert(contacts).values(tenant_id=tenant_id, phone=phone, lead_id=lead_id, name=name, updated_at=at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[contacts.c.tenant_id, contacts.c.phone],
                set_={"lead_id": lead_id, "name": name, "updated_at": at},
                where=contacts.c.updated_at <= at,
            )
        )

    async def forget_lead(self, tenant_id: str, lead_id: str) -> None:
        await self.session.execute(
            delete(contacts).where(contacts.c.tenant_id == tenant_id, contacts.c.lead_id == lead_id)
        )

    async def contact(self, tenant_id: str, phones: list[str]) -> KnownContact | None:
        row = (await self.session.execute(_CONTACT, {"tenant_id": tenant_id, "phones": phones})).first()
        return KnownContact(row.lead_id, row.name, (row.phone,)) if row else None
