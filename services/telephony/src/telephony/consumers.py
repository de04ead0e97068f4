"""Event subscriptions of telephony: decode -> inbox -> one use case (kit does the first two)."""

from __future__ import annotations

from contracts.leads import LeadCreatedV1, LeadDeletedV1, LeadUpdatedV1
from contracts.topics import LEADS, PRIVACY
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from telephony import services
from telephony.services import privacy


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            service=ctx.service,
            name="telephony.contacts",
            topic=LEADS.name,
            handlers={
                LeadCreatedV1: services.remember_lead,
                LeadUpdatedV1: services.remember_lead,
                LeadDeletedV1: services.forget_lead,
            },
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
        # Data subject requests (docs/privacy.md): telephony's part of an export, its erasure.
        IdempotentConsumer(
            service=ctx.service,
            name="telephony.privacy",
            topic=PRIVACY.name,
            handlers=privacy.handlers(lambda: ctx.resources["objects"]),
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
    ]
