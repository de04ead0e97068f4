"""The funnel assistant's messages (sent as written) and the reply assistant (suggested replies from the clinic's
model)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from contracts import EventMeta
from contracts.assistant import AssistantMessageRequestedV1
from contracts.notifications import (
    ReplySuggestedV1,
)
from kit import context
from kit.auth import Principal
from kit.sealing import Sealer, SealingError
from notifications import suggestions
from notifications.domain import (
    INSTAGRAM,
    PERSON,
    QUEUED,
    TELEGRAM,
    WHATSAPP,
    AssistantNotConfigured,
    AssistantUnavailable,
    InvalidInput,
    Message,
    e164,
)
from notifications.llm import ChatCompletions
from notifications.services import common, consent
from notifications.services.common import utcnow
from notifications.services.config import clinic_config
from notifications.services.conversations import _history
from notifications.services.queueing import _conversation_for
from notifications.services.work import NotificationsWork, NotificationsWorkFactory

log = logging.getLogger(__name__)


# --- the funnel assistant's messages (contracts.assistant) ----------------------------------------------
# The funnel's pre-qualification assistant writes its own texts (per clinic and locale, docs/funnel.md) and
# asks for them to be sent as they are: no rule, no template; one message per `message_id`, on the channel
# the person wrote from, through the same dispatcher (consent, WhatsApp's window, retries, receipts).
ASSISTANT_RULE = "assistant"


def assistant_render(event: AssistantMessageRequestedV1) -> dict[str, Any]:
    """WhatsApp and Telegram show the choices as taps (a list or reply buttons); elsewhere they are numbered
    lines the person answers by number or title (the assistant accepts both)."""
    choices = [{"id": c.id, "title": c.title} for c in event.options]
    if not choices:
        return {"body": event.text}
    if event.channel == WHATSAPP:
        listed = event.style == "list" or len(choices) > 3 or any(len(c["title"]) > 20 for c in choices)
        return {"body": event.text, "buttons": choices} | (
            {"list_button": (event.button or "Options")[:20]} if listed else {}
        )
    if event.channel == TELEGRAM:
        return {"body": event.text, "buttons": choices}
    lines = "\n".join(f"{n}. {c['title']}" for n, c in enumerate(choices, 1))
    return {"body": f"{event.text}\n{lines}"}


async def queue_assistant_message(uow: NotificationsWork, event: AssistantMessageRequestedV1, meta: EventMeta) -> None:
    now = utcnow()
    channel = event.channel
    if channel not in (WHATSAPP, TELEGRAM, INSTAGRAM):
        log.warning("assistant message %s for unknown channel %s dropped", event.message_id, channel)
        return
    to = e164(event.to) if channel == WHATSAPP else event.to.strip()
    render = assistant_render(event)
    message = Message(
        id=context.new_id(), tenant_id=meta.tenant_id, lead_id=event.lead_id, channel=channel, to=to,
        template=f"assistant_{event.key}", locale=event.locale, body=str(render["body"]), status=QUEUED, attempts=0,
        last_error=None, provider=None, provider_message_id=None, correlation_id=context.current_correlation_id(),
        causation_id=meta.id, created_at=now, updated_at=now, next_attempt_at=now, rule_key=ASSISTANT_RULE,
        recipient=PERSON, event_type=event.TYPE, dedupe_key=f"assistant:{event.message_id}", channels=(channel,),
        addresses={channel: to}, renders={channel: render},
    )  # fmt: skip
    person = {"lead_id": event.lead_id}
    message = replace(message, conversation_id=await _conversation_for(uow, meta.tenant_id, person, {channel: to}, now))
    await uow.messages.add(message)


# --- the reply assistant (docs/notifications.md, "Reply assistant") -------------------------------------
# The clinic points it at an OpenAI-compatible chat completions endpoint with its own model and API key (sealed
# at rest, never shown back). A staff member asks for suggestions in a conversation: its latest messages, with
# CPFs, phone numbers, e-mail addresses and the person's name redacted, go to the model; the suggestions are
# kept (a reply names the ones it used) and reply.suggested goes out through the outbox for the usage report.


def _key_context(tenant_id: str) -> str:
    # Bound to the clinic and the column: a sealed key copied to another clinic's row does not open.
    return f"notifications.assistant_settings/{tenant_id}/api_key"


def _price(value: Any) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _assistant_view(row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"enabled": False, "endpoint_url": None, "model": None, "api_key_set": False,
                "prompt_price": None, "completion_price": None, "updated_at": None}  # fmt: skip
    return {
        "enabled": row["enabled"],
        "endpoint_url": row["endpoint_url"],
        "model": row["model"],
        "api_key_set": bool(row["api_key"]),
        "prompt_price": _price(row["prompt_price"]),
        "completion_price": _price(row["completion_price"]),
        "updated_at": row["updated_at"],
    }


async def assistant_settings(uow_factory: NotificationsWorkFactory, principal: Principal) -> dict[str, Any]:
    async with uow_factory() as uow:
        return _assistant_view(await uow.assistant.settings(principal.tenant_id))


async def put_assistant_settings(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    sealer: Sealer | None,
    *,
    enabled: bool,
    endpoint_url: str,
    model: str,
    api_key: str | None,
    prompt_price: str | None,
    completion_price: str | None,
) -> dict[str, Any]:
    """`api_key` None keeps the stored key, "" removes it (an endpoint without keys), else it is sealed."""
    url = suggestions.check_endpoint(endpoint_url)
    name = model.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Name the model (at most 200 characters).", field="model")
    prices = (suggestions.check_price(prompt_price, "prompt_price"),
              suggestions.check_price(completion_price, "completion_price"))  # fmt: skip
    if api_key is not None and len(api_key) > 2000:
        raise InvalidInput("The API key has at most 2,000 characters.", field="api_key")
    async with uow_factory() as uow:
        repo = uow.assistant
        current = await repo.settings(principal.tenant_id)
        if api_key is None:
            stored = current["api_key"] if current else ""
        elif not api_key.strip():
            stored = ""
        elif sealer is None:
            raise AssistantUnavailable(
                "The API key cannot be stored: this deployment has no sealing key (NOTIFICATIONS_SEALING_KEYS).",
                field="api_key",
            )
        else:
            stored = sealer.seal(api_key.strip(), context=_key_context(principal.tenant_id))
        values = {
            "enabled": enabled,
            "endpoint_url": url,
            "model": name,
            "api_key": stored,
            "prompt_price": prices[0],
            "completion_price": prices[1],
            "updated_by": principal.user_id,
            "updated_at": common.clock(),
        }
        await repo.put_settings(principal.tenant_id, values)
        await uow.commit()
    return _assistant_view(values)


def _open_key(sealer: Sealer | None, stored: str, tenant_id: str) -> str:
    if not stored:
        return ""
    if sealer is None:
        raise AssistantUnavailable("The clinic's API key is sealed and this deployment has no sealing key.")
    try:
        return sealer.open(stored, context=_key_context(tenant_id))
    except SealingError as exc:
        raise AssistantUnavailable(f"The clinic's API key does not open: {exc}") from exc


async def _past_answers(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, turns: list[suggestions.Turn]
) -> list[suggestions.Example]:
    """The clinic's own past answers to messages like the one being answered (this clinic's other conversations
    only), best first: the model's examples."""
    asked = suggestions.asked_text(turns)
    if asked is None:
        return []
    rows = await uow.assistant.past_answers(
        tenant_id, conversation_id, asked, limit=suggestions.EXAMPLE_CANDIDATES, threshold=suggestions.MIN_SIMILARITY
    )
    found = [
        suggestions.Example(
            asked=r["asked"], answer=r["answer"], score=float(r["score"]), booked=bool(r["booked"]),
            names=tuple(n for n in (r["conversation_name"], r["sender_name"]) if n),
        )
        for r in rows
    ]  # fmt: skip
    return suggestions.pick_examples(found)


async def suggest_replies(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    sealer: Sealer | None,
    llm: ChatCompletions,
    conversation_id: str,
) -> dict[str, Any]:
    """Suggested replies for the staff member from the conversation's latest messages and the clinic's past
    answers to similar messages (all redacted)."""
    tenant = principal.tenant_id
    async with uow_factory() as uow:
        found = await _history(uow, tenant, conversation_id)
        config = await uow.assistant.settings(tenant)
        clinic = await clinic_config(uow, tenant)
        person = found["conversation"]
        for purpose in (consent.AI_ASSISTANT, consent.EXTERNAL_AI):  # the clinic's model is an external endpoint
            ids = {k: str(person[k]) if person[k] else None for k in ("lead_id", "patient_id")}
            if not await consent.allows(uow, tenant, purpose, **ids):
                raise InvalidInput(
                    f"The person withdrew consent to {purpose.replace('_', ' ')}.", field="conversation_id"
                )
        if config is None or not config["enabled"]:
            raise AssistantNotConfigured(
                "The clinic's reply assistant is not set up (PUT /api/v1/notifications/assistant/settings)."
            )
        turns = [suggestions.Turn(i["direction"], i["text"] or "") for i in found["items"]]
        examples = await _past_answers(uow, tenant, conversation_id, turns)
    key = _open_key(sealer, config["api_key"], tenant)
    conv = found["conversation"]
    names = [conv["name"] or "", *{i.get("sender_name") or "" for i in found["items"]}]
    prompt = suggestions.build_prompt(turns, locale=principal.locale or clinic.locale, names=names, examples=examples)
    wrote = sorted((a for a in found["addresses"] if a["last_inbound_at"]), key=lambda a: a["last_inbound_at"])
    channel = wrote[-1]["channel"] if wrote else None
    # Without holding a database connection: the model may take seconds.
    completion = await llm.complete(
        endpoint=config["endpoint_url"], api_key=key, model=config["model"], messages=prompt,
        user=hashlib.sha256(tenant.encode()).hexdigest()[:32],
    )  # fmt: skip
    texts = suggestions.parse_suggestions(completion.content)
    spent = suggestions.cost(
        completion.prompt_tokens, completion.completion_tokens, config["prompt_price"], config["completion_price"]
    )
    now = common.clock()
    suggestion_id = context.new_id()
    async with uow_factory() as uow:
        await uow.assistant.add_suggestion(
            id=suggestion_id, tenant_id=tenant, conversation_id=conversation_id, staff_id=principal.user_id,
            model=completion.model, texts=texts, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, cost=spent, created_at=now,
        )  # fmt: skip
        uow.publish(
            ReplySuggestedV1(
                suggestion_id=suggestion_id,
                conversation_id=conversation_id,
                lead_id=str(conv["lead_id"]) if conv["lead_id"] else None,
                patient_id=str(conv["patient_id"]) if conv["patient_id"] else None,
                staff_id=principal.user_id,
                channel=channel,
                model=completion.model,
                count=len(texts),
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost=None if spent is None else format(spent.normalize(), "f"),
                suggested_at=now,
            ),
            tenant_id=tenant,
        )
        await uow.commit()
    return {
        "suggestion_id": suggestion_id,
        "model": completion.model,
        "suggestions": texts,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "cost": None if spent is None else format(spent.normalize(), "f"),
        "created_at": now,
    }
