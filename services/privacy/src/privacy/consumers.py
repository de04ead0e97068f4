"""Event subscriptions of privacy: decode -> inbox -> one use case (kit does the first two).

leads' events keep the people directory (requests must name a person of the clinic); each answering service's
`privacy_part.ready` / `.erased` events, on that service's own topic, move a request on.
"""

from __future__ import annotations

from typing import Any

from contracts import privacy as events
from contracts.leads import LeadConvertedV1, LeadCreatedV1, LeadUpdatedV1
from contracts.topics import IDENTITY, LEADS, NOTIFICATIONS, PAYMENTS, SCHEDULING
from kit.messaging import IdempotentConsumer
from kit.objects import ObjectStore
from kit.worker import WorkerContext
from privacy import services


def build(ctx: WorkerContext, store: ObjectStore | None = None) -> list[IdempotentConsumer]:
    store = store or ctx.resources.get("objects")
    ready = services.part_ready_handler(store) if store is not None else None
    by_topic: dict[str, dict[type[Any], Any]] = {
        LEADS.name: {},
        SCHEDULING.name: {},
        PAYMENTS.name: {},
        NOTIFICATIONS.name: {},
    }
    for struct in events.PART_READY:  # every answering service's own topic (contracts.privacy)
        if ready is not None:
            by_topic.setdefault(struct.TOPIC, {})[struct] = ready
    for erased in events.PART_ERASED:
        by_topic.setdefault(erased.TOPIC, {})[erased] = services.part_erased
    # the gateway's read audit of personal records
    by_topic[IDENTITY.name] = {events.RecordReadV1: services.remember_read}
    by_topic[LEADS.name] |= {
        LeadCreatedV1: services.remember_person,
        LeadUpdatedV1: services.remember_person,
        LeadConvertedV1: services.remember_person,
    }
    return [
        IdempotentConsumer(
            service=ctx.service,
            name=f"privacy.{topic.split('.')[1]}",
            topic=topic,
            handlers=handlers,
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
        for topic, handlers in by_topic.items()
    ]
