"""The only module of notifications that builds queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.dispatch import claim_due
from notifications.domain import CANCELLED, QUEUED, SENDING, Message, QuietHours, Rule
from notifications.models import (
    assistant_settings,
    channel_accounts,
    clinic_settings,
    confirmations,
    contacts,
    conversation_addresses,
    conversations,
    inapp_notifications,
    inapp_reads,
    inbound_messages,
    messages,
    opt_outs,
    reply_suggestions,
    rules,
    templates,
)

#: Column keys of `messages`, each a field of `Message` (iterating `messages.c` would yield Column objects).
_FIELDS: tuple[str, ...] = tuple(messages.c.keys())
_TUPLES = ("channels", "cancel_on")


def _row(row: Any) -> dict[str, Any]:
    """A result row as a plain dict (column names are str subclasses msgspec does not take as keys)."""
    return {str(k): v for k, v in row._mapping.items()}


def _to_message(row: Any) -> Message:
    values = {c: getattr(row, c) for c in _FIELDS}
    for name in _TUPLES:
        values[name] = tuple(values[name] or ())
    values["addresses"] = dict(values["addresses"] or {})
    values["renders"] = dict(values["renders"] or {})
    return Message(**values)


def _values(message: Message) -> dict[str, Any]:
    values = {c: getattr(message, c) for c in _FIELDS}
    for name in _TUPLES:
        values[name] = list(values[name])
    values["addresses"] = dict(message.addresses)
    values["renders"] = {k: dict(v) for k, v in message.renders.items()}
    return values


_MUTABLE = tuple(c for c in _FIELDS if c not in ("id", "tenant_id"))
_SAVE = update(messages).where(messages.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in _MUTABLE})


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: Message) -> bool:
        """False when the event already made this rule's message for this recipient (the unique dedupe key)."""
        stmt = insert(messages).values(_values(message)).on_conflict_do_nothing().returning(messages.c.id)
        return (await self.session.execute(stmt)).first() is not None

    async def save(self, message: Message) -> None:
        await self.save_many([message])

    async def save_many(self, batch: Sequence[Message]) -> None:
        """One round trip for a whole batch of outcomes (executemany)."""
        if not batch:
            return
        rows = []
        for message in batch:
            values = _values(message)
            rows.append({"b_id": message.id, **{f"b_{c}": values[c] for c in _MUTABLE}})
        await self.session.execute(_SAVE, rows)

    async def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[Message]:
        """Lease a batch of due messages and mark them `sending` (the attempt counted) in one statement.

        kit.dispatch.claim_due: SKIP LOCKED and the lease keep other workers off them; a message whose round
        died (still `sending`) is due again when its lease has run out.
        """
        due = or_(and_(messages.c.status == QUEUED, messages.c.next_attempt_at <= now), messages.c.status == SENDING)
        rows = await claim_due(
            self.session,
            messages,
            due=due,
            now=now,
            lease=lease,
            limit=limit,
            order_by=[messages.c.next_attempt_at],
            values={"status": SENDING, "attempts": messages.c.attempts + 1, "updated_at": now},
        )
        return [_to_message(r) for r in rows]

    async def get(self, message_id: str) -> Message | None:
        row = (await self.session.execute(select(messages).where(messages.c.id == message_id))).first()
        return _to_message(row) if row else None

    async def by_provider_ids(self, ids: Iterable[str]) -> dict[str, Message]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(messages).where(messages.c.provider_message_id.in_(wanted)).with_for_update()
        return {r.provider_message_id: _to_message(r) for r in (await self.session.execute(query)).all()}

    async def for_lead(self, tenant_id: str, lead_id: str) -> list[Message]:
        query = (
            select(messages)
            .where(messages.c.tenant_id == tenant_id, messages.c.lead_id == lead_id)
            .order_by(messages.c.created_at)
        )
        return [_to_message(r) for r in (await self.session.execute(query)).all()]

    async def for_conversation(self, tenant_id: str, conversation_id: str) -> list[Message]:
        query = select(messages).where(messages.c.tenant_id == tenant_id, messages.c.conversation_id == conversation_id)
        return [_to_message(r) for r in (await self.session.execute(query)).all()]

    async def cancel_waiting(self, tenant_id: str, subject: str, event_type: str, now: datetime) -> list[str]:
        """Cancel the delayed messages about `subject` whose rule is cancelled by `event_type`."""
        stmt = (
            update(messages)
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.cancel_key == subject,
                messages.c.status == QUEUED,
                messages.c.cancel_on.contains([event_type]),
            )
            .values(status=CANCELLED, updated_at=now, last_error=f"cancelled by {event_type}")
            .returning(messages.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def last_reminder(self, tenant_id: str, subject: str) -> Message | None:
        query = (
            select(messages)
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.cancel_key == subject,
                messages.c.event_type == "reminder.due",
                messages.c.sent_at.is_not(None),
                messages.c.recipient == "person",
            )
            .order_by(messages.c.sent_at.desc())
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return _to_message(row) if row else None


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, tenant_id: str, name: str, locales: Sequence[str], channel: str) -> dict[str, Any] | None:
        """The clinic's own text for the first of `locales` it has, on this channel."""
        query = select(templates).where(
            templates.c.tenant_id == tenant_id,
            templates.c.name == name,
            templates.c.locale.in_(list(locales)),
            templates.c.channel == channel,
        )
        found = {r.locale: _row(r) for r in (await self.session.execute(query)).all()}
        return next((found[loc] for loc in locales if loc in found), None)

    async def body(self, tenant_id: str, name: str, locale: str, channel: str) -> str | None:
        row = await self.find(tenant_id, name, [locale], channel)
        return row["body"] if row else None

    async def all_for(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = (await self.session.execute(select(templates).where(templates.c.tenant_id == tenant_id))).all()
        return [_row(r) for r in rows]

    async def upsert(
        self,
        *,
        tenant_id: str,
        name: str,
        locale: str,
        channel: str,
        body: str,
        user_id: str,
        now: datetime,
        subject: str | None = None,
        wa_template: str | None = None,
    ) -> None:
        values = {
            "body": body,
            "subject": subject,
            "wa_template": wa_template,
            "updated_by": user_id,
            "updated_at": now,
        }
        stmt = insert(templates).values(tenant_id=tenant_id, name=name, locale=locale, channel=channel, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["tenant_id", "name", "locale", "channel"], set_=values)
        )

    async def delete(self, *, tenant_id: str, name: str, locale: str, channel: str) -> bool:
        result = await self.session.execute(
            templates.delete().where(
                templates.c.tenant_id == tenant_id,
                templates.c.name == name,
                templates.c.locale == locale,
                templates.c.channel == channel,
            )
        )
        return bool(getattr(result, "rowcount", 0))


def _to_rule(row: Any) -> Rule:
    return Rule(
        key=row.key,
        event_type=row.event_type,
        template=row.template,
        channels=tuple(row.channels),
        recipient=row.recipient,
        conditions=dict(row.conditions),
        delay_seconds=row.delay_seconds,
        quiet_hours=row.quiet_hours,
        cancel_on=tuple(row.cancel_on),
        enabled=row.enabled,
    )


class RuleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_tenant(self, tenant_id: str) -> dict[str, Rule]:
        query = select(rules).where(rules.c.tenant_id == tenant_id)
        return {r.key: _to_rule(r) for r in (await self.session.execute(query)).all()}

    async def upsert(self, tenant_id: str, rule: Rule, user_id: str, now: datetime) -> None:
        values = {
            "event_type": rule.event_type,
            "template": rule.template,
            "channels": list(rule.channels),
            "recipient": rule.recipient,
            "conditions": dict(rule.conditions),
            "delay_seconds": rule.delay_seconds,
            "quiet_hours": rule.quiet_hours,
            "cancel_on": list(rule.cancel_on),
            "enabled": rule.enabled,
            "updated_by": user_id,
            "updated_at": now,
        }
        stmt = insert(rules).values(tenant_id=tenant_id, key=rule.key, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "key"], set_=values))

    async def delete(self, tenant_id: str, key: str) -> bool:
        result = await self.session.execute(rules.delete().where(rules.c.tenant_id == tenant_id, rules.c.key == key))
        return bool(getattr(result, "rowcount", 0))


class SettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: str) -> dict[str, Any] | None:
        row = (
            await self.session.execute(select(clinic_settings).where(clinic_settings.c.tenant_id == tenant_id))
        ).first()
        return _row(row) if row else None

    async def upsert(
        self, tenant_id: str, *, timezone: str, locale: str, quiet: QuietHours | None, now: datetime
    ) -> None:
        values = {
            "timezone": timezone,
            "locale": locale,
            "quiet_start": quiet.start.strftime("%H:%M") if quiet else None,
            "quiet_end": quiet.end.strftime("%H:%M") if quiet else None,
            "updated_at": now,
        }
        stmt = insert(clinic_settings).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))


class OptOutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tenant_id: str, channel: str, address: str, source: str, now: datetime) -> None:
        stmt = insert(opt_outs).values(
            tenant_id=tenant_id, channel=channel, address=address, source=source, created_at=now
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def remove(self, tenant_id: str, channel: str, address: str) -> bool:
        result = await self.session.execute(
            opt_outs.delete().where(
                opt_outs.c.tenant_id == tenant_id, opt_outs.c.channel == channel, opt_outs.c.address == address
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def list(self, tenant_id: str) -> list[dict[str, Any]]:
        query = select(opt_outs).where(opt_outs.c.tenant_id == tenant_id).order_by(opt_outs.c.created_at)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def opted_out(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Of (tenant, channel, address) triples, those that withdrew consent: one query for a batch."""
        wanted = list(set(keys))
        if not wanted:
            return set()
        query = select(opt_outs.c.tenant_id, opt_outs.c.channel, opt_outs.c.address).where(
            tuple_(opt_outs.c.tenant_id, opt_outs.c.channel, opt_outs.c.address).in_(wanted)
        )
        return {(str(r[0]), r[1], r[2]) for r in (await self.session.execute(query)).all()}


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, tenant_id: str, lead_id: str, now: datetime, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        stmt = insert(contacts).values(lead_id=lead_id, tenant_id=tenant_id, updated_at=now, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["lead_id"], set_={**values, "updated_at": now})
        )

    async def set_owner(self, tenant_id: str, lead_id: str, owner_id: str | None, now: datetime) -> None:
        stmt = insert(contacts).values(lead_id=lead_id, tenant_id=tenant_id, owner_id=owner_id, updated_at=now)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["lead_id"], set_={"owner_id": owner_id, "updated_at": now})
        )

    async def get(self, tenant_id: str, lead_id: str) -> dict[str, Any] | None:
        query = select(contacts).where(contacts.c.tenant_id == tenant_id, contacts.c.lead_id == lead_id)
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(
        self, tenant_id: str, *, lead_id: str | None, patient_id: str | None, addresses: Sequence[tuple[str, str]]
    ) -> dict[str, Any] | None:
        """The person's conversation: by lead, else by patient, else by any of their addresses."""
        for column, value in ((conversations.c.lead_id, lead_id), (conversations.c.patient_id, patient_id)):
            if value:
                query = select(conversations).where(conversations.c.tenant_id == tenant_id, column == value).limit(1)
                row = (await self.session.execute(query)).first()
                if row:
                    return _row(row)
        if addresses:
            query = (
                select(conversations)
                .join(conversation_addresses, conversation_addresses.c.conversation_id == conversations.c.id)
                .where(
                    conversation_addresses.c.tenant_id == tenant_id,
                    tuple_(conversation_addresses.c.channel, conversation_addresses.c.address).in_(list(addresses)),
                )
                .limit(1)
            )
            row = (await self.session.execute(query)).first()
            if row:
                return _row(row)
        return None

    async def get(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
        query = select(conversations).where(
            conversations.c.tenant_id == tenant_id, conversations.c.id == conversation_id
        )
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None

    async def create(
        self,
        conversation_id: str,
        tenant_id: str,
        *,
        lead_id: str | None,
        patient_id: str | None,
        name: str | None,
        now: datetime,
    ) -> None:
        await self.session.execute(
            conversations.insert().values(
                id=conversation_id,
                tenant_id=tenant_id,
                lead_id=lead_id,
                patient_id=patient_id,
                name=name,
                created_at=now,
                last_message_at=now,
            )
        )

    async def link(
        self, conversation_id: str, *, lead_id: str | None, patient_id: str | None, name: str | None
    ) -> None:
        values = {k: v for k, v in (("lead_id", lead_id), ("patient_id", patient_id), ("name", name)) if v}
        if values:
            await self.session.execute(
                update(conversations).where(conversations.c.id == conversation_id).values(values)
            )

    async def add_addresses(self, tenant_id: str, conversation_id: str, addresses: Sequence[tuple[str, str]]) -> None:
        if not addresses:
            return
        rows = [
            {"tenant_id": tenant_id, "channel": c, "address": a, "conversation_id": conversation_id}
            for c, a in addresses
        ]
        await self.session.execute(insert(conversation_addresses).values(rows).on_conflict_do_nothing())

    async def touch_inbound(
        self, tenant_id: str, channel: str, address: str, conversation_id: str, at: datetime
    ) -> None:
        stmt = insert(conversation_addresses).values(
            tenant_id=tenant_id, channel=channel, address=address, conversation_id=conversation_id, last_inbound_at=at
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "channel", "address"],
                set_={"last_inbound_at": func.greatest(conversation_addresses.c.last_inbound_at, at)},
            )
        )
        await self.session.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(last_message_at=at)
        )

    async def last_inbound(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], datetime]:
        """(tenant, channel, address) -> when the person last wrote on it: one query for a batch."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        c = conversation_addresses.c
        query = select(c.tenant_id, c.channel, c.address, c.last_inbound_at).where(
            tuple_(c.tenant_id, c.channel, c.address).in_(wanted), c.last_inbound_at.is_not(None)
        )
        return {(str(r[0]), r[1], r[2]): r[3] for r in (await self.session.execute(query)).all()}

    async def addresses(self, conversation_id: str) -> list[dict[str, Any]]:
        query = select(conversation_addresses).where(conversation_addresses.c.conversation_id == conversation_id)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def for_person(self, tenant_id: str, *, lead_id: str | None, patient_id: str | None) -> list[dict[str, Any]]:
        conditions = []
        if lead_id:
            conditions.append(conversations.c.lead_id == lead_id)
        if patient_id:
            conditions.append(conversations.c.patient_id == patient_id)
        query = select(conversations).where(conversations.c.tenant_id == tenant_id)
        if conditions:
            query = query.where(or_(*conditions))
        query = query.order_by(conversations.c.last_message_at.desc()).limit(100)
        return [_row(r) for r in (await self.session.execute(query)).all()]


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> bool:
        stmt = insert(inbound_messages).values(**values).on_conflict_do_nothing().returning(inbound_messages.c.id)
        return (await self.session.execute(stmt)).first() is not None

    async def for_conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        query = select(inbound_messages).where(inbound_messages.c.conversation_id == conversation_id)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def due_media(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Messages whose media are due to be fetched, locked for this transaction (another worker skips them)."""
        query = (
            select(inbound_messages)
            .where(inbound_messages.c.pending_event.is_not(None), inbound_messages.c.media_due_at <= now)
            .order_by(inbound_messages.c.media_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def hold_for_media(self, inbound_id: str, pending: dict[str, Any], due_at: datetime) -> None:
        """The message's media are to be fetched by the worker; `pending` is published after."""
        await self.session.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(pending_event=pending, media_attempts=0, media_due_at=due_at)
        )

    async def media_fetched(self, inbound_id: str, media: list[dict[str, Any]]) -> None:
        await self.session.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(media=media, pending_event=None, media_due_at=None)
        )

    async def media_retry(self, inbound_id: str, attempts: int, due_at: datetime) -> None:
        await self.session.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(media_attempts=attempts, media_due_at=due_at)
        )


class InAppRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(inapp_notifications).values(list(rows)).on_conflict_do_nothing())

    @staticmethod
    def _audiences(user_id: str, roles: Sequence[str]) -> list[str]:
        return [f"user:{user_id}", *(f"role:{r}" for r in roles)]

    async def list(
        self, tenant_id: str, user_id: str, roles: Sequence[str], *, unread_only: bool, limit: int
    ) -> list[dict[str, Any]]:
        read = (
            select(inapp_reads.c.read_at)
            .where(inapp_reads.c.notification_id == inapp_notifications.c.id, inapp_reads.c.user_id == user_id)
            .scalar_subquery()
        )
        query = select(inapp_notifications, read.label("read_at")).where(
            inapp_notifications.c.tenant_id == tenant_id,
            inapp_notifications.c.audience.in_(self._audiences(user_id, roles)),
        )
        if unread_only:
            query = query.where(read.is_(None))
        query = query.order_by(inapp_notifications.c.created_at.desc()).limit(limit)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def unread(self, tenant_id: str, user_id: str, roles: Sequence[str]) -> int:
        read = select(literal(1)).where(
            inapp_reads.c.notification_id == inapp_notifications.c.id, inapp_reads.c.user_id == user_id
        )
        query = select(func.count()).where(
            inapp_notifications.c.tenant_id == tenant_id,
            inapp_notifications.c.audience.in_(self._audiences(user_id, roles)),
            ~read.exists(),
        )
        return int((await self.session.execute(query)).scalar_one())

    async def mark_read(
        self, tenant_id: str, user_id: str, roles: Sequence[str], ids: Sequence[str] | None, now: datetime
    ) -> int:
        visible = select(
            inapp_notifications.c.id,
            literal(user_id, type_=inapp_reads.c.user_id.type),
            literal(now, type_=inapp_reads.c.read_at.type),
        ).where(
            inapp_notifications.c.tenant_id == tenant_id,
            inapp_notifications.c.audience.in_(self._audiences(user_id, roles)),
        )
        if ids is not None:
            visible = visible.where(inapp_notifications.c.id.in_(list(ids)))
        stmt = (
            insert(inapp_reads)
            .from_select(["notification_id", "user_id", "read_at"], visible)
            .on_conflict_do_nothing()
            .returning(inapp_reads.c.notification_id)
        )
        return len((await self.session.execute(stmt)).all())


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant_for(self, channel: str, account_id: str | None) -> str | None:
        if not account_id:
            return None
        query = select(channel_accounts.c.tenant_id).where(
            channel_accounts.c.channel == channel, channel_accounts.c.account_id == account_id
        )
        found = (await self.session.execute(query)).scalar_one_or_none()
        return str(found) if found else None

    async def upsert(self, channel: str, account_id: str, tenant_id: str, now: datetime) -> bool:
        """False when the account already serves another clinic."""
        values = insert(channel_accounts).values(
            channel=channel, account_id=account_id, tenant_id=tenant_id, updated_at=now
        )
        stmt = values.on_conflict_do_update(
            index_elements=["channel", "account_id"],
            set_={"updated_at": now},
            where=channel_accounts.c.tenant_id == tenant_id,
        ).returning(channel_accounts.c.account_id)
        return (await self.session.execute(stmt)).first() is not None

    async def for_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        query = select(channel_accounts).where(channel_accounts.c.tenant_id == tenant_id)
        return [_row(r) for r in (await self.session.execute(query)).all()]


class ConfirmationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self, tenant_id: str, appointment_id: str, via: str, rule_key: str | None, channel: str | None, at: datetime
    ) -> None:
        stmt = insert(confirmations).values(
            tenant_id=tenant_id,
            appointment_id=appointment_id,
            via=via,
            rule_key=rule_key,
            channel=channel,
            confirmed_at=at,
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def stats(self, tenant_id: str) -> dict[str, Any]:
        """Reminders sent per rule and channel, and how many of their appointments were confirmed after each."""
        sent = (
            select(messages.c.rule_key, messages.c.channel, func.count(func.distinct(messages.c.cancel_key)))
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.event_type == "reminder.due",
                messages.c.sent_at.is_not(None),
                messages.c.recipient == "person",
            )
            .group_by(messages.c.rule_key, messages.c.channel)
        )
        confirmed = (
            select(confirmations.c.rule_key, confirmations.c.channel, func.count())
            .where(confirmations.c.tenant_id == tenant_id)
            .group_by(confirmations.c.rule_key, confirmations.c.channel)
        )
        done = {(r[0], r[1]): r[2] for r in (await self.session.execute(confirmed)).all()}
        steps = [
            {"rule": r[0], "channel": r[1], "reminded": r[2], "confirmed": done.get((r[0], r[1]), 0)}
            for r in (await self.session.execute(sent)).all()
        ]
        return {"steps": steps, "confirmed_without_reminder": done.get((None, None), 0)}


class AssistantRepository:
    """The clinic's reply assistant settings and the suggestions it made."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settings(self, tenant_id: str) -> dict[str, Any] | None:
        query = select(assistant_settings).where(assistant_settings.c.tenant_id == tenant_id)
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None

    async def put_settings(self, tenant_id: str, values: dict[str, Any]) -> None:
        stmt = insert(assistant_settings).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))

    async def add_suggestion(self, **values: Any) -> None:
        await self.session.execute(insert(reply_suggestions).values(**values))

    async def suggestion(self, tenant_id: str, suggestion_id: str) -> dict[str, Any] | None:
        query = select(reply_suggestions).where(
            reply_suggestions.c.tenant_id == tenant_id, reply_suggestions.c.id == suggestion_id
        )
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None

    async def past_answers(
        self, tenant_id: str, conversation_id: str, asked: str, *, limit: int, threshold: float
    ) -> list[dict[str, Any]]:
        """The clinic's messages from people most like `asked` (pg_trgm similarity of the lowercased texts, at
        least `threshold`), other conversations only, each with the first staff reply that followed it within two
        days, the names its conversation knows (to redact), and whether a booking confirmation came after."""
        await self.session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
                                   {"t": str(threshold)})  # fmt: skip
        rows = await self.session.execute(_PAST_ANSWERS, {"tenant": tenant_id, "conversation": conversation_id,
                                                           "asked": asked.lower(), "limit": limit})  # fmt: skip
        return [dict(r) for r in rows.mappings().all()]


_PAST_ANSWERS = text(
    """
    SELECT i.id, i.text AS asked, i.sender_name, c.name AS conversation_name, o.body AS answer,
           similarity(lower(i.text), :asked) AS score,
           EXISTS (SELECT 1 FROM messages b
                   WHERE b.tenant_id = i.tenant_id AND b.conversation_id = i.conversation_id
                     AND b.template = 'appointment_booked' AND b.created_at >= o.created_at) AS booked
    FROM inbound_messages i
    JOIN conversations c ON c.id = i.conversation_id AND c.tenant_id = i.tenant_id
    JOIN LATERAL (
        SELECT m.body, m.created_at FROM messages m
        WHERE m.tenant_id = i.tenant_id AND m.conversation_id = i.conversation_id AND m.template = 'staff_reply'
          AND m.status NOT IN ('cancelled', 'failed') AND m.created_at > i.received_at
          AND m.created_at < i.received_at + interval '2 days'
        ORDER BY m.created_at LIMIT 1
    ) o ON TRUE
    WHERE i.tenant_id = CAST(:tenant AS uuid) AND i.conversation_id <> CAST(:conversation AS uuid)
      AND i.text IS NOT NULL AND lower(i.text) % :asked
    ORDER BY score DESC, i.received_at DESC
    LIMIT :limit
    """
)
