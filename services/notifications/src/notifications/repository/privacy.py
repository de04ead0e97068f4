"""notifications' queries for personal data (docs/privacy.md): its copy of the consent ledger, the export and
erasure of one person's messages and conversations, and the clinic's messages retention."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from contracts.privacy import Subject
from kit.privacy import ERASED_NAME, ERASED_TEXT
from notifications.models import (
    contacts,
    conversation_addresses,
    conversations,
    inapp_notifications,
    inbound_messages,
    messages,
    opt_outs,
    privacy_consents,
    retention_rules,
)

#: Messages that are settled (no longer waiting to be sent): the ones retention may anonymise.
_SETTLED = ("sent", "delivered", "read", "failed", "cancelled")


class ConsentCopyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(
        self,
        tenant_id: str,
        *,
        person_key: str,
        purpose: str,
        channel: str,
        granted: bool,
        lead_id: str | None,
        patient_id: str | None,
        phone: str | None,
        email: str | None,
        at: datetime,
    ) -> None:
        """The latest entry per person, purpose and channel: an older event never overwrites a newer one."""
        stmt = insert(privacy_consents).values(
            tenant_id=tenant_id,
            person_key=person_key,
            purpose=purpose,
            channel=channel,
            granted=granted,
            lead_id=lead_id,
            patient_id=patient_id,
            phone=phone,
            email=email.lower() if email else None,
            at=at,
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[
                    privacy_consents.c.tenant_id,
                    privacy_consents.c.person_key,
                    privacy_consents.c.purpose,
                    privacy_consents.c.channel,
                ],
                set_={k: stmt.excluded[k] for k in ("granted", "lead_id", "patient_id", "phone", "email", "at")},
                where=privacy_consents.c.at <= stmt.excluded.at,
            )
        )

    async def matching(self, people: Iterable[tuple[str, str | None, str | None, str]]) -> list[dict[str, Any]]:
        """The entries about any of (tenant, lead id, patient id, address) in one query (a dispatcher batch)."""
        wanted = list(people)
        if not wanted:
            return []
        tenants = sorted({t for t, _, _, _ in wanted})
        leads = sorted({lead for _, lead, _, _ in wanted if lead})
        patients = sorted({p for _, _, p, _ in wanted if p})
        addresses = sorted({a.lower() for _, _, _, a in wanted if a})
        match: list[ColumnElement[bool]] = []
        if leads:
            match.append(privacy_consents.c.lead_id.in_(leads))
        if patients:
            match.append(privacy_consents.c.patient_id.in_(patients))
        if addresses:
            match.append(privacy_consents.c.phone.in_(addresses))
            match.append(privacy_consents.c.email.in_(addresses))
        query = select(privacy_consents).where(privacy_consents.c.tenant_id.in_(tenants), or_(*match))
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]


class PrivacyRepository:
    """Export and erasure of one person's messages, conversations and what they wrote."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _conversation_ids(self, tenant_id: str, subject: Subject) -> list[str]:
        match: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            match.append(conversations.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(conversations.c.patient_id.in_(subject.patient_ids))
        ids: list[str] = []
        if match:
            query = select(conversations.c.id).where(conversations.c.tenant_id == tenant_id, or_(*match))
            ids += [r.id for r in (await self.session.execute(query)).all()]
        addresses = [*subject.phones, *subject.emails]
        if addresses:
            query = select(conversation_addresses.c.conversation_id).where(
                conversation_addresses.c.tenant_id == tenant_id, conversation_addresses.c.address.in_(addresses)
            )
            ids += [r.conversation_id for r in (await self.session.execute(query)).all()]
        return list(dict.fromkeys(ids))

    def _messages(self, tenant_id: str, subject: Subject, conversation_ids: list[str]) -> ColumnElement[bool]:
        match: list[ColumnElement[bool]] = [messages.c.conversation_id.in_(conversation_ids)]
        if subject.lead_ids:
            match.append(messages.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(messages.c.patient_id.in_(subject.patient_ids))
        addresses = [*subject.phones, *subject.emails]
        if addresses:
            match.append(messages.c.to.in_(addresses))
        # with the messages to staff about the person (a follow-up naming her): their texts are about her too
        return (messages.c.tenant_id == tenant_id) & or_(*match)

    def _contacts(self, tenant_id: str, subject: Subject) -> ColumnElement[bool] | None:
        match: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            match.append(contacts.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(contacts.c.patient_id.in_(subject.patient_ids))
        if subject.phones:
            match.append(contacts.c.phone.in_(subject.phones))
        if subject.emails:
            match.append(func.lower(contacts.c.email).in_(subject.emails))
        return (contacts.c.tenant_id == tenant_id) & or_(*match) if match else None

    def _inapp(self, tenant_id: str, subject: Subject) -> ColumnElement[bool] | None:
        match: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            match.append(inapp_notifications.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(inapp_notifications.c.patient_id.in_(subject.patient_ids))
        return (inapp_notifications.c.tenant_id == tenant_id) & or_(*match) if match else None

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        conv = await self._conversation_ids(tenant_id, subject)
        mine_contacts = self._contacts(tenant_id, subject)
        addresses = [*subject.phones, *subject.emails]
        return {
            "messages": await self._rows(
                select(messages).where(self._messages(tenant_id, subject, conv)).order_by(messages.c.created_at)
            ),
            "conversations": await self._rows(
                select(conversations).where(conversations.c.tenant_id == tenant_id, conversations.c.id.in_(conv))
            ),
            "conversation_addresses": await self._rows(
                select(conversation_addresses).where(
                    conversation_addresses.c.tenant_id == tenant_id, conversation_addresses.c.conversation_id.in_(conv)
                )
            ),
            "inbound_messages": await self._rows(
                select(inbound_messages)
                .where(inbound_messages.c.tenant_id == tenant_id, inbound_messages.c.conversation_id.in_(conv))
                .order_by(inbound_messages.c.received_at)
            ),
            "contacts": await self._rows(select(contacts).where(mine_contacts)) if mine_contacts is not None else [],
            "opt_outs": await self._rows(
                select(opt_outs).where(opt_outs.c.tenant_id == tenant_id, opt_outs.c.address.in_(addresses))
            )
            if addresses
            else [],
        }

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """Messages keep their channel, template, status and dates (delivery and confirmation rates stay right);
        addresses, texts and names go. Opt-outs are kept: the person must not be written to again (retained)."""
        conv = await self._conversation_ids(tenant_id, subject)

        async def run(stmt: Any) -> int:
            return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)

        counts = {
            "messages": await run(
                update(messages)
                .where(self._messages(tenant_id, subject, conv), messages.c.recipient == "person")
                .values(to="", body=ERASED_TEXT, addresses={}, renders={}, subject=None, suggestion=None)
            ),
            # staff keep their own address; the text about her goes
            "staff_messages": await run(
                update(messages)
                .where(self._messages(tenant_id, subject, conv), messages.c.recipient != "person")
                .values(body=ERASED_TEXT, renders={}, subject=None)
            ),
            "inbound_messages": await run(
                update(inbound_messages)
                .where(inbound_messages.c.tenant_id == tenant_id, inbound_messages.c.conversation_id.in_(conv))
                .values(sender="", sender_name=None, text=ERASED_TEXT, media=[])
            ),
            "conversations": await run(
                update(conversations)
                .where(conversations.c.tenant_id == tenant_id, conversations.c.id.in_(conv))
                .values(name=ERASED_NAME)
            ),
            "conversation_addresses": await run(
                delete(conversation_addresses).where(
                    conversation_addresses.c.tenant_id == tenant_id, conversation_addresses.c.conversation_id.in_(conv)
                )
            ),
        }
        mine_contacts = self._contacts(tenant_id, subject)
        counts["contacts"] = (
            await run(update(contacts).where(mine_contacts).values(name=ERASED_NAME, phone=None, email=None))
            if mine_contacts is not None
            else 0
        )
        mine_inapp = self._inapp(tenant_id, subject)
        counts["inapp"] = (
            await run(update(inapp_notifications).where(mine_inapp).values(body=ERASED_TEXT))
            if mine_inapp is not None
            else 0
        )
        addresses = [*subject.phones, *subject.emails]
        kept = 0
        if addresses:
            query = select(func.count()).where(opt_outs.c.tenant_id == tenant_id, opt_outs.c.address.in_(addresses))
            kept = int((await self.session.execute(query)).scalar_one())
        return counts, {"opt_outs": kept}


class RetentionRepository:
    """The clinic's retention rules (privacy's copy) and the messages older than them, anonymised as an erasure
    does: statuses, channels, templates and dates stay (delivery and confirmation rates do not change)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember(self, tenant_id: str, kind: str, days: int, at: datetime) -> None:
        """The clinic's rule as privacy announced it; an older announcement arriving late changes nothing."""
        stmt = insert(retention_rules).values(tenant_id=tenant_id, kind=kind, days=days, updated_at=at)
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[retention_rules.c.tenant_id, retention_rules.c.kind],
                set_={"days": stmt.excluded.days, "updated_at": stmt.excluded.updated_at},
                where=retention_rules.c.updated_at <= stmt.excluded.updated_at,
            )
        )

    async def rules(self, kind: str) -> list[tuple[str, int]]:
        """(clinic, days) of every clinic with a rule of this kind."""
        query = (
            select(retention_rules.c.tenant_id, retention_rules.c.days)
            .where(retention_rules.c.kind == kind)
            .order_by(retention_rules.c.tenant_id)
        )
        return [(str(r.tenant_id), int(r.days)) for r in (await self.session.execute(query)).all()]

    async def old_media(self, tenant_id: str, cutoff: datetime) -> list[str]:
        """The stored objects of what people sent before `cutoff` (removed with their messages)."""
        query = select(inbound_messages.c.media).where(
            inbound_messages.c.tenant_id == tenant_id,
            inbound_messages.c.received_at < cutoff,
            func.jsonb_array_length(inbound_messages.c.media) > 0,
        )
        rows = (await self.session.execute(query)).scalars().all()
        return [str(m["object_key"]) for media in rows for m in (media or []) if m.get("object_key")]

    async def anonymise_before(self, tenant_id: str, cutoff: datetime) -> dict[str, int]:
        """Every settled message sent and every message received before `cutoff`, not anonymised yet: their
        texts, addresses and names go."""

        async def run(stmt: Any) -> int:
            return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)

        old = (
            (messages.c.tenant_id == tenant_id)
            & (messages.c.created_at < cutoff)
            & messages.c.status.in_(_SETTLED)
            & (messages.c.body != ERASED_TEXT)
        )
        to_people = await run(
            update(messages)
            .where(old, messages.c.recipient == "person")
            .values(to="", body=ERASED_TEXT, addresses={}, renders={}, subject=None, suggestion=None)
        )
        to_staff = await run(
            update(messages)
            .where(old, messages.c.recipient != "person")
            .values(body=ERASED_TEXT, renders={}, subject=None)
        )
        received = await run(
            update(inbound_messages)
            .where(
                inbound_messages.c.tenant_id == tenant_id,
                inbound_messages.c.received_at < cutoff,
                or_(inbound_messages.c.sender != "", inbound_messages.c.text != ERASED_TEXT),
            )
            .values(sender="", sender_name=None, text=ERASED_TEXT, media=[])
        )
        return {"messages": to_people + to_staff, "inbound_messages": received}
