"""The assistant's subscriptions: consumer groups of their own (funnel.assistant.<context>), so its inbox and
offsets are apart from the deal rules' consumers of the same events."""

from __future__ import annotations

from functools import partial

from contracts import Event
from funnel.clock import Clock
from funnel.services import assistant
from kit.messaging import Handler, IdempotentConsumer
from kit.worker import WorkerContext


def build(ctx: WorkerContext, clock: Clock) -> list[IdempotentConsumer]:
    by_topic: dict[str, dict[type[Event], Handler]] = {}
    for struct in assistant.CONSUMED:
        by_topic.setdefault(struct.TOPIC, {})[struct] = partial(assistant.handle_event, clock=clock)
    return [
        IdempotentConsumer(
            service=ctx.service,
            name=f"funnel.assistant.{topic.split('.')[1]}",
            topic=topic,
            handlers=handlers,
            uow=ctx.uow,
            producer=ctx.producer,
            max_attempts=ctx.settings.consumer_max_attempts,
        )
        for topic, handlers in by_topic.items()
    ]
