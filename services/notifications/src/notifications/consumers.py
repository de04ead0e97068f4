"""Event subscriptions of notifications: decode -> inbox -> one use case (kit does the first two).

One consumer per topic; every consumed event goes through the same use case, which applies the rules.
"""

from __future__ import annotations

from contracts import Event
from contracts.assistant import AssistantMessageRequestedV1
from contracts.privacy import ConsentGivenV1, ConsentWithdrawnV1, RetentionSetV1
from contracts.topics import FUNNEL, LEADS, PAYMENTS, PRIVACY, SCHEDULING
from kit.messaging import Handler, IdempotentConsumer
from kit.worker import WorkerContext
from notifications import events, services
from notifications.services import consent

#: Consumer (group) names; the leads one keeps its first name so its inbox and offsets carry on.
NAMES = {
    LEADS.name: "notifications.lead-welcome",
    PAYMENTS.name: "notifications.payments",
    SCHEDULING.name: "notifications.scheduling",
    FUNNEL.name: "notifications.funnel",
}


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    by_topic: dict[str, dict[type[Event], Handler]] = {}
    for struct in events.CONSUMED:
        by_topic.setdefault(struct.TOPIC, {})[struct] = services.handle_event
    # The funnel assistant's messages, sent as written (services.queue_assistant_message).
    assistant = IdempotentConsumer(
        service=ctx.service,
        name="notifications.assistant",
        topic=FUNNEL.name,
        handlers={AssistantMessageRequestedV1: services.queue_assistant_message},
        uow=ctx.uow,
        producer=ctx.producer,
        max_attempts=ctx.settings.consumer_max_attempts,
    )
    # The consent ledger's copy, retention rules and data subject requests (services.consent, docs/privacy.md).
    privacy = IdempotentConsumer(
        service=ctx.service,
        name="notifications.privacy",
        topic=PRIVACY.name,
        handlers={
            ConsentGivenV1: consent.remember,
            ConsentWithdrawnV1: consent.remember,
            RetentionSetV1: consent.remember_retention,
            **consent.answers(lambda: ctx.resources["objects"]),
        },
        uow=ctx.uow,
        producer=ctx.producer,
        max_attempts=ctx.settings.consumer_max_attempts,
    )
    return [assistant, privacy] + [
        IdempotentConsumer(
            service=ctx.service,
            name=NAMES[topic],
            topic=topic,
            handlers=handlers,
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
        for topic, handlers in by_topic.items()
    ]
