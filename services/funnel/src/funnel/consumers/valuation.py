"""Subscriptions of the valuation process: the staff directory (who is a diagnostic doctor) and the photos
prospects send on WhatsApp."""

from __future__ import annotations

from functools import partial

from contracts.notifications import MessageReceivedV1
from contracts.topics import IDENTITY, NOTIFICATIONS
from funnel.clock import Clock
from funnel.services import valuation
from kit.messaging import IdempotentConsumer
from kit.objects import ObjectStore
from kit.worker import WorkerContext


def build(ctx: WorkerContext, clock: Clock, store: ObjectStore) -> list[IdempotentConsumer]:
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
        ),
        IdempotentConsumer(
            service=ctx.service,
            name="funnel.valuation-photos",
            topic=NOTIFICATIONS.name,
            handlers={MessageReceivedV1: partial(valuation.handle_message, clock=clock, store=store)},
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
    ]
