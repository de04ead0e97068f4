"""The batched dispatcher: lease due messages, check consent and the WhatsApp window, send, record the outcomes with
their events."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, cast

from contracts.notifications import (
    MessageSentV1,
)
from kit.db import UnitOfWork, UnitOfWorkFactory
from kit.dispatch import LeaseDispatcher
from notifications.channels import ChannelAdapter, Outgoing, ProviderError
from notifications.domain import (
    FAILED,
    INAPP,
    SENT,
    WHATSAPP,
    Message,
    mark_attempt_failed,
    mark_sent,
    within_whatsapp_window,
)
from notifications.services import common, consent
from notifications.services.common import Publisher, _caused_by, announce_conversation, inapp_channel
from notifications.services.queueing import _publish_failed
from notifications.services.work import NotificationsWork, NotificationsWorkFactory

log = logging.getLogger(__name__)


# --- the dispatcher ----------------------------------------------------------------------------------
def idempotency_key(message: Message) -> str:
    """The same on every resend of one channel step; the message id alone for the first (as before)."""
    return message.id if message.step == 0 else f"{message.id}:{message.step}"


def outgoing(message: Message, *, in_window: bool) -> Outgoing | str:
    """What to hand the channel, or why it cannot take it (the rule then falls back to its next channel)."""
    render = dict(message.renders.get(message.channel, {}))
    body = str(render.get("body") or message.body)
    buttons = list(render.get("buttons", []))
    template = None
    if message.channel == WHATSAPP and not in_window:
        if not render.get("wa"):
            return "outside the WhatsApp 24-hour window and no approved template"
        template = dict(render["wa"])
    return Outgoing(
        channel=message.channel,
        to=message.to,
        body=body,
        subject=render.get("subject") or message.subject,
        buttons=buttons,
        template=template,
        idempotency_key=idempotency_key(message),
        list_button=render.get("list_button"),
    )


@dataclass(frozen=True)
class Claimed:
    """A leased message with what the batch learnt about it: consent and the WhatsApp window."""

    message: Message
    opted_out: bool
    in_window: bool


class Dispatcher:
    """kit's LeaseDispatcher over the messages table: lease a batch of due messages (one transaction, with the
    batch's consent and WhatsApp windows in two more queries), send them concurrently, record every outcome of
    the round with its outbox events in one transaction. In-app notifications are written in that transaction
    and announced on Redis after it commits. A worker that dies mid-round leaves its messages leased; they are
    sent again (same idempotency key) when the lease ends."""

    def __init__(
        self,
        uow_factory: NotificationsWorkFactory,
        adapters: Mapping[str, ChannelAdapter],
        *,
        publisher: Publisher | None = None,
        batch_size: int = 200,
        concurrency: int = 64,
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self.adapters = dict(adapters)
        self.publisher = publisher
        self.lease = lease
        self._announce: list[Message] = []
        self._touched: list[Message] = []  # sent or failed in a conversation: its open screens re-read it
        self.rounds = LeaseDispatcher(
            "notifications.messages",
            # kit's dispatcher speaks of kit's unit of work; ours is one (NotificationsUnitOfWork) with repositories.
            cast(UnitOfWorkFactory, uow_factory),
            claim=cast(Callable[[UnitOfWork, int], Awaitable[list[Claimed]]], self._claim),
            handle=self._attempt,
            record=cast(Callable[[UnitOfWork, list[Message]], Awaitable[None]], self._record),
            batch_size=batch_size,
            concurrency=concurrency,
            service="notifications",
        )

    async def dispatch_due(self) -> int:
        """One round; how many messages it claimed."""
        claimed = await self.rounds.run_once()
        await self._announce_inapp()
        return claimed

    async def _claim(self, uow: NotificationsWork, limit: int) -> list[Claimed]:
        now = common.clock()
        claimed = await uow.messages.claim_due(now, limit=limit, lease=self.lease)
        opted_out = await uow.opt_outs.opted_out((m.tenant_id, m.channel, m.to) for m in claimed)
        withdrawn = await consent.blocked(
            uow, claimed
        )  # the consent ledger's withdrawals (notifications.services.consent)
        windows = await uow.conversations.last_inbound(
            (m.tenant_id, WHATSAPP, m.to) for m in claimed if m.channel == WHATSAPP
        )
        return [
            Claimed(
                m,
                (m.tenant_id, m.channel, m.to) in opted_out or m.id in withdrawn,
                within_whatsapp_window(windows.get((m.tenant_id, WHATSAPP, m.to)), now),
            )
            for m in claimed
        ]

    async def _attempt(self, item: Claimed) -> Message:
        message, now = item.message, common.clock()
        if message.channel == INAPP:
            return mark_sent(message, "inapp", message.id, now)
        if item.opted_out:
            return mark_attempt_failed(message, f"the person opted out of {message.channel}", permanent=True, now=now)
        adapter = self.adapters.get(message.channel)
        if adapter is None:
            return mark_attempt_failed(message, f"no {message.channel} provider is configured", permanent=True, now=now)
        out = outgoing(message, in_window=item.in_window)
        if isinstance(out, str):
            return mark_attempt_failed(message, out, permanent=True, now=now)
        try:
            result = await adapter.send(out)
        except ProviderError as exc:
            log.warning("sending message %s on %s failed: %s", message.id, message.channel, exc)
            return mark_attempt_failed(message, str(exc), permanent=exc.permanent, now=common.clock())
        return mark_sent(message, result.provider, result.provider_message_id, common.clock())

    async def _record(self, uow: NotificationsWork, outcomes: list[Message]) -> None:
        done = [replace(m, leased_until=None) for m in outcomes]
        inapp = [m for m in done if m.channel == INAPP and m.status == SENT]
        await uow.messages.save_many(done)
        await uow.inapp.add_many([_inapp_row(m) for m in inapp])
        for outcome in done:
            if outcome.status == SENT:
                _publish_sent(uow, outcome)
            elif outcome.status == FAILED:
                _publish_failed(uow, outcome)
        self._announce.extend(inapp)
        self._touched.extend(m for m in done if m.conversation_id)

    async def _announce_inapp(self) -> None:
        pending, self._announce = self._announce, []
        touched, self._touched = self._touched, []
        for key in dict.fromkeys((m.tenant_id, m.conversation_id, m.channel) for m in touched):
            await announce_conversation(self.publisher, key[0], key[1] or "", key[2], "outbound")
        if self.publisher is None:
            return
        for m in pending:
            try:
                await self.publisher.publish(inapp_channel(m.tenant_id), json.dumps(_inapp_view(_inapp_row(m))))
            except Exception:  # the row is stored; a screen that missed the push sees it on its next read
                log.warning("could not announce in-app notification %s", m.id, exc_info=True)


def _inapp_row(m: Message) -> dict[str, Any]:
    render = m.renders.get(INAPP, {})
    return {
        "id": m.id,
        "tenant_id": m.tenant_id,
        "audience": m.to,
        "title": str(render.get("subject") or m.subject or m.template),
        "body": m.body,
        "lead_id": m.lead_id,
        "patient_id": m.patient_id,
        "subject": m.cancel_key or m.event_type,
        "created_at": m.sent_at or m.updated_at,
    }


def _inapp_view(row: Mapping[str, Any]) -> dict[str, Any]:
    created = row["created_at"]
    return {
        "id": str(row["id"]),
        "audience": row["audience"],
        "title": row["title"],
        "body": row["body"],
        "lead_id": str(row["lead_id"]) if row.get("lead_id") else None,
        "patient_id": str(row["patient_id"]) if row.get("patient_id") else None,
        "subject": row.get("subject"),
        "created_at": created.isoformat() if isinstance(created, datetime) else created,
        "read_at": row["read_at"].isoformat() if isinstance(row.get("read_at"), datetime) else None,
    }


def _publish_sent(uow: NotificationsWork, m: Message) -> None:
    assert m.provider
    assert m.provider_message_id
    assert m.sent_at
    with _caused_by(m):
        uow.publish(
            MessageSentV1(
                message_id=m.id,
                lead_id=m.lead_id,
                channel=m.channel,
                to=m.to,
                template=m.template,
                locale=m.locale,
                provider=m.provider,
                provider_message_id=m.provider_message_id,
                sent_at=m.sent_at,
                **_suggestion_fields(m),
            ),
            tenant_id=m.tenant_id,
        )


def _suggestion_fields(m: Message) -> dict[str, Any]:
    if not m.suggestion:
        return {}
    return {
        "suggestion_id": str(m.suggestion["id"]),
        "suggestion_use": m.suggestion.get("use"),
        "suggestion_model": m.suggestion.get("model"),
        "suggestion_tokens": m.suggestion.get("tokens"),
    }
