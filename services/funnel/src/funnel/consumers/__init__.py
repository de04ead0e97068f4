"""Event subscriptions of funnel: decode -> inbox -> one use case (kit does the first two)."""

from __future__ import annotations

from functools import partial

from contracts import Event
from contracts.topics import PRIVACY
from funnel import services
from funnel.clock import Clock
from funnel.consumers import assistant
from funnel.services import privacy
from kit.messaging import Handler, IdempotentConsumer
from kit.worker import WorkerContext


def build(ctx: WorkerContext, clock: Clock) -> list[IdempotentConsumer]:
    by_topic: dict[str, dict[type[Event], Handler]] = {}
    for struct in services.CONSUMED:
        by_topic.setdefault(struct.TOPIC, {})[struct] = partial(services.handle_event, clock=clock)
    return (
        assistant.build(ctx, clock)
        + [
            IdempotentConsumer(
                service=ctx.service,
                name=f"funnel.{topic.split('.')[1]}",
                topic=topic,
                handlers=handlers,
                uow=ctx.uow,
                producer=ctx.producer,
                max_attempts=ctx.settings.consumer_max_attempts,
            )
            for topic, handlers in by_topic.items()
        ]
        + [
            # Data subject requests (docs/privacy.md): funnel's part of an export, its erasure.
            IdempotentConsumer(
                service=ctx.service,
                name="funnel.privacy",
                topic=PRIVACY.name,
                handlers=privacy.handlers(lambda: ctx.resources["objects"]),
                uow=ctx.uow,
                producer=ctx.producer,
                max_attempts=ctx.settings.consumer_max_attempts,
            )
        ]
    )
