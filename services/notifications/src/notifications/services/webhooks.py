"""Provider webhooks: replies and taps -> conversations and message.received, receipts -> delivered / read / failed;
received media fetched by the worker."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

import msgspec

from contracts.notifications import (
    ChannelConsentChangedV1,
    MessageDeliveredV1,
    MessageMedia,
    MessageReadV1,
    MessageReceivedV1,
)
from kit import context, webhooks
from kit.db import retrying
from kit.objects import ObjectStore, ObjectStoreError
from notifications.channels import ProviderError
from notifications.domain import (
    DELIVERED,
    FAILED,
    READ,
    SMS,
    WHATSAPP,
    Message,
    apply_status,
    consent_change,
    fall_back,
    phone_variants,
)
from notifications.inbound import Inbound, InboundMedia, Receipt
from notifications.services import common
from notifications.services.common import Publisher, _caused_by, announce_conversation
from notifications.services.configure import _publish_channel_consent
from notifications.services.queueing import _publish_failed
from notifications.services.work import NotificationsWork, NotificationsWorkFactory

log = logging.getLogger(__name__)


# --- provider webhooks ------------------------------------------------------------------------------
class MediaSource(Protocol):
    async def fetch(self, media_id: str) -> tuple[bytes, str]: ...


#: How long the consumers of message.received can download a medium through the event's URL.
MEDIA_URL_SECONDS = 24 * 3600


#: Fetch attempts of a medium the provider could not give for now (then the message goes out without it).
MEDIA_ATTEMPTS = 5


async def fetch_media_due(
    uow_factory: NotificationsWorkFactory, source: MediaSource, store: ObjectStore, *, limit: int = 20
) -> int:
    """Worker step: the media of stored inbound messages fetched from the provider (whose URLs expire in minutes)
    into the object store, then their message.received published with presigned URLs, in one transaction per
    batch (the rows are locked, `SKIP LOCKED`: a second worker takes others; a crash leaves them due). A medium the
    provider refuses, or that still fails after MEDIA_ATTEMPTS tries, leaves the message without it (logged), never
    lost; a transient failure tries the message again later. Returns how many messages were handled."""
    now = common.clock()
    async with uow_factory() as uow:
        rows = await uow.inbound.due_media(now, limit)
        for row in rows:
            fetched = await _fetch_media(row, source, store)
            if fetched is None:
                attempts = int(row["media_attempts"]) + 1
                await uow.inbound.media_retry(str(row["id"]), attempts, now + timedelta(seconds=2**attempts))
                continue
            await uow.inbound.media_fetched(str(row["id"]), [kept for kept, _ in fetched])
            pending = row["pending_event"]
            event = msgspec.json.decode(json.dumps(pending["event"]).encode(), type=MessageReceivedV1)
            event = msgspec.structs.replace(event, media=[m for _, m in fetched])
            token = context.correlation_id.set(pending.get("correlation_id") or context.new_id())
            try:
                uow.publish(event, tenant_id=str(row["tenant_id"]))
            finally:
                context.correlation_id.reset(token)
        await uow.commit()
    return len(rows)


async def _fetch_media(
    row: Mapping[str, Any], source: MediaSource, store: ObjectStore
) -> list[tuple[dict[str, Any], MessageMedia]] | None:
    """Each medium of the row as kept and as announced; None: a transient failure, try the message again."""
    out: list[tuple[dict[str, Any], MessageMedia]] = []
    last_try = int(row["media_attempts"]) + 1 >= MEDIA_ATTEMPTS
    for n, medium in enumerate(row["media"] or []):
        kept = dict(medium)
        if not kept.get("object_key") and kept.get("provider_media_id"):
            # Keyed by the provider's message id: a second try writes the same object again.
            key = f"notifications/media/{row['provider']}/{row['provider_message_id']}/{n}"
            try:
                data, content_type = await source.fetch(str(kept["provider_media_id"]))
                stored = await store.put(key, data, content_type=content_type.split(";")[0].strip())
            except ProviderError as exc:
                if not exc.permanent and not last_try:
                    return None
                log.warning("medium %s of %s not fetched: %s", n, row["provider_message_id"], exc)
            except ObjectStoreError as exc:
                if not last_try:
                    return None
                log.warning("medium %s of %s not stored: %s", n, row["provider_message_id"], exc)
            else:
                kept |= {
                    "object_key": stored.key, "size": stored.size, "sha256": stored.sha256,
                    "content_type": stored.content_type,
                }  # fmt: skip
        url = expires = None
        if kept.get("object_key"):
            try:
                url = await store.presigned_get(kept["object_key"], expires_seconds=MEDIA_URL_SECONDS)
                expires = common.clock() + timedelta(seconds=MEDIA_URL_SECONDS)
            except ObjectStoreError as exc:
                log.warning("no link to medium %s: %s", kept["object_key"], exc)
        out.append(
            (
                kept,
                MessageMedia(
                    kind=kept["kind"], content_type=kept["content_type"], size=kept.get("size"),
                    sha256=kept.get("sha256"), url=url, url_expires_at=expires, caption=kept.get("caption"),
                ),
            )
        )  # fmt: skip
    return out


async def receive(
    uow_factory: NotificationsWorkFactory,
    inbound: Sequence[Inbound],
    receipts: Sequence[Receipt] = (),
    *,
    delivery: webhooks.Delivery | None = None,
    receipt_key: tuple[str, str, str] | None = None,
    announce: Publisher | None = None,
) -> int:
    """`_receive_once`, run again when PostgreSQL rolls it back as a deadlock's victim (two deliveries of one
    conversation at once), so the provider never sees a 500 for it."""
    return await retrying(
        lambda: _receive_once(
            uow_factory, inbound, receipts, delivery=delivery, receipt_key=receipt_key, announce=announce
        )
    )


async def _receive_once(
    uow_factory: NotificationsWorkFactory,
    inbound: Sequence[Inbound],
    receipts: Sequence[Receipt] = (),
    *,
    delivery: webhooks.Delivery | None = None,
    receipt_key: tuple[str, str, str] | None = None,
    announce: Publisher | None = None,
) -> int:
    """A provider delivery, in one transaction: replies and taps -> conversation + message.received; receipts ->
    delivered / read / failed (a failed one falls back to the rule's next channel). Returns what was new.
    With `announce`, each touched conversation is announced on the in-app stream after the commit."""
    now = common.clock()
    new = 0
    touched: list[tuple[str, str, str, str]] = []
    async with uow_factory() as uow:
        if delivery is not None and receipt_key is not None:
            provider, scope, event_id = receipt_key
            # kit's receipt store, in this unit of work: a redelivery of a handled event does nothing.
            if not await uow.receipts.record(delivery, provider=provider, scope=scope, event_id=event_id):
                return 0
        ids = [i.reply_to for i in inbound if i.reply_to] + [r.provider_message_id for r in receipts]
        ours = await uow.messages.by_provider_ids(ids)
        for item in inbound:
            new += await _receive_one(uow, item, ours.get(item.reply_to or ""), now, touched)
        changed: dict[str, Message] = {}
        steps = 0
        for receipt in receipts:
            message = ours.get(receipt.provider_message_id)
            updated = apply_status(message, receipt.status, receipt.at) if message else None
            if message is None or updated is None:
                continue
            if updated.status == FAILED:
                reason = receipt.error or "the provider reported the message undelivered"
                updated = fall_back(message, reason, now) or replace(updated, last_error=reason, updated_at=now)
            # Later receipts of the same delivery see this state (delivered then read, then a late delivered).
            ours[receipt.provider_message_id] = changed[updated.id] = updated
            steps += 1
            _publish_receipt(uow, updated)
            if updated.conversation_id:
                touched.append((updated.tenant_id, updated.conversation_id, updated.channel, "outbound"))
        await uow.messages.save_many(list(changed.values()))
        await uow.commit()
    for tenant_id, conversation_id, channel, direction in dict.fromkeys(touched):
        await announce_conversation(announce, tenant_id, conversation_id, channel, direction)
    return new + steps


def _publish_receipt(uow: NotificationsWork, m: Message) -> None:
    with _caused_by(m):
        if m.status == DELIVERED and m.delivered_at:
            uow.publish(
                MessageDeliveredV1(
                    message_id=m.id,
                    lead_id=m.lead_id,
                    patient_id=m.patient_id,
                    channel=m.channel,
                    provider_message_id=m.provider_message_id or "",
                    delivered_at=m.delivered_at,
                ),
                tenant_id=m.tenant_id,
            )
        elif m.status == READ and m.read_at:
            uow.publish(
                MessageReadV1(
                    message_id=m.id,
                    lead_id=m.lead_id,
                    patient_id=m.patient_id,
                    channel=m.channel,
                    provider_message_id=m.provider_message_id or "",
                    read_at=m.read_at,
                ),
                tenant_id=m.tenant_id,
            )
        elif m.status == FAILED:
            _publish_failed(uow, m)


async def _receive_one(
    uow: NotificationsWork,
    item: Inbound,
    answered: Message | None,
    now: datetime,
    touched: list[tuple[str, str, str, str]],
) -> int:
    tenant_id = answered.tenant_id if answered else await uow.accounts.tenant_for(item.channel, item.account_id)
    if tenant_id is None:
        log.warning("inbound %s message to unknown account %s dropped", item.channel, item.account_id)
        return 0
    convs = uow.conversations
    senders = phone_variants(item.sender) if item.channel in (WHATSAPP, SMS) else (item.sender,)
    pairs = [(item.channel, s) for s in senders]
    if item.channel in (WHATSAPP, SMS):
        pairs += [(SMS if item.channel == WHATSAPP else WHATSAPP, s) for s in senders]
    found = await convs.find(
        tenant_id,
        lead_id=answered.lead_id if answered else None,
        patient_id=answered.patient_id if answered else None,
        addresses=pairs,
    )
    if found is None and answered and answered.conversation_id:
        found = await convs.get(tenant_id, answered.conversation_id)
    if found:
        conversation_id = str(found["id"])
    else:
        conversation_id = context.new_id()
        await convs.create(conversation_id, tenant_id, lead_id=None, patient_id=None, name=item.sender_name, now=now)
    message_id = context.new_id()
    # Providers stamp whole seconds; a fresh delivery takes our clock so the conversation keeps its order
    # (a reply is never shown before the message it answers), a late redelivery keeps the provider's time.
    received_at = item.received_at if item.received_at < now - timedelta(seconds=2) else now
    item = replace(item, received_at=received_at)
    added = await uow.inbound.add(
        id=message_id,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        channel=item.channel,
        sender=item.sender,
        sender_name=item.sender_name,
        text=item.text,
        button_id=item.button_id,
        reply_to_message_id=answered.id if answered else None,
        provider=item.provider,
        provider_message_id=item.provider_message_id,
        received_at=item.received_at,
        media=[_kept_medium(m) for m in item.media],
    )
    if not added:
        return 0  # the provider delivered this message before
    # The sender's own address: the known one when the ninth digit differs, else what they wrote from.
    address = answered.to if answered and answered.channel == item.channel else item.sender
    await convs.touch_inbound(tenant_id, item.channel, address, conversation_id, item.received_at)
    consent = consent_change(item.text) if item.button_id is None else None
    if consent is False:
        await uow.opt_outs.add(tenant_id, item.channel, address, "inbound", now)
    elif consent is True:
        await uow.opt_outs.remove(tenant_id, item.channel, address)
    lead_id = (found or {}).get("lead_id")
    patient_id = (found or {}).get("patient_id")
    if consent is not None:  # the consent ledger records it too (privacy consumes channel_consent.changed)
        _publish_channel_consent(
            uow,
            tenant_id,
            ChannelConsentChangedV1(
                change_id=context.new_id(),
                lead_id=str(lead_id) if lead_id else None,
                patient_id=str(patient_id) if patient_id else None,
                conversation_id=conversation_id,
                channel=item.channel,
                address=address,
                opted_in=consent,
                how="start_word" if consent else "stop_word",
                text=item.text,
                message_id=message_id,
                at=now,
            ),
        )
    event = MessageReceivedV1(
        conversation_id=conversation_id,
        message_id=message_id,
        lead_id=str(lead_id) if lead_id else None,
        patient_id=str(patient_id) if patient_id else None,
        channel=item.channel,
        sender=address,
        sender_name=item.sender_name,
        text=item.text,
        button_id=item.button_id,
        reply_to_message_id=answered.id if answered else None,
        consent=consent,
        provider=item.provider,
        provider_message_id=item.provider_message_id,
        received_at=item.received_at,
        media=[
            MessageMedia(
                kind=m.kind, content_type=m.content_type, size=m.size, sha256=m.sha256, url=m.url,
                url_expires_at=m.url_expires_at, caption=m.caption,
            )
            for m in item.media
        ],
    )  # fmt: skip
    if any(m.object_key is None and m.provider_media_id for m in item.media):
        # The provider's media are fetched by the worker (fetch_media_due), not in the webhook's request: the
        # message is stored now and message.received published once they are in the object store.
        pending = {"event": json.loads(msgspec.json.encode(event)), "correlation_id": context.current_correlation_id()}
        await uow.inbound.hold_for_media(message_id, pending, now)
    else:
        uow.publish(event, tenant_id=tenant_id)
    touched.append((tenant_id, conversation_id, item.channel, "inbound"))
    return 1


def _kept_medium(m: InboundMedia) -> dict[str, Any]:
    """What the conversation keeps of a medium (the staff's view presigns `object_key` when it is read)."""
    return {
        "kind": m.kind, "content_type": m.content_type, "size": m.size, "sha256": m.sha256, "caption": m.caption,
        "object_key": m.object_key, "provider_media_id": m.provider_media_id,
    }  # fmt: skip
