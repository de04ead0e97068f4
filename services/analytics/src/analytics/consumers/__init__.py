"""Event subscriptions of analytics: one consumer per topic, every event type to the projections; and the
privacy consumer (data subject requests: analytics' part of an export, its erasure; docs/privacy.md)."""

from __future__ import annotations

from analytics.services import privacy
from analytics.services.projection import CONSUMED, handle_event
from contracts import Event
from contracts.topics import PRIVACY
from kit.messaging import Handler, IdempotentConsumer
from kit.worker import WorkerContext


def consumer_name(topic: str) -> str:
    return f"analytics.{topic.split('.')[1]}"


def handlers_by_topic() -> dict[str, dict[type[Event], Handler]]:
    by_topic: dict[str, dict[type[Event], Handler]] = {}
    for struct in CONSUMED:
        by_topic.setdefault(struct.TOPIC, {})[struct] = handle_event
    return by_topic


def build(ctx: WorkerContext) -> list[IdempotentConsumer]:
    answers = IdempotentConsumer(
        service=ctx.service,
        name="analytics.privacy",
        topic=PRIVACY.name,
        handlers=privacy.handlers(lambda: ctx.resources["objects"]),
        uow=ctx.uow,
        producer=ctx.producer,
        max_attempts=ctx.settings.consumer_max_attempts,
    )
    return [answers, *projections(ctx)]


def projections(ctx: WorkerContext) -> list[IdempotentConsumer]:
    """The consumers of the read models (the ones `python -m analytics rebuild` replays)."""
    return [
        IdempotentConsumer(
            service=ctx.service,
            name=consumer_name(topic),
            topic=topic,
            handlers=handlers,
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
        for topic, handlers in handlers_by_topic().items()
    ]
