"""Subscriptions of the valuation process: the staff directory (who is a diagnostic doctor)."""

from __future__ import annotations

from functools import partial

from contracts.topics import IDENTITY
from funnel.clock import Clock
from funnel.services import valuation
from kit.messaging import IdempotentConsumer
from kit.worker import WorkerContext


def build(ctx: WorkerContext, clock: Clock) -> list[IdempotentConsumer]:
    handler = partial(valuation.handle_staff, clock=clock)
    return [
        IdempotentConsumer(
            service=ctx.service,
            # Its own group: other funnel consumers of the same topic keep their offsets.
            name="funnel.valuation-staff",
            topic=IDENTITY.name,
            handlers=dict.fromkeys(valuation.STAFF_EVENTS, handler),
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
    ]
