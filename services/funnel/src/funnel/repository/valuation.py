"""Queries of the valuation → quote process (the only module of it that builds them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funnel.domain.valuation import COLLECTING, DIAGNOSTIC_DOCTOR, OPEN_STATES, VALUING
from funnel.models.valuation import (
    quote_costs,
    quote_discounts,
    quotes,
    valuation_digests,
    valuation_history,
    valuation_leads,
    valuation_photos,
    valuation_settings,
    valuation_staff,
    valuations,
)

Row = Any


class ValuationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- the process ---------------------------------------------------------------------------
    async def add(self, **values: Any) -> None:
        await self.session.execute(valuations.insert().values(**values))

    async def add_for_request(self, **values: Any) -> bool:
        """A process opened by a lead's request; False when that request already opened one."""
        stmt = (
            insert(valuations)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["tenant_id", "request_id"], index_where=valuations.c.request_id.is_not(None)
            )
            .returning(valuations.c.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def open_of_lead(self, tenant_id: str, lead_id: str) -> Row | None:
        q = select(valuations.c.id, valuations.c.state).where(
            valuations.c.tenant_id == tenant_id, valuations.c.lead_id == lead_id, valuations.c.state.in_(OPEN_STATES)
        )
        return (await self.session.execute(q.limit(1))).first()

    # --- opened by a request: the clinic's setting and the leads' contact copy -------------------------
    async def settings(self, tenant_id: str) -> Row | None:
        q = select(valuation_settings).where(valuation_settings.c.tenant_id == tenant_id)
        return (await self.session.execute(q)).first()

    async def put_settings(self, tenant_id: str, **values: Any) -> None:
        stmt = insert(valuation_settings).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))

    async def put_lead(self, tenant_id: str, lead_id: str, **values: Any) -> None:
        """Upsert the lead's copy with the values given (lead.updated carries no owner: it keeps the known one)."""
        stmt = insert(valuation_leads).values(tenant_id=tenant_id, lead_id=lead_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "lead_id"], set_=values))

    async def set_lead_owner(self, tenant_id: str, lead_id: str, owner_id: str | None, at: datetime) -> None:
        await self.session.execute(
            update(valuation_leads)
            .where(valuation_leads.c.tenant_id == tenant_id, valuation_leads.c.lead_id == lead_id)
            .values(owner_id=owner_id, updated_at=at)
        )

    async def lead(self, tenant_id: str, lead_id: str) -> Row | None:
        q = select(valuation_leads).where(
            valuation_leads.c.tenant_id == tenant_id, valuation_leads.c.lead_id == lead_id
        )
        return (await self.session.execute(q)).first()

    async def get(self, tenant_id: str, valuation_id: str, *, lock: bool = False) -> Row | None:
        q = select(valuations).where(valuations.c.tenant_id == tenant_id, valuations.c.id == valuation_id)
        return (await self.session.execute(q.with_for_update() if lock else q)).first()

    async def set(self, valuation_id: str, **values: Any) -> None:
        await self.session.execute(update(valuations).where(valuations.c.id == valuation_id).values(**values))

    async def listed(
        self, tenant_id: str, *, states: list[str] | None, agent_id: str | None, doctor_id: str | None,
        limit: int, offset: int,
    ) -> tuple[list[Row], int]:  # fmt: skip
        where = [valuations.c.tenant_id == tenant_id]
        if states:
            where.append(valuations.c.state.in_(states))
        if agent_id:
            where.append(valuations.c.agent_id == agent_id)
        if doctor_id:
            where.append(valuations.c.doctor_id == doctor_id)
        total = (await self.session.execute(select(func.count()).select_from(valuations).where(*where))).scalar_one()
        photos = (
            select(func.count())
            .select_from(valuation_photos)
            .where(valuation_photos.c.valuation_id == valuations.c.id)
            .scalar_subquery()
        )
        q = (
            select(valuations, photos.label("photo_count"))
            .where(*where)
            .order_by(valuations.c.created_at.desc(), valuations.c.id)
            .limit(limit)
            .offset(offset)
        )
        return list((await self.session.execute(q)).all()), int(total)

    async def collecting_for(self, tenant_id: str, *, lead_id: str | None, phones: list[str]) -> Row | None:
        """The prospect's process still waiting for photos (the newest), locked: where a WhatsApp image goes."""
        who = []
        if lead_id:
            who.append(valuations.c.lead_id == lead_id)
        if phones:
            who.append(valuations.c.phone.in_(phones))
        if not who:
            return None
        q = (
            select(valuations)
            .where(valuations.c.tenant_id == tenant_id, valuations.c.state == COLLECTING, or_(*who))
            .order_by(valuations.c.created_at.desc())
            .limit(1)
            .with_for_update()
        )
        return (await self.session.execute(q)).first()

    # --- photos ----------------------------------------------------------------------------------
    async def photos(self, valuation_id: str) -> list[Row]:
        q = select(valuation_photos).where(valuation_photos.c.valuation_id == valuation_id)
        return list((await self.session.execute(q.order_by(valuation_photos.c.received_at))).all())

    async def photo(self, valuation_id: str, slot: str) -> Row | None:
        q = select(valuation_photos).where(
            valuation_photos.c.valuation_id == valuation_id, valuation_photos.c.slot == slot
        )
        return (await self.session.execute(q)).first()

    async def photo_of_message(self, tenant_id: str, message_id: str) -> Row | None:
        q = select(valuation_photos).where(
            valuation_photos.c.tenant_id == tenant_id, valuation_photos.c.message_id == message_id
        )
        return (await self.session.execute(q)).first()

    async def put_photo(self, **values: Any) -> None:
        """One photo per slot: a new one replaces the old (its object is kept under its own key)."""
        q = insert(valuation_photos).values(**values)
        keep = {"valuation_id", "slot", "tenant_id"}
        await self.session.execute(
            q.on_conflict_do_update(
                index_elements=[valuation_photos.c.valuation_id, valuation_photos.c.slot],
                set_={k: q.excluded[k] for k in values if k not in keep},
            )
        )

    # --- history -----------------------------------------------------------------------------------
    async def log(self, tenant_id: str, valuation_id: str, at: datetime, kind: str, by: str, text: str) -> None:
        await self.session.execute(
            valuation_history.insert().values(
                tenant_id=tenant_id, valuation_id=valuation_id, at=at, kind=kind, by=by, text=text
            )
        )

    async def history(self, valuation_id: str) -> list[Row]:
        q = select(valuation_history).where(valuation_history.c.valuation_id == valuation_id)
        return list((await self.session.execute(q.order_by(valuation_history.c.id))).all())

    # --- staff and doctors -------------------------------------------------------------------------
    async def put_staff(
        self, tenant_id: str, user_id: str, *, full_name: str, roles: list[str], active: bool, changed_at: datetime
    ) -> None:
        """The member's latest record wins (events may come twice or out of order)."""
        q = insert(valuation_staff).values(
            tenant_id=tenant_id, user_id=user_id, full_name=full_name, roles=roles, active=active,
            changed_at=changed_at,
        )  # fmt: skip
        await self.session.execute(
            q.on_conflict_do_update(
                index_elements=[valuation_staff.c.tenant_id, valuation_staff.c.user_id],
                set_={"full_name": full_name, "roles": roles, "active": active, "changed_at": changed_at},
                where=valuation_staff.c.changed_at <= changed_at,
            )
        )

    async def staff(self, tenant_id: str, user_id: str) -> Row | None:
        q = select(valuation_staff).where(
            valuation_staff.c.tenant_id == tenant_id, valuation_staff.c.user_id == user_id
        )
        return (await self.session.execute(q)).first()

    async def doctors(self, tenant_id: str) -> list[Row]:
        """The clinic's active diagnostic doctors with their open valuations, locked: one assignment at a time per
        clinic, so two profiles completed together never both see the same doctor as the least busy."""
        open_count = (
            select(func.count())
            .select_from(valuations)
            .where(
                valuations.c.tenant_id == tenant_id,
                valuations.c.doctor_id == valuation_staff.c.user_id,
                valuations.c.state == VALUING,
            )
            .scalar_subquery()
        )
        q = (
            select(valuation_staff.c.user_id, valuation_staff.c.last_active_at, open_count.label("open_valuations"))
            .where(
                valuation_staff.c.tenant_id == tenant_id,
                valuation_staff.c.active,
                valuation_staff.c.roles.contains([DIAGNOSTIC_DOCTOR]),
            )
            .order_by(valuation_staff.c.user_id)
            .with_for_update(of=valuation_staff)
        )
        return list((await self.session.execute(q)).all())

    async def touch_staff(self, tenant_id: str, user_id: str, at: datetime) -> None:
        await self.session.execute(
            update(valuation_staff)
            .where(valuation_staff.c.tenant_id == tenant_id, valuation_staff.c.user_id == user_id)
            .values(last_active_at=at)
        )

    async def waiting_for_doctor(self, tenant_id: str, *, limit: int = 100) -> list[Row]:
        q = (
            select(valuations)
            .where(valuations.c.tenant_id == tenant_id, valuations.c.state == VALUING, valuations.c.doctor_id.is_(None))
            .order_by(valuations.c.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(q)).all())

    # --- timers --------------------------------------------------------------------------------------
    async def claim_reminders(self, now: datetime, *, limit: int) -> list[Row]:
        q = (
            select(valuations)
            .where(valuations.c.reminder_due_at <= now, valuations.c.state == COLLECTING)
            .order_by(valuations.c.reminder_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(q)).all())

    async def claim_answer_due(self, now: datetime, *, limit: int) -> list[Row]:
        q = (
            select(valuations)
            .where(valuations.c.answer_due_at <= now)
            .order_by(valuations.c.answer_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(q)).all())

    async def claim_digests(self, now: datetime, next_at: datetime, *, limit: int) -> list[Row]:
        """(tenant, agent) pairs with incomplete profiles whose digest is due, claimed by moving `next_at` on in
        one statement (a concurrent round claims none of the same)."""
        pending = (
            select(valuations.c.tenant_id, valuations.c.agent_id, literal(next_at).label("next_at"))
            .where(valuations.c.state == COLLECTING, valuations.c.agent_id.is_not(None))
            .distinct()
            .limit(limit)
        )
        q = insert(valuation_digests).from_select(["tenant_id", "agent_id", "next_at"], pending)
        claim = q.on_conflict_do_update(
            index_elements=[valuation_digests.c.tenant_id, valuation_digests.c.agent_id],
            set_={"next_at": q.excluded.next_at},
            where=valuation_digests.c.next_at <= now,
        ).returning(valuation_digests.c.tenant_id, valuation_digests.c.agent_id)
        return list((await self.session.execute(claim)).all())

    async def ensure_digest(self, tenant_id: str, agent_id: str, next_at: datetime) -> None:
        """An agent's first digest comes a day after their first incomplete profile, not at once."""
        await self.session.execute(
            insert(valuation_digests)
            .values(tenant_id=tenant_id, agent_id=agent_id, next_at=next_at)
            .on_conflict_do_nothing()
        )

    async def incomplete_of(self, tenant_id: str, agent_id: str, *, limit: int = 100) -> list[Row]:
        photos = (
            select(func.count())
            .select_from(valuation_photos)
            .where(valuation_photos.c.valuation_id == valuations.c.id)
            .scalar_subquery()
        )
        q = (
            select(valuations, photos.label("photo_count"))
            .where(
                valuations.c.tenant_id == tenant_id,
                valuations.c.agent_id == agent_id,
                valuations.c.state == COLLECTING,
            )
            .order_by(valuations.c.created_at)
            .limit(limit)
        )
        return list((await self.session.execute(q)).all())

    # --- costs, discounts, quotes ----------------------------------------------------------------
    async def add_cost(self, **values: Any) -> None:
        await self.session.execute(quote_costs.insert().values(**values))

    async def costs(self, tenant_id: str, *, ids: list[str] | None = None) -> list[Row]:
        q = select(quote_costs).where(quote_costs.c.tenant_id == tenant_id)
        if ids is not None:
            q = q.where(quote_costs.c.id.in_(ids))
        return list((await self.session.execute(q.order_by(quote_costs.c.name, quote_costs.c.id))).all())

    async def set_cost(self, tenant_id: str, cost_id: str, **values: Any) -> bool:
        q = update(quote_costs).where(quote_costs.c.tenant_id == tenant_id, quote_costs.c.id == cost_id)
        return bool(getattr(await self.session.execute(q.values(**values)), "rowcount", 0))

    async def add_discount(self, **values: Any) -> None:
        await self.session.execute(quote_discounts.insert().values(**values))

    async def discounts(self, tenant_id: str, *, ids: list[str] | None = None) -> list[Row]:
        q = select(quote_discounts).where(quote_discounts.c.tenant_id == tenant_id)
        if ids is not None:
            q = q.where(quote_discounts.c.id.in_(ids))
        return list((await self.session.execute(q.order_by(quote_discounts.c.name, quote_discounts.c.id))).all())

    async def set_discount(self, tenant_id: str, discount_id: str, **values: Any) -> bool:
        q = update(quote_discounts).where(quote_discounts.c.tenant_id == tenant_id, quote_discounts.c.id == discount_id)
        return bool(getattr(await self.session.execute(q.values(**values)), "rowcount", 0))

    async def put_draft(self, values: dict[str, Any]) -> None:
        """The valuation's one draft, replaced by a newer save."""
        await self.session.execute(
            quotes.delete().where(quotes.c.valuation_id == values["valuation_id"], quotes.c.status == "draft")
        )
        await self.session.execute(quotes.insert().values(**values))

    async def draft(self, valuation_id: str) -> Row | None:
        q = select(quotes).where(quotes.c.valuation_id == valuation_id, quotes.c.status == "draft")
        return (await self.session.execute(q.with_for_update())).first()

    async def quote(self, tenant_id: str, quote_id: str) -> Row | None:
        q = select(quotes).where(quotes.c.tenant_id == tenant_id, quotes.c.id == quote_id)
        return (await self.session.execute(q)).first()

    async def quotes_of(self, valuation_id: str) -> list[Row]:
        q = select(quotes).where(quotes.c.valuation_id == valuation_id).order_by(quotes.c.created_at)
        return list((await self.session.execute(q)).all())

    async def mark_sent(self, quote_id: str, valuation_id: str, by: str, at: datetime) -> None:
        await self.session.execute(
            update(quotes)
            .where(and_(quotes.c.valuation_id == valuation_id, quotes.c.status == "sent"))
            .values(status="superseded")
        )
        await self.session.execute(
            update(quotes).where(quotes.c.id == quote_id).values(status="sent", sent_by=by, sent_at=at)
        )
