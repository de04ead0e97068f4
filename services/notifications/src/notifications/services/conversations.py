"""A person's conversation: its history for staff and their replies within the channel's rules."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from kit import context
from kit.auth import Principal
from kit.objects import ObjectStore, ObjectStoreError
from notifications import rendering, suggestions
from notifications.catalog import TEMPLATES
from notifications.domain import (
    CANCELLED,
    EMAIL,
    INAPP,
    MANUAL_TEMPLATE,
    PERSON,
    QUEUED,
    SMS,
    WHATSAPP,
    InvalidInput,
    InvalidTemplate,
    Message,
    NotFound,
    OutsideWindow,
    TemplateNotFound,
    check_channel,
    check_sendable_template,
    check_variables,
    choose_locale,
    first_name,
    is_clinic_template,
    manual_dedupe_key,
    missing_variables,
    within_whatsapp_window,
)
from notifications.services import common, consent
from notifications.services.config import ClinicConfig, clinic_config, template_source
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
        channel, address = _address(await convs.addresses(conversation_id), channel)
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


def _address(addresses: list[dict[str, Any]], channel: str | None) -> tuple[str, dict[str, Any]]:
    """The channel to write on (by default the one the person last wrote on) and the person's address there."""
    if channel is None:
        wrote = sorted((a for a in addresses if a["last_inbound_at"]), key=lambda a: a["last_inbound_at"])
        channel = wrote[-1]["channel"] if wrote else (addresses[0]["channel"] if addresses else WHATSAPP)
    check_channel(channel)
    address = next((a for a in addresses if a["channel"] == channel), None)
    if address is None:
        raise InvalidInput(f"The person has no {channel} address in this conversation.", field="channel")
    return channel, address


# --- an approved template sent by hand ---------------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    conversation: dict[str, Any]
    channel: str
    to: str
    in_window: bool
    locale: str
    render: dict[str, Any]
    needed: tuple[str, ...]
    values: dict[str, Any]
    missing: list[str]


async def _person_values(
    uow: NotificationsWork, tenant_id: str, conv: dict[str, Any], to: str, channel: str
) -> dict[str, Any]:
    """What the person's record gives a template: the lead's copy (name, phone, e-mail, locale), else the
    conversation's name and the address written to."""
    contact = (await uow.contacts.get(tenant_id, str(conv["lead_id"]))) if conv["lead_id"] else None
    contact = contact or {}
    name = contact.get("name") or conv.get("name") or ""
    return {
        "name": name or None,
        "first_name": first_name(name) if name else None,
        "phone": contact.get("phone") or (to if channel in (WHATSAPP, SMS) else None),
        "email": contact.get("email") or (to if channel == EMAIL else None),
        "locale": contact.get("locale"),
    }


async def _recipient(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, channel: str | None
) -> tuple[dict[str, Any], str, dict[str, Any], ClinicConfig, dict[str, Any]]:
    """The conversation, the channel and address written to, the clinic's settings and the person's values: read
    once per unit of work (the choices render every template for the same person)."""
    memo = uow.memo
    key = ("manual-template", tenant_id, conversation_id, channel or "")
    if key not in memo:
        conv = await uow.conversations.get(tenant_id, conversation_id)
        if conv is None:
            raise NotFound("No such conversation.", field="conversation_id")
        chosen, address = _address(await uow.conversations.addresses(conversation_id), channel)
        config = await clinic_config(uow, tenant_id)
        person = await _person_values(uow, tenant_id, conv, address["address"], chosen)
        memo[key] = (conv, chosen, address, config, person)
    return cast(tuple[dict[str, Any], str, dict[str, Any], ClinicConfig, dict[str, Any]], memo[key])


async def _prepare(
    uow: NotificationsWork,
    principal: Principal,
    conversation_id: str,
    template: str,
    channel: str | None,
    variables: Mapping[str, str],
    now: datetime,
) -> _Prepared:
    """The template rendered for the person of the conversation on the channel: refused when it is not one staff may
    send there; the variables without a value listed (and shown as [name] in the text)."""
    conv, channel, address, config, person = await _recipient(uow, principal.tenant_id, conversation_id, channel)
    if not (template in TEMPLATES or is_clinic_template(template)):
        raise InvalidInput(f"Unknown template {template!r}.", field="template")
    locale = choose_locale(person.get("locale"), config.locale)
    person = {k: v for k, v in person.items() if k != "locale"}
    try:
        src = await template_source(uow, principal.tenant_id, template, locale, channel, config.locale)
    except TemplateNotFound as exc:  # the request names a template the clinic has no text of: bad input, not a path
        raise InvalidInput(str(exc), field="template") from exc
    spec = TEMPLATES.get(template)
    wa = src.wa_template if channel == WHATSAPP else None
    check_sendable_template(template, audience=spec.audience if spec else PERSON, channel=channel, wa_template=wa)
    needed = rendering.used_variables(src.body, src.subject if channel in (EMAIL, INAPP) else None)
    if wa:
        needed = tuple(dict.fromkeys((*needed, *rendering.wa_params_of(template))))
    # The person's record wins; a staff member's value fills only what it lacks (an e-mail not on the lead, say).
    given = {k: v for k, v in variables.items() if str(v).strip()}
    values = {**given, **{k: v for k, v in person.items() if v}}
    missing = missing_variables(needed, values)
    shown = {**values, **{m: f"[{m}]" for m in missing}}
    try:
        render = rendering.for_channel(
            channel,
            template=template,
            locale=src.locale,
            body_source=src.body,
            subject_source=src.subject,
            values=shown,
            actions=[],
            wa_template=wa,
        )
    except InvalidTemplate as exc:
        raise InvalidTemplate(str(exc), field="template") from exc
    in_window = channel != WHATSAPP or within_whatsapp_window(address["last_inbound_at"], now)
    return _Prepared(conv, channel, address["address"], in_window, src.locale, render, needed, values, missing)


async def template_choices(
    uow_factory: NotificationsWorkFactory, principal: Principal, conversation_id: str, channel: str | None
) -> dict[str, Any]:
    """The templates staff may send the person on the channel (on WhatsApp the approved ones), each with the
    variables a staff member has to fill in; and whether WhatsApp's 24-hour window is open."""
    now = common.clock()
    async with uow_factory() as uow:
        _, channel, address, _, _ = await _recipient(uow, principal.tenant_id, conversation_id, channel)
        own = {r["name"] for r in await uow.templates.all_for(principal.tenant_id) if r["channel"] == channel}
        names = [n for n, spec in TEMPLATES.items() if spec.audience == PERSON] + sorted(
            n for n in own if is_clinic_template(n)
        )
        items = []
        for name in names:
            try:
                ready = await _prepare(uow, principal, conversation_id, name, channel, {}, now)
            except (InvalidInput, InvalidTemplate):
                continue  # not one the person can be sent on this channel
            items.append(
                {"name": name, "wa_template": (ready.render.get("wa") or {}).get("name"), "needs": ready.missing}
            )
    in_window = channel != WHATSAPP or within_whatsapp_window(address["last_inbound_at"], now)
    return {"channel": channel, "in_window": in_window, "items": items}


async def preview_template(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    conversation_id: str,
    template: str,
    channel: str | None,
    variables: Mapping[str, str],
) -> dict[str, Any]:
    """The template as the person would get it (variables without a value shown as [name] and listed)."""
    async with uow_factory() as uow:
        ready = await _prepare(uow, principal, conversation_id, template, channel, variables, common.clock())
    return {
        "template": template,
        "channel": ready.channel,
        "locale": ready.locale,
        "in_window": ready.in_window,
        "body": ready.render["body"],
        "subject": ready.render.get("subject"),
        "wa": ready.render.get("wa"),
        "missing": ready.missing,
    }


async def send_template(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    conversation_id: str,
    template: str,
    channel: str | None,
    variables: Mapping[str, str],
    idempotency_key: str,
) -> Message:
    """Staff send one of the clinic's templates to the person of a conversation, through the dispatcher like a rule's
    message (consent, the 24-hour window: inside it the text, outside the approved template). One message per
    conversation and `idempotency_key`: a repeated request answers with the first one's message."""
    now = common.clock()
    dedupe = manual_dedupe_key(conversation_id, idempotency_key)
    async with uow_factory() as uow:
        earlier = await uow.messages.by_dedupe_key(principal.tenant_id, dedupe)
        if earlier is not None:
            return earlier
        ready = await _prepare(uow, principal, conversation_id, template, channel, variables, now)
        check_variables(ready.needed, ready.values)
        key = (principal.tenant_id, ready.channel, ready.to)
        if key in await uow.opt_outs.opted_out([key]):
            raise InvalidInput(f"The person opted out of {ready.channel}.", field="channel")
        conv = ready.conversation
        message = Message(
            id=context.new_id(),
            tenant_id=principal.tenant_id,
            lead_id=str(conv["lead_id"]) if conv["lead_id"] else None,
            patient_id=str(conv["patient_id"]) if conv["patient_id"] else None,
            conversation_id=conversation_id,
            channel=ready.channel,
            to=ready.to,
            template=template,
            locale=ready.locale,
            body=str(ready.render["body"]),
            subject=ready.render.get("subject"),
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
            rule_key=MANUAL_TEMPLATE,
            recipient=PERSON,
            dedupe_key=dedupe,
            channels=(ready.channel,),
            addresses={ready.channel: ready.to},
            renders={ready.channel: ready.render},
        )
        if await consent.blocked(uow, [message]):
            raise InvalidInput(f"The person withdrew consent for these messages on {ready.channel}.", field="channel")
        if not await uow.messages.add(message):  # the same key at the same moment: the other request's message
            found = await uow.messages.by_dedupe_key(principal.tenant_id, dedupe)
            if found is None:
                raise InvalidInput("The message could not be recorded; try again.", field="idempotency_key")
            return found
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
