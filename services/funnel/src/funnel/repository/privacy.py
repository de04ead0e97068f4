"""Export and erasure of one person's data held by funnel (docs/privacy.md): deals, treatment plans, tasks, the
deal's activity and ledger, the valuation process and its photos, and funnel's copies of the person's calls and
messages. The only queries of it; the photos' objects are removed from the store with their rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from contracts.privacy import Subject
from funnel.models import activity, appointments, calls, deals, messages, money, plan_items, plans, tasks, visits
from funnel.models.valuation import quotes, valuation_history, valuation_photos, valuations
from kit.objects import ObjectStore
from kit.privacy import ERASED_NAME, ERASED_TEXT


def _person(table: Table, tenant_id: str, subject: Subject, *, phone: str | None = "phone") -> ColumnElement[bool]:
    """The rows of `table` that name the subject: by lead, patient (an arrived deal of a lead is "lead:<id>"),
    phone or e-mail, in the clinic."""
    match: list[ColumnElement[bool]] = []
    if subject.lead_ids and "lead_id" in table.c:
        match.append(table.c.lead_id.in_(subject.lead_ids))
    if "patient_id" in table.c and (subject.patient_ids or subject.lead_ids):
        match.append(table.c.patient_id.in_([*subject.patient_ids, *(f"lead:{i}" for i in subject.lead_ids)]))
    if subject.phones and phone is not None and phone in table.c:
        match.append(table.c[phone].in_(subject.phones))
    if subject.emails and "email" in table.c:
        match.append(table.c.email.in_(subject.emails))
    return (table.c.tenant_id == tenant_id) & or_(*match) if match else (table.c.tenant_id.is_(None))


class PrivacyRepository:
    def __init__(self, session: AsyncSession, store: ObjectStore | None = None) -> None:
        self.session = session
        self.store = store

    def using(self, store: ObjectStore) -> PrivacyRepository:
        """The same repository, removing the erased photos' objects from `store`."""
        self.store = store
        return self

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def _ids(self, table: Table, where: ColumnElement[bool]) -> list[Any]:
        return list((await self.session.execute(select(table.c.id).where(where))).scalars())

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        deal_ids = await self._ids(deals, _person(deals, tenant_id, subject))
        plan_ids = await self._ids(plans, plans.c.deal_id.in_(deal_ids))
        valuation_ids = await self._ids(valuations, _person(valuations, tenant_id, subject))
        of_deals = [
            ("plans", plans, plans.c.deal_id, plans.c.created_at),
            ("tasks", tasks, tasks.c.deal_id, tasks.c.created_at),
            ("activity", activity, activity.c.deal_id, activity.c.at),
            ("payments", money, money.c.deal_id, money.c.at),
        ]
        of_valuations = [
            ("valuation_photos", valuation_photos, valuation_photos.c.received_at),
            ("valuation_history", valuation_history, valuation_history.c.at),
            ("quotes", quotes, quotes.c.created_at),
        ]
        out: dict[str, list[dict[str, Any]]] = {
            "deals": await self._rows(select(deals).where(deals.c.id.in_(deal_ids)).order_by(deals.c.created_at)),
        }
        for kind, table, deal_id, order in of_deals:
            out[kind] = await self._rows(select(table).where(deal_id.in_(deal_ids)).order_by(order))
        out["plan_items"] = await self._rows(
            select(plan_items).where(plan_items.c.plan_id.in_(plan_ids)).order_by(plan_items.c.position)
        )
        out["valuations"] = await self._rows(
            select(valuations).where(valuations.c.id.in_(valuation_ids)).order_by(valuations.c.created_at)
        )
        for kind, table, order in of_valuations:
            out[kind] = await self._rows(select(table).where(table.c.valuation_id.in_(valuation_ids)).order_by(order))
        out["appointments"] = await self._rows(select(appointments).where(_person(appointments, tenant_id, subject)))
        out["visits"] = await self._rows(select(visits).where(_person(visits, tenant_id, subject)))
        out["calls"] = await self._rows(select(calls).where(_person(calls, tenant_id, subject)))
        out["messages"] = await self._rows(select(messages).where(_person(messages, tenant_id, subject, phone="to")))
        return out

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """The deals keep their stage, amounts and payments (the board's counts and the curators' earnings stay
        right) and lose the name and phone; tasks lose their comments (and a call-back's phone), the activity
        feed its text; the valuation loses the prospect's contacts and notes, its photos are deleted (rows and
        objects). Signed treatment plans are the patient's treatment consent and the ledger rows fiscal records:
        retained and counted as such. Funnel's copies of calls and messages are deleted."""
        deal_ids = await self._ids(deals, _person(deals, tenant_id, subject))
        valuation_ids = await self._ids(valuations, _person(valuations, tenant_id, subject))
        erased: dict[str, int] = {}

        async def run(kind: str, statement: Any) -> None:
            erased[kind] = erased.get(kind, 0) + int(getattr(await self.session.execute(statement), "rowcount", 0))

        await run("deals", update(deals).where(deals.c.id.in_(deal_ids)).values(name=ERASED_NAME, phone=None))
        of_deal = tasks.c.deal_id.in_(deal_ids)
        await run("tasks", update(tasks).where(of_deal, tasks.c.phone.is_(None)).values(comments=[]))
        await run("tasks", update(tasks).where(of_deal, tasks.c.phone.is_not(None)).values(
            comments=[], phone=None, title=ERASED_TEXT
        ))  # fmt: skip
        await run("activity", update(activity).where(activity.c.deal_id.in_(deal_ids)).values(text=ERASED_TEXT))
        await run(
            "valuations",
            update(valuations)
            .where(valuations.c.id.in_(valuation_ids))
            .values(name=ERASED_NAME, phone=None, email=None, notes=None, answer=None),
        )
        await run(
            "valuation_history",
            update(valuation_history)
            .where(valuation_history.c.valuation_id.in_(valuation_ids))
            .values(text=ERASED_TEXT),
        )
        photos = delete(valuation_photos).where(valuation_photos.c.valuation_id.in_(valuation_ids))
        keys = list((await self.session.execute(photos.returning(valuation_photos.c.object_key))).scalars())
        erased["valuation_photos"] = len(keys)
        if self.store is not None:
            for key in keys:
                await self.store.delete(key)
        await run("calls", delete(calls).where(_person(calls, tenant_id, subject)))
        await run("messages", delete(messages).where(_person(messages, tenant_id, subject, phone="to")))
        signed = select(plans.c.id).where(plans.c.deal_id.in_(deal_ids), plans.c.signed_at.is_not(None))
        ledger = select(money.c.id).where(money.c.deal_id.in_(deal_ids))
        retained = {
            "plans": len((await self.session.execute(signed)).all()),
            "payments": len((await self.session.execute(ledger)).all()),
        }
        return erased, retained
