"""Event subscriptions of payments: the leads' source (and patient link) for the finance view."""

from __future__ import annotations

from contracts.leads import LeadConvertedV1, LeadCreatedV1
from contracts.topics import LEADS
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from payments.services import finance


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            service=ctx.service,
            name="payments.lead-sources",
            topic=LEADS.name,
            handlers={LeadCreatedV1: finance.remember_source, LeadConvertedV1: finance.remember_patient},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
    ]
