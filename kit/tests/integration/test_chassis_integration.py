"""Webhook receipts and the lease dispatcher on a real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Request, post
from litestar.di import Provide
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from devkit.infra import Infra
from kit import migrations, webhooks
from kit.context import new_id
from kit.db import UnitOfWork, UnitOfWorkFactory, make_engine, uow_factory
from kit.dispatch import LeaseDispatcher, claim_due
from kit.outbox import metadata as outbox_metadata
from kit.web import create_app

jobs_metadata = MetaData()
jobs = Table(
    "jobs",
    jobs_metadata,
    Column("id", Integer, primary_key=True),
    Column("status", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("leased_until", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default="0"),
)


@pytest.fixture
async def engine(infra: Infra) -> AsyncIterator[AsyncEngine]:
    name = f"test_kit_{new_id().replace('-', '')[:16]}"
    await migrations.ensure_database(infra.postgres_url, name)
    created = make_engine(migrations.database_url(infra.postgres_url, name))
    async with created.begin() as conn:
        for metadata in (outbox_metadata, webhooks.metadata, jobs_metadata):
            await conn.run_sync(metadata.create_all)
    yield created
    await created.dispose()


async def test_a_redelivered_webhook_answers_200_and_does_nothing(engine: AsyncEngine) -> None:
    uow = uow_factory(engine, "kit-test")
    effects: list[str] = []
    verify = webhooks.shared_token_header("token", "X-Token")

    @post("/webhooks/pay", status_code=200)
    async def pay(request: Request[Any, Any, Any], uow: UnitOfWorkFactory) -> dict[str, str]:
        delivery = await webhooks.receive(request, verify)
        event = delivery.json()
        async with uow() as work:
            if not await webhooks.record_receipt(
                work.session, delivery, provider="stripe", scope="clinic-1", event_id=event["id"]
            ):
                return {"status": "duplicate"}
            effects.append(event["id"])
            await work.commit()
        return {"status": "processed"}

    app = create_app(
        service="t",
        title="t",
        route_handlers=[pay],
        checks={},
        error_map=dict(webhooks.ERROR_MAP),
        dependencies={"uow": Provide(lambda: uow, sync_to_thread=False)},
    )
    headers = {"X-Token": "token", "Authorization": "Bearer not-kept"}
    # httpx in this event loop: Litestar's test client runs the app on a loop of its own, the engine cannot.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://kit") as client:
        first = await client.post("/webhooks/pay", content=b'{"id": "evt_1"}', headers=headers)
        again = await client.post("/webhooks/pay", content=b'{"id": "evt_1"}', headers=headers)
        other = await client.post("/webhooks/pay", content=b'{"id": "evt_2"}', headers=headers)
        no_id = await client.post("/webhooks/pay", content=b'{"id": ""}', headers=headers)
    assert (first.status_code, first.json()) == (200, {"status": "processed"})
    assert (again.status_code, again.json()) == (200, {"status": "duplicate"})
    assert other.json() == {"status": "processed"}
    assert no_id.status_code == 400
    assert effects == ["evt_1", "evt_2"]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(webhooks.receipts_table).order_by("event_id"))).all()
    assert [(r.provider, r.scope, r.event_id, r.body) for r in rows] == [
        ("stripe", "clinic-1", "evt_1", b'{"id": "evt_1"}'),
        ("stripe", "clinic-1", "evt_2", b'{"id": "evt_2"}'),
    ]
    assert rows[0].headers["x-token"] == "token"
    assert "authorization" not in rows[0].headers


async def test_a_receipt_rolls_back_with_a_failed_use_case(engine: AsyncEngine) -> None:
    uow = uow_factory(engine, "kit-test")
    delivery = webhooks.Delivery(body=b"{}", headers={}, received_at=datetime.now(UTC))

    async def failing_use_case() -> None:
        async with uow() as work:
            assert await webhooks.record_receipt(work.session, delivery, provider="p", scope="s", event_id="e")
            raise RuntimeError("the use case failed")

    with pytest.raises(RuntimeError):
        await failing_use_case()
    async with uow() as work:  # the provider's retry is processed again
        assert await webhooks.record_receipt(work.session, delivery, provider="p", scope="s", event_id="e")


async def _seed(engine: AsyncEngine, n: int, *, due: datetime) -> None:
    async with engine.begin() as conn:
        await conn.execute(jobs.insert(), [{"id": i, "status": "queued", "due_at": due} for i in range(n)])


async def test_concurrent_claims_never_share_a_row_and_leases_expire(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    await _seed(engine, 30, due=now - timedelta(seconds=1))
    uow = uow_factory(engine, "kit-test")

    async def claim() -> list[int]:
        async with uow() as work:
            rows = await claim_due(
                work.session,
                jobs,
                due=jobs.c.status == "queued",
                now=now,
                lease=timedelta(seconds=30),
                limit=12,
                order_by=[jobs.c.id],
            )
            await asyncio.sleep(0.05)  # hold the row locks while the others claim
            await work.commit()
            return [r.id for r in rows]

    claimed = await asyncio.gather(claim(), claim(), claim())
    flat = [i for ids in claimed for i in ids]
    assert sorted(flat) == list(range(30))  # all claimed, none twice
    async with uow() as work:  # leased rows are not due again until the lease ends...
        again = await claim_due(
            work.session, jobs, due=jobs.c.status == "queued", now=now, lease=timedelta(seconds=30), limit=50
        )
        assert again == []
        later = await claim_due(
            work.session,
            jobs,
            due=jobs.c.status == "queued",
            now=now + timedelta(seconds=31),
            lease=timedelta(seconds=30),
            limit=50,
        )
        assert len(later) == 30  # ...then they are (a worker died holding them)


async def test_dispatcher_records_a_rounds_outcomes_in_one_transaction(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    await _seed(engine, 10, due=now - timedelta(seconds=1))
    uow = uow_factory(engine, "kit-test")

    async def claim(work: UnitOfWork, limit: int) -> list[int]:
        rows = await claim_due(
            work.session,
            jobs,
            due=jobs.c.status == "queued",
            now=datetime.now(UTC),
            lease=timedelta(minutes=5),
            limit=limit,
            values={"attempts": jobs.c.attempts + 1},
        )
        return [r.id for r in rows]

    async def handle(job_id: int) -> tuple[int, str]:
        if job_id == 3:
            raise RuntimeError("a crash: stays leased")
        return job_id, "failed" if job_id == 5 else "done"

    async def record(work: UnitOfWork, outcomes: list[tuple[int, str]]) -> None:
        for job_id, status in outcomes:
            await work.session.execute(update(jobs).where(jobs.c.id == job_id).values(status=status, leased_until=None))

    dispatcher = LeaseDispatcher("jobs", uow, claim=claim, handle=handle, record=record, batch_size=4, concurrency=2)
    rounds = [await dispatcher.run_once() for _ in range(4)]
    assert rounds == [4, 4, 2, 0]
    async with engine.connect() as conn:
        rows = {r.id: (r.status, r.attempts, r.leased_until is not None) for r in await conn.execute(select(jobs))}
    assert rows[3] == ("queued", 1, True)
    assert rows[5] == ("failed", 1, False)
    assert all(rows[i] == ("done", 1, False) for i in range(10) if i not in (3, 5))


async def test_the_worker_runs_its_timers_and_resources_and_stops_them(infra: Infra, engine: AsyncEngine) -> None:
    from litestar.testing import AsyncTestClient

    from kit.periodic import Periodic
    from kit.resources import Resource
    from kit.settings import ServiceSettings
    from kit.worker import create_worker_app

    ticks: list[object] = []
    closed: list[str] = []

    async def close() -> None:
        closed.append("thing")

    async def ping() -> None:
        return None

    def timers(ctx: Any) -> list[Periodic]:
        thing = ctx.resources["thing"]

        async def tick() -> None:
            ticks.append(thing)

        return [Periodic("tick", tick, interval=0.05)]

    settings = ServiceSettings(
        database_url=engine.url.render_as_string(hide_password=False), kafka_bootstrap_servers=infra.kafka_bootstrap
    )
    thing = object()
    app = create_worker_app(
        service="kit-test",
        settings=settings,
        tasks=timers,
        resources=[Resource("thing", thing, check=ping, close=close)],
    )
    async with AsyncTestClient(app) as client:
        ready = await client.get("/health/ready")
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "thing": "ok"}
        for _ in range(100):
            if len(ticks) >= 3:
                break
            await asyncio.sleep(0.05)
    assert len(ticks) >= 3
    assert all(t is thing for t in ticks)
    assert closed == ["thing"]
    stopped = len(ticks)
    await asyncio.sleep(0.2)
    assert len(ticks) == stopped


async def test_worker_liveness_fails_when_a_background_task_dies(infra: Infra, engine: AsyncEngine) -> None:
    """A worker whose timer (or relay, or consumer) died still answers HTTP; /health/live must say so."""
    from litestar.testing import AsyncTestClient

    from kit.settings import ServiceSettings
    from kit.worker import create_worker_app

    release = asyncio.Event()

    async def crashes() -> None:
        await release.wait()
        raise RuntimeError("a bug outside any try")

    settings = ServiceSettings(
        database_url=engine.url.render_as_string(hide_password=False), kafka_bootstrap_servers=infra.kafka_bootstrap
    )
    app = create_worker_app(service="kit-test", settings=settings, tasks=lambda ctx: [crashes()])
    async with AsyncTestClient(app) as client:
        alive = await client.get("/health/live")
        assert (alive.status_code, alive.json()) == (200, {"status": "ok"})
        release.set()
        for _ in range(100):
            live = await client.get("/health/live")
            if live.status_code != 200:
                break
            await asyncio.sleep(0.02)
        assert live.status_code == 503
        assert live.json()["status"] == "dead"
        assert [d for d in live.json()["dead"] if "crashes" in d], live.json()
        assert "outbox relay" not in live.json()["dead"]  # the rest still runs
