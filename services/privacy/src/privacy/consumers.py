"""Event subscriptions of privacy: decode -> inbox -> one use case (kit does the first two).

leads' events keep the people directory (requests must name a person of the clinic); each answering service's
`privacy_part.ready` / `.erased` events, on that service's own topic, move a request on; notifications'
`channel_consent.changed` (a STOP word, staff) becomes a consent ledger entry and its `retention.applied` (and
leads' `retention.applied`) a line of the clinic's retention report.
"""

from __future__ import annotations

from typing import Any

from contracts import privacy as events
from contracts.leads import LeadConvertedV1, LeadCreatedV1, LeadsRetentionAppliedV1, LeadUpdatedV1
from contracts.notifications import ChannelConsentChangedV1, RetentionAppliedV1
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
    # each answering service's own topic (a service added to contracts.privacy.PART_* is subscribed here)
    for struct in events.PART_READY:
        if ready is not None:
            by_topic.setdefault(struct.TOPIC, {})[struct] = ready
    for erased in events.PART_ERASED:
        by_topic.setdefault(erased.TOPIC, {})[erased] = services.part_erased
    # the gateway's read audit of personal records
    by_topic[IDENTITY.name] = {events.RecordReadV1: services.remember_read}
    # channel opt-outs (STOP words, staff) reach the consent ledger
    by_topic[NOTIFICATIONS.name][ChannelConsentChangedV1] = services.record_channel_consent
    # the messages retention notifications applied joins the clinic's report
    by_topic[NOTIFICATIONS.name][RetentionAppliedV1] = services.record_retention_run
    # and so does the lost_leads retention leads applied
    by_topic[LEADS.name][LeadsRetentionAppliedV1] = services.record_leads_retention_run
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
