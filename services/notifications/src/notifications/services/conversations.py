"""A person's conversation: its history for staff and their replies within the channel's rules."""

from __future__ import annotations

import logging
from typing import Any

from kit import context
from kit.auth import Principal
from kit.objects import ObjectStore, ObjectStoreError
from notifications import suggestions
from notifications.domain import (
    CANCELLED,
    PERSON,
    QUEUED,
    WHATSAPP,
    InvalidInput,
    Message,
    NotFound,
    OutsideWindow,
    check_channel,
    within_whatsapp_window,
)
from notifications.services import common
from notifications.services.work import NotificationsWork, NotificationsWorkFactory

log = logging.getLogger(__name__)


async def conversations_of(
    uow_factory: NotificationsWorkFactory, principal: Principal, *, lead_id: str | None, patient_id: str | None
) -> list[dict[str, Any]]:
    async with uow_factory() as uow:
        return await uow.conversations.for_person(principal.tenant_id, lead_id=lead_id, patient_id=patient_id)


#: How long a medium's link in the staff's conversation view works.
MEDIA_VIEW_SECONDS = 900


async def conversation(
    uow_factory: NotificationsWorkFactory, principal: Principal, conversation_id: str, store: ObjectStore | None = None
) -> dict[str, Any]:
    """The person's history across channels, oldest first: what the clinic sent and what the person wrote (with
    a short-lived link to each photo or document they sent)."""
    async with uow_factory() as uow:
        return await _history(uow, principal.tenant_id, conversation_id, store)


async def _history(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, store: ObjectStore | None = None
) -> dict[str, Any]:
    conv = await uow.conversations.get(tenant_id, conversation_id)
    if conv is None:
        raise NotFound("No such conversation.", field="conversation_id")
    addresses = await uow.conversations.addresses(conversation_id)
    outbound = await uow.messages.for_conversation(tenant_id, conversation_id)
    inbound = await uow.inbound.for_conversation(conversation_id)
    items: list[dict[str, Any]] = [
        {
            "direction": "out",
            "id": m.id,
            "channel": m.channel,
            "text": m.body,
            "status": m.status,
            "template": m.template,
            "at": m.sent_at or m.created_at,
            "button_id": None,
            "reply_to_message_id": None,
            "last_error": m.last_error,
        }
        for m in outbound
        if m.status != CANCELLED
    ] + [
        {
            "direction": "in",
            "id": str(i["id"]),
            "channel": i["channel"],
            "text": i["text"],
            "status": "received",
            "template": None,
            "at": i["received_at"],
            "button_id": i["button_id"],
            "reply_to_message_id": str(i["reply_to_message_id"]) if i["reply_to_message_id"] else None,
            "last_error": None,
            "media": [await _viewed_medium(m, store) for m in i.get("media") or []],
            "sender_name": i["sender_name"],
        }
        for i in inbound
    ]
    items.sort(key=lambda x: x["at"])
    return {"conversation": conv, "addresses": addresses, "items": items}


async def reply(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    conversation_id: str,
    text: str,
    channel: str | None,
    suggestion_id: str | None = None,
) -> Message:
    """Staff write to the person on a channel of the conversation (the one they last wrote on by default),
    within its rules: consent, and WhatsApp's 24-hour window for free text. `suggestion_id`: the reply was
    written from the assistant's suggestions (sent as one of them, or edited); message.sent says so."""
    if not text.strip():
        raise InvalidInput("The message must not be empty.", field="text")
    now = common.clock()
    async with uow_factory() as uow:
        convs = uow.conversations
        conv = await convs.get(principal.tenant_id, conversation_id)
        if conv is None:
            raise NotFound("No such conversation.", field="conversation_id")
        addresses = await convs.addresses(conversation_id)
        if channel is None:
            wrote = sorted((a for a in addresses if a["last_inbound_at"]), key=lambda a: a["last_inbound_at"])
            channel = wrote[-1]["channel"] if wrote else (addresses[0]["channel"] if addresses else WHATSAPP)
        check_channel(channel)
        address = next((a for a in addresses if a["channel"] == channel), None)
        if address is None:
            raise InvalidInput(f"The person has no {channel} address in this conversation.", field="channel")
        if channel == WHATSAPP and not within_whatsapp_window(address["last_inbound_at"], now):
            raise OutsideWindow(
                "WhatsApp accepts free text only within 24 h of the person's last message; use a template rule.",
                field="channel",
            )
        key = (principal.tenant_id, channel, address["address"])
        if key in await uow.opt_outs.opted_out([key]):
            raise InvalidInput(f"The person opted out of {channel}.", field="channel")
        used = await _used_suggestion(uow, principal.tenant_id, conversation_id, suggestion_id, text)
        message = Message(
            id=context.new_id(),
            tenant_id=principal.tenant_id,
            lead_id=str(conv["lead_id"]) if conv["lead_id"] else None,
            patient_id=str(conv["patient_id"]) if conv["patient_id"] else None,
            conversation_id=conversation_id,
            channel=channel,
            to=address["address"],
            template="staff_reply",
            locale=principal.locale,
            body=text,
            status=QUEUED,
            attempts=0,
            last_error=None,
            provider=None,
            provider_message_id=None,
            correlation_id=context.current_correlation_id(),
            causation_id=None,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
            rule_key="manual",
            recipient=PERSON,
            channels=(channel,),
            addresses={channel: address["address"]},
            renders={channel: {"body": text}},
            suggestion=used,
        )
        await uow.messages.add(message)
        await uow.commit()
    return message


async def _used_suggestion(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, suggestion_id: str | None, text: str
) -> dict[str, Any] | None:
    if suggestion_id is None:
        return None
    row = await uow.assistant.suggestion(tenant_id, suggestion_id)
    if row is None or str(row["conversation_id"]) != conversation_id:
        raise InvalidInput("No such suggestion in this conversation.", field="suggestion_id")
    return {
        "id": suggestion_id,
        "use": suggestions.use_of(text, list(row["texts"])),
        "model": row["model"],
        "tokens": int(row["prompt_tokens"]) + int(row["completion_tokens"]),
    }


async def _viewed_medium(m: dict[str, Any], store: ObjectStore | None) -> dict[str, Any]:
    url = None
    if store is not None and m.get("object_key"):
        try:
            url = await store.presigned_get(m["object_key"], expires_seconds=MEDIA_VIEW_SECONDS)
        except ObjectStoreError as exc:
            log.warning("no link to medium %s: %s", m["object_key"], exc)
    return {k: m.get(k) for k in ("kind", "content_type", "size", "caption")} | {"url": url}
