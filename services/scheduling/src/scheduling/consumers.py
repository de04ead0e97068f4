"""Event subscriptions of scheduling: decode -> inbox -> one use case (kit does the first two)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts import EventMeta
from contracts.assistant import AssistantBookingLinkRequestedV1
from contracts.notifications import MessageReceivedV1
from contracts.payments import PaymentConfirmedV1
from contracts.topics import FUNNEL, IDENTITY, NOTIFICATIONS, PAYMENTS, PRIVACY
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from scheduling.services import assistant, inbound, privacy, staff
from scheduling.services.env import Env
from scheduling.services.work import SchedulingWork


def _bound(env: Env, use_case: Callable[..., Any]) -> Callable[[SchedulingWork, Any, EventMeta], Any]:
    async def handle(uow: SchedulingWork, event: Any, meta: EventMeta) -> None:
        await use_case(env, uow, event, meta)

    return handle


def build(ctx: WorkerContext, env: Env) -> list[IdempotentConsumer]:
    common = {"uow": ctx.uow, "producer": ctx.producer, "max_attempts": ctx.settings.consumer_max_attempts}
    return [
        IdempotentConsumer(
            service=ctx.service,
            name="scheduling.payments",
            topic=PAYMENTS.name,
            handlers={PaymentConfirmedV1: _bound(env, inbound.payment_confirmed)},
            **common,  # type: ignore[arg-type]
        ),
        IdempotentConsumer(
            service=ctx.service,
            name="scheduling.replies",
            topic=NOTIFICATIONS.name,
            handlers={MessageReceivedV1: _bound(env, inbound.message_received)},
            **common,  # type: ignore[arg-type]
        ),
        # Booking links the funnel's assistant asks for (scheduling.services.assistant).
        IdempotentConsumer(
            service=ctx.service,
            name="scheduling.assistant-links",
            topic=FUNNEL.name,
            handlers={AssistantBookingLinkRequestedV1: _bound(env, assistant.booking_link_requested)},
            **common,  # type: ignore[arg-type]
        ),
        # The staff directory (who may be linked to a professional).
        IdempotentConsumer(
            service=ctx.service,
            name="scheduling.staff",
            topic=IDENTITY.name,
            handlers=dict.fromkeys(staff.STAFF_EVENTS, _bound(env, staff.staff_changed)),
            **common,  # type: ignore[arg-type]
        ),
        # Data subject requests (docs/privacy.md): scheduling's part of an export, its erasure.
        IdempotentConsumer(
            service=ctx.service,
            name="scheduling.privacy",
            topic=PRIVACY.name,
            handlers=privacy.handlers(lambda: ctx.resources["objects"]),
            **common,  # type: ignore[arg-type]
        ),
    ]
