"""Event subscriptions of leads: decode -> inbox -> one use case (kit does the first two)."""

from __future__ import annotations

from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from contracts.topics import IDENTITY
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext
from leads.services import staff


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    return [
        IdempotentConsumer(
            service=ctx.service,
            name="leads.staff-directory",
            topic=IDENTITY.name,
            handlers={StaffCreatedV1: staff.record, StaffUpdatedV1: staff.record, StaffDeactivatedV1: staff.record},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
    ]
