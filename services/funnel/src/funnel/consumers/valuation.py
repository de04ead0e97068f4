"""Subscriptions of the valuation process: the staff directory (who is a diagnostic doctor), the photos
prospects send on WhatsApp, and leads' events (the lead's contact copy; a request that opens a valuation)."""

from __future__ import annotations

from functools import partial

from contracts.notifications import MessageReceivedV1
from contracts.topics import IDENTITY, LEADS, NOTIFICATIONS
from funnel.clock import Clock
from funnel.services import valuation
from kit.messaging import IdempotentConsumer
from kit.objects import ObjectStore
from kit.worker import WorkerContext


def build(ctx: WorkerContext, clock: Clock, store: ObjectStore, links: valuation.Links) -> list[IdempotentConsumer]:
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
        IdempotentConsumer(
            service=ctx.service,
            name="funnel.valuation-leads",
            topic=LEADS.name,
            handlers=dict.fromkeys(valuation.LEAD_EVENTS, partial(valuation.handle_lead, clock=clock, links=links)),
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        ),
    ]
