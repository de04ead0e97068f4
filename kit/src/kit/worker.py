"""The worker process of a service: consumers, outbox relay and timers, plus health and metrics.

It runs as its own Deployment (docs/architecture.md, "Services and their shape"); locally `python -m <service> worker`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

from aiokafka import AIOKafkaProducer
from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from kit import logging as kit_logging
from kit import personal, tracing, web
from kit import resources as kit_resources
from kit.db import UnitOfWork, UnitOfWorkFactory, make_engine, uow_factory
from kit.kafka import from_settings as kafka_connection
from kit.messaging import FETCH_MAX_WAIT_MS, IdempotentConsumer, ensure_topics, make_producer
from kit.outbox import OutboxRelay, watch_backlog
from kit.periodic import Periodic, PeriodicRunner
from kit.personal import PersonalCipher
from kit.resources import Resource
from kit.settings import ServiceSettings

log = logging.getLogger(__name__)


class WorkerContext:
    def __init__(
        self,
        service: str,
        settings: ServiceSettings,
        engine: AsyncEngine,
        uow: UnitOfWorkFactory,
        producer: AIOKafkaProducer,
        resources: dict[str, Any] | None = None,
        cipher: PersonalCipher | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.engine = engine
        self.uow = uow
        self.producer = producer
        #: The values of the worker's kit.resources, by name.
        self.resources = resources or {}
        #: Opens events' personal fields for code that reads topics itself (a replay); None: no key store.
        self.cipher = cipher


ConsumersFactory = Callable[[WorkerContext], list[IdempotentConsumer]]
#: Timers of the worker: kit.periodic.Periodic tasks (preferred), or bare coroutines that loop themselves.
TasksFactory = Callable[[WorkerContext], Sequence[Periodic | Coroutine[Any, Any, None]]]


async def start_with_retry(
    start: Callable[[], Coroutine[Any, Any, Any]], what: str, give_up_after: float = 90.0
) -> None:
    """Services start before or after their broker; wait for it instead of crash-looping.

    `give_up_after` bounds the retrying only: an attempt in flight is never cancelled.
    """
    deadline = asyncio.get_running_loop().time() + give_up_after
    delay = 0.5
    while True:
        try:
            await start()
            return
        except Exception as exc:
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("%s not reachable yet (%s); retrying", what, exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def create_worker_app(
    *,
    service: str,
    settings: ServiceSettings,
    consumers: ConsumersFactory = lambda ctx: [],
    tasks: TasksFactory = lambda ctx: [],
    resources: Sequence[Resource[Any]] = (),
    unit_of_work: type[UnitOfWork] = UnitOfWork,
) -> Litestar:
    kit_logging.setup(service + "-worker", settings.log_level, settings.log_format)
    tracing.setup(service + "-worker", settings)
    state: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        # Consumers handle partitions concurrently next to the relay and the timers: with a pool smaller than
        # that, overflow connections were opened and closed (and their prepared statements lost) all the time.
        engine = make_engine(settings.database_url, pool_size=12)
        kafka = kafka_connection(settings)
        producer = make_producer(
            kafka,
            idempotent=settings.kafka_idempotent_producer,
            client_id=f"{service}-worker",
        )
        await start_with_retry(producer.start, "Kafka")
        if settings.kafka_create_topics:
            await start_with_retry(
                lambda: ensure_topics(kafka, replication=settings.kafka_topic_replication),
                "Kafka admin",
            )
        cipher = personal.from_settings(
            settings.personal_keys_url, settings.personal_keys_token, settings.personal_keys_cache_seconds
        )
        ctx = WorkerContext(
            service,
            settings,
            engine,
            uow_factory(engine, service, unit_of_work, cipher),
            producer,
            {r.name: r.value for r in resources},
            cipher,
        )
        # The consumers join their groups side by side: a join takes ~5 s on the development broker (Tansu), and
        # one after the other a worker with five consumers was not ready for half a minute.
        joining = list(consumers(ctx))
        for consumer in joining:
            consumer.cipher = cipher  # opens the personal fields before a handler sees them (kit.personal)
            if consumer.fetch_max_wait_ms == FETCH_MAX_WAIT_MS:  # the installation's, unless the service chose
                consumer.fetch_max_wait_ms = settings.kafka_fetch_max_wait_ms
        joined = await asyncio.gather(
            *(
                start_with_retry(
                    functools.partial(consumer.start, kafka, client_id=f"{service}-worker"),
                    f"Kafka consumer {consumer.name}",
                )
                for consumer in joining
            ),
            return_exceptions=True,
        )
        failed = [outcome for outcome in joined if isinstance(outcome, BaseException)]
        if failed:
            await asyncio.gather(*(c.stop() for c in joining), return_exceptions=True)
            await producer.stop()
            await engine.dispose()
            if cipher is not None:
                await cipher.close()
            raise failed[0]
        started: list[IdempotentConsumer] = joining
        relay = OutboxRelay(
            service=service,
            database_url=settings.database_url,
            producer=producer,
            poll_seconds=settings.outbox_poll_seconds,
            retention_hours=settings.outbox_retention_hours,
            bootstrap=kafka,
        )
        timers = tasks(ctx)
        runner = PeriodicRunner(service, [t for t in timers if isinstance(t, Periodic)])
        running = [
            asyncio.create_task(coro, name=name)
            for name, coro in (
                ("outbox relay", relay.run()),
                ("outbox backlog", watch_backlog(service, settings.database_url)),
                *((f"timer {getattr(t, '__qualname__', '?')}", t) for t in timers if not isinstance(t, Periodic)),
            )
        ]
        runner.start()

        def dead() -> list[str]:
            """The relay, a consumer or a timer that ended: none of them ends while the worker runs."""
            return [
                *(task.get_name() for task in running if task.done()),
                *(f"consumer {c.name}" for c in started if not c.running),
                *runner.dead(),
            ]

        state.update(engine=engine, producer=producer, relay=relay, timers=runner, dead=dead)
        log.info("worker started")
        try:
            yield
        finally:
            await runner.stop()  # a round in progress finishes before the engine goes away
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            await asyncio.gather(*(c.stop() for c in started), return_exceptions=True)
            await producer.stop()
            await engine.dispose()
            if cipher is not None:
                await cipher.close()

    async def check_database() -> None:
        async with state["engine"].connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def check_broker() -> None:
        await asyncio.wait_for(state["producer"].client.fetch_all_metadata(), 3.0)

    return web.create_app(
        service=f"{service}-worker",
        title=f"{service} worker",
        route_handlers=[],
        checks={"database": check_database, "broker": check_broker, **kit_resources.checks(resources)},
        liveness=lambda: state["dead"]() if "dead" in state else [],
        # Resources open before and close after the worker's own lifespan (its timers use them).
        lifespan=[kit_resources.lifespan(resources), lifespan],
    )
