"""Event subscriptions of notifications: decode -> inbox -> one use case (kit does the first two)."""

from __future__ import annotations

from contracts.leads import LeadCreatedV1
from contracts.topics import LEADS
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from notifications import services


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            service=ctx.service,
            name="notifications.lead-welcome",
            topic=LEADS.name,
            handlers={LeadCreatedV1: services.queue_welcome},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
    ]
