"""Use cases of notifications: queue from events, dispatch to the provider, read, configure."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from contracts import EventMeta
from contracts.leads import LeadCreatedV1
from contracts.notifications import MessageFailedV1, MessageSentV1
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork, UnitOfWorkFactory
from notifications import rendering
from notifications.domain import (
    DEFAULT_TEMPLATES,
    FAILED,
    LOCALES,
    QUEUED,
    SENT,
    TEMPLATE_NAMES,
    WELCOME,
    Message,
    TemplateNotFound,
    check_template_key,
    choose_locale,
    first_name,
    mark_attempt_failed,
    mark_sending,
    mark_sent,
)
from notifications.providers import MessagingProvider, ProviderError
from notifications.repository import MessageRepository, TemplateRepository

log = logging.getLogger(__name__)
CHANNEL = "whatsapp"


async def _template(uow: UnitOfWork, tenant_id: str, name: str, locale: str) -> str:
    custom = await TemplateRepository(uow.session).body(tenant_id, name, locale, CHANNEL)
    return custom if custom is not None else DEFAULT_TEMPLATES[(name, locale)]


async def queue_welcome(uow: UnitOfWork, event: LeadCreatedV1, meta: EventMeta) -> Message:
    """lead.created -> a welcome message in the lead's language, queued for the dispatcher."""
    locale = choose_locale(event.locale)
    body = rendering.render(
        await _template(uow, meta.tenant_id, WELCOME, locale),
        {"name": event.name, "first_name": first_name(event.name)},
    )
    now = datetime.now(UTC)
    message = Message(
        id=context.new_id(),
        tenant_id=meta.tenant_id,
        lead_id=event.lead_id,
        channel=CHANNEL,
        to=event.phone,
        template=WELCOME,
        locale=locale,
        body=body,
        status=QUEUED,
        attempts=0,
        last_error=None,
        provider=None,
        provider_message_id=None,
        correlation_id=meta.correlation_id,
        causation_id=meta.id,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )
    await MessageRepository(uow.session).add(message)
    return message


async def dispatch_due(
    uow_factory: UnitOfWorkFactory,
    provider: MessagingProvider,
    *,
    limit: int = 50,
    stale_after: timedelta = timedelta(seconds=30),
) -> int:
    """Claim due messages, send them concurrently, record each outcome. Returns how many were tried.

    The claim commits before the provider is called, so a crash leaves the message `sending`;
    it is retried after `stale_after` with the same idempotency key (the message id).
    """
    now = datetime.now(UTC)
    async with uow_factory() as uow:
        repo = MessageRepository(uow.session)
        claimed = [mark_sending(m, now) for m in await repo.claim_due(now, limit=limit, stale_after=stale_after)]
        for message in claimed:
            await repo.save(message)
        await uow.commit()
    await asyncio.gather(*(_send_one(uow_factory, provider, m) for m in claimed))
    return len(claimed)


async def _send_one(uow_factory: UnitOfWorkFactory, provider: MessagingProvider, message: Message) -> None:
    try:
        result = await provider.send_text(to=message.to, body=message.body, idempotency_key=message.id)
        outcome = mark_sent(message, result.provider, result.provider_message_id, datetime.now(UTC))
    except ProviderError as exc:
        log.warning("sending message %s failed: %s", message.id, exc)
        outcome = mark_attempt_failed(message, str(exc), permanent=exc.permanent, now=datetime.now(UTC))
    # The follow-up events belong to the flow that caused the message.
    token = context.correlation_id.set(message.correlation_id)
    cause = context.causation_id.set(message.causation_id)
    try:
        async with uow_factory() as uow:
            await MessageRepository(uow.session).save(outcome)
            if outcome.status == SENT:
                assert outcome.provider
                assert outcome.provider_message_id
                assert outcome.sent_at
                uow.publish(
                    MessageSentV1(
                        message_id=outcome.id,
                        lead_id=outcome.lead_id,
                        channel=outcome.channel,
                        to=outcome.to,
                        template=outcome.template,
                        locale=outcome.locale,
                        provider=outcome.provider,
                        provider_message_id=outcome.provider_message_id,
                        sent_at=outcome.sent_at,
                    ),
                    tenant_id=outcome.tenant_id,
                )
            elif outcome.status == FAILED:
                uow.publish(
                    MessageFailedV1(
                        message_id=outcome.id,
                        lead_id=outcome.lead_id,
                        channel=outcome.channel,
                        to=outcome.to,
                        template=outcome.template,
                        reason=outcome.last_error or "unknown",
                        attempts=outcome.attempts,
                        failed_at=outcome.updated_at,
                    ),
                    tenant_id=outcome.tenant_id,
                )
            await uow.commit()
    finally:
        context.correlation_id.reset(token)
        context.causation_id.reset(cause)


async def messages_for_lead(uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str) -> list[Message]:
    async with uow_factory() as uow:
        return await MessageRepository(uow.session).for_lead(principal.tenant_id, lead_id)


async def list_templates(uow_factory: UnitOfWorkFactory, principal: Principal) -> list[tuple[str, str, str, bool]]:
    """Every (name, locale, body, customised) the clinic sends, its own text or the built-in one."""
    async with uow_factory() as uow:
        custom = await TemplateRepository(uow.session).all_for(principal.tenant_id)
    out = []
    for name in TEMPLATE_NAMES:
        for locale in LOCALES:
            body = custom.get((name, locale, CHANNEL))
            out.append(
                (name, locale, body if body is not None else DEFAULT_TEMPLATES[(name, locale)], body is not None)
            )
    return out


async def set_template(uow_factory: UnitOfWorkFactory, principal: Principal, name: str, locale: str, body: str) -> None:
    check_template_key(name, locale)
    rendering.validate(body)
    async with uow_factory() as uow:
        await TemplateRepository(uow.session).upsert(
            tenant_id=principal.tenant_id,
            name=name,
            locale=locale,
            channel=CHANNEL,
            body=body,
            user_id=principal.user_id,
            now=datetime.now(UTC),
        )
        await uow.commit()


async def reset_template(uow_factory: UnitOfWorkFactory, principal: Principal, name: str, locale: str) -> None:
    check_template_key(name, locale)
    async with uow_factory() as uow:
        if not await TemplateRepository(uow.session).delete(
            tenant_id=principal.tenant_id, name=name, locale=locale, channel=CHANNEL
        ):
            raise TemplateNotFound(f"The clinic has no own {name}/{locale} template; the built-in one is used.")
        await uow.commit()
