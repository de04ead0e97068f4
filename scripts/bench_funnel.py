"""`just bench funnel`: the funnel board over 200,000 deals of one clinic, and event -> deal stage latency.

Starts its own stack on free ports in a temporary folder (embedded PostgreSQL, Valkey, Tansu; the gateway, the
funnel api and the funnel worker only), logs in as the default admin through the gateway, writes N
Arrived-and-repeat deals of that clinic into the stack's funnel database with COPY (stages weighted
20/10/35/25/5/5 %, 30 % with one of 20 curators, 40 % with a future booking, plan states none/created/signed/
completed 30/20/40/10 %, last activity up to 16 months back, 0.3 open tasks per deal, due -200..+200 h), rebuilds
the board counters (Repository.recount) and then, one request at a time after 3 warm-up rounds, for every filter:

  1. GET /api/v1/funnel/pipelines/{id}/board through the gateway (what the console does),
  2. the same GET straight to the funnel api (no gateway hop),
  3. the board use case in-process (funnel.services.board, the old figure of this bench),
  4. the SQL alone: the statements the use case sent, replayed with asyncpg in one read-only snapshot;

and the bare ceiling of the HTTP path in the same run: GET /api/v1/funnel/settings (one one-row query) through
the gateway and direct. Then event -> deal latency: at an offered --rate events/s for --lag-seconds, it
publishes to the broker, as scheduling and payments would, a mix of
  - appointment.booked for deals *Interrupted* (a signed plan, a visit done after it, no future booking) ->
    the deal is *In treatment*,
  - patient.arrived of new patients -> their deal is open in *New*,
  - payment.confirmed for patients with a deal -> the payment is on the deal,
and times publish -> the change visible in the funnel database (polled every 50 ms), with the broker's own
publish -> consume latency at the same rate on a topic of its own as the ceiling, and the CPU each process of the
stack used per event in that window (from /proc, as the other benches: the figure a loaded machine blurs least).

Before that, statements per event: each kind handled in-process as the worker does (funnel's unit of work, the
batch in one transaction: inbox, handlers, commit), for a batch of 1 and of --batch events, counting every
statement sent (BEGIN and COMMIT included) and the CPU ms of this process per event.

    just bench funnel                                   # 200,000 deals, 50 rounds, 200 events/s for 20 s
    just bench funnel --deals 50000 --rounds 20 --lag-seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import bench_intake
import httpx
import msgspec
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from contracts import Event, EventMeta, to_headers
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1, PatientArrivedV1
from devkit.infra import ManagedProcess, free_port
from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, ROOT, ProcessSpec, Stack
from funnel import services as cases
from funnel.domain import ACTIVE_DAYS, ARRIVED_STAGES, PLAN_STATES
from funnel.repository import Repository
from funnel.services.work import FunnelUnitOfWork
from kit import migrations
from kit.auth import Principal
from kit.db import make_engine, uow_factory
from kit.messaging import FETCH_MAX_WAIT_MS, ensure_topics, make_producer
from kit.outbox import plain_dsn

PROCESSES = ("gateway-api", "funnel-api", "funnel-worker")
PROC = "proc-bench"
FILTERS: dict[str, dict[str, Any]] = {
    "no filter": {},
    "by curator": {"curator_id": "curator"},
    "one stage": {"stage_id": "stage"},
    "overdue tasks": {"overdue": True},
    "no future booking": {"no_future_booking": True},
    "plan signed": {"plan_state": "signed"},
    "inactive patients": {"activity": "inactive"},
}


class FunnelStack(Stack):
    """The stack with the gateway routing to funnel only: the gateway is ready once what it routes to answers,
    and the other services would otherwise share the 2 cores with what is measured. The proxy is the same."""

    _starting: str = "funnel-worker"

    def add_workers(self, count: int) -> list[str]:
        """`count` funnel workers in all (one consumer group per topic, over its partitions): the others'
        names, each with a port of its own (`--workers`)."""
        base = self.specs["funnel-worker"]
        names = [f"funnel-worker-{i}" for i in range(2, count + 1)]
        for name in names:
            self.specs[name] = ProcessSpec(name, base.module, list(base.command), free_port(), base.service)
        return names

    def env(self) -> dict[str, str]:
        env = super().env()
        env["GATEWAY_ROUTES"] = f"funnel={self.url('funnel-api')}"
        env["GATEWAY_PUBLIC_ROUTES"] = "public/funnel=funnel"
        # The stack names one port per service's worker: each funnel worker gets its own.
        env["FUNNEL_WORKER_PORT"] = str(self.specs[self._starting].port)
        return env

    def start_process(self, name: str) -> ManagedProcess:
        self._starting = name if name.startswith("funnel-worker") else "funnel-worker"
        try:
            return super().start_process(name)
        finally:
            self._starting = "funnel-worker"


def _ms(samples: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples, n=100)
    return {"p50": round(statistics.median(samples), 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


# --- seeding ---------------------------------------------------------------------------------------------
async def seed(url: str, tenant: str, pipeline_id: str, stage_ids: dict[str, str], n: int, curators: list[str]) -> None:
    conn = await asyncpg.connect(plain_dsn(url))
    rng = random.Random(7)
    now = datetime.now(UTC)
    keys = [s.key for s in ARRIVED_STAGES]
    weights = [20, 10, 35, 25, 5, 5]
    deals, tasks = [], []
    for i in range(n):
        key = rng.choices(keys, weights)[0]
        deal_id = str(uuid.uuid4())
        at = now - timedelta(minutes=rng.randint(0, 700_000))
        booking = now + timedelta(days=rng.randint(1, 60)) if rng.random() < 0.4 else None
        due = None
        if rng.random() < 0.3:
            due = now + timedelta(hours=rng.randint(-200, 200))
            # A past-due task was marked overdue when it passed (the worker's task.overdue long since sent).
            tasks.append(
                (
                    str(uuid.uuid4()),
                    tenant,
                    deal_id,
                    "call",
                    "Ligar",
                    due,
                    "bench",
                    at,
                    due if due < now else None,
                )
            )
        deals.append(
            (
                deal_id, tenant, pipeline_id, "arrived", stage_ids[key], key, at, str(uuid.uuid4()), f"Paciente {i}",
                rng.choice(curators) if rng.random() < 0.3 else None, rng.randint(0, 20_000), booking,
                booking is not None, at, at, rng.choices(PLAN_STATES, [30, 20, 40, 10])[0], at, due,
            )
        )  # fmt: skip
    await conn.copy_records_to_table("deals", records=deals, columns=DEAL_COLUMNS)
    await conn.copy_records_to_table(
        "tasks",
        records=tasks,
        columns=["id", "tenant_id", "deal_id", "kind", "title", "due_at", "created_by", "created_at", "overdue_at"],
    )
    await conn.close()


DEAL_COLUMNS = [
    "id", "tenant_id", "pipeline_id", "kind", "stage_id", "stage_key", "stage_since", "patient_id", "name",
    "curator_id", "amount", "next_booking_at", "booked", "created_at", "updated_at", "plan_state",
    "last_activity_at", "next_due_at",
]  # fmt: skip


async def seed_interrupted(url: str, tenant: str, pipeline_id: str, stage_id: str, n: int) -> list[str]:
    """N deals *Interrupted* by their facts: a signed plan of two visits, one done after signing, none booked."""
    conn = await asyncpg.connect(plain_dsn(url))
    now = datetime.now(UTC)
    signed, seen = now - timedelta(days=40), now - timedelta(days=30)
    patients, deals, plans, items, visits = [], [], [], [], []
    for i in range(n):
        deal_id, plan_id, patient = str(uuid.uuid4()), str(uuid.uuid4()), f"bench-{uuid.uuid4()}"
        patients.append(patient)
        deals.append(
            (
                deal_id, tenant, pipeline_id, "arrived", stage_id, "interrupted", seen, patient, f"Interrompido {i}",
                None, 1000, None, False, signed, seen, "signed", seen, None,
            )
        )  # fmt: skip
        plans.append((plan_id, tenant, deal_id, "Plano", "BRL", 1000, "signed", tenant, signed, signed))
        items.append((str(uuid.uuid4()), plan_id, 0, 1, "Implante", PROC, 2, 500, 0))
        visits.append((tenant, f"v-{deal_id}", patient, seen, json.dumps([PROC])))
    await conn.copy_records_to_table("deals", records=deals, columns=DEAL_COLUMNS)
    await conn.copy_records_to_table(
        "plans",
        records=plans,
        columns=["id", "tenant_id", "deal_id", "title", "currency", "total", "status", "created_by", "created_at",
                 "signed_at"],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "plan_items",
        records=items,
        columns=["id", "plan_id", "position", "stage", "procedure", "procedure_id", "quantity", "price", "discount"],
    )
    await conn.copy_records_to_table(
        "visits", records=visits, columns=["tenant_id", "appointment_id", "patient_id", "completed_at", "procedures"]
    )
    await conn.close()
    return patients


# --- the board -------------------------------------------------------------------------------------------
async def timed(rounds: int, call: Callable[[int], Awaitable[None]]) -> list[float]:
    samples = []
    for i in range(rounds + 3):
        t0 = time.perf_counter()
        await call(i)
        if i >= 3:
            samples.append((time.perf_counter() - t0) * 1000)
    return samples


async def board(stack: Stack, token: str, tenant: str, pipeline_id: str, rounds: int) -> dict[str, Any]:
    url = stack.database_url("funnel")
    engine = make_engine(url)
    uow = uow_factory(engine, "funnel", FunnelUnitOfWork)
    admin = Principal(
        user_id=str(uuid.uuid4()), tenant_id=tenant, email="a@b.c", permissions=frozenset({"funnel:admin"})
    )
    conn = await asyncpg.connect(plain_dsn(url))
    curators = [
        r["curator_id"] for r in await conn.fetch("SELECT DISTINCT curator_id FROM deals WHERE curator_id IS NOT NULL")
    ]
    curators = sorted(str(c) for c in curators)
    stage_ids = sorted(
        str(r["id"]) for r in await conn.fetch("SELECT id FROM stages WHERE pipeline_id = $1", pipeline_id)
    )
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        captured.append((statement, parameters))

    def params(name: str, i: int) -> dict[str, Any]:
        extra = FILTERS[name]
        return {
            "curator_id": curators[i % len(curators)] if "curator_id" in extra else None,
            "stage_id": stage_ids[i % len(stage_ids)] if "stage_id" in extra else None,
            "overdue": bool(extra.get("overdue")),
            "no_future_booking": bool(extra.get("no_future_booking")),
            "plan_state": extra.get("plan_state"),
            "activity": extra.get("activity"),
        }

    headers = {"authorization": f"Bearer {token}"}
    out: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=60.0, headers=headers) as http:
        for name in FILTERS:
            row: dict[str, Any] = {}
            for path, base in (("gateway", stack.gateway_url), ("funnel api", stack.url("funnel-api"))):

                async def get(i: int, base: str = base, name: str = name) -> None:
                    query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params(name, i).items() if v}
                    answer = await http.get(f"{base}/api/v1/funnel/pipelines/{pipeline_id}/board", params=query)
                    answer.raise_for_status()

                row[path] = _ms(await timed(rounds, get))

            async def use_case(i: int, name: str = name) -> None:
                await cases.board(uow, admin, pipeline_id, now=datetime.now(UTC), per_stage=50, **params(name, i))

            row["use case"] = _ms(await timed(rounds, use_case))
            # The SQL alone: what one use-case call sent (per curator/stage the same shapes), replayed raw.
            shapes = []
            for i in range(len(curators) if "curator_id" in FILTERS[name] else len(stage_ids)):
                captured.clear()
                event.listen(engine.sync_engine, "before_cursor_execute", capture)
                await cases.board(uow, admin, pipeline_id, now=datetime.now(UTC), per_stage=50, **params(name, i))
                event.remove(engine.sync_engine, "before_cursor_execute", capture)
                shapes.append([(s, p) for s, p in captured if not s.startswith(("BEGIN", "SET TRANSACTION"))])

            async def sql(i: int, shapes: list[list[tuple[str, Any]]] = shapes) -> None:
                async with conn.transaction(isolation="repeatable_read", readonly=True):
                    for statement, parameters in shapes[i % len(shapes)]:
                        await conn.fetch(statement, *parameters)

            row["SQL alone"] = _ms(await timed(rounds, sql))
            row["gateway / SQL alone p95"] = round(row["gateway"]["p95"] / row["SQL alone"]["p95"], 2)
            out[f"board, {name}"] = row
            print(f"board, {name}: {json.dumps(row)}", flush=True)
        ceiling: dict[str, Any] = {}
        for path, base in (("gateway", stack.gateway_url), ("funnel api", stack.url("funnel-api"))):

            async def trivial(i: int, base: str = base) -> None:
                (await http.get(f"{base}/api/v1/funnel/settings")).raise_for_status()

            ceiling[path] = _ms(await timed(rounds, trivial))
        out["ceiling: GET /api/v1/funnel/settings"] = ceiling
        print(f"ceiling: {json.dumps(ceiling)}", flush=True)
    await conn.close()
    await engine.dispose()
    return out


# --- event -> deal -----------------------------------------------------------------------------------------
def record(event_: Event, tenant: str) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    meta = meta_of(event_, tenant)
    return event_.TOPIC, msgspec.json.encode(event_), event_.aggregate_id().encode(), to_headers(meta)


def meta_of(event_: Event, tenant: str) -> EventMeta:
    return EventMeta(
        id=str(uuid.uuid4()), source="bench", type=event_.TYPE, time=datetime.now(UTC),
        subject=event_.aggregate_id(), tenant_id=tenant, correlation_id=str(uuid.uuid4()),
    )  # fmt: skip


def booked(patient: str) -> AppointmentBookedV1:
    now = datetime.now(UTC)
    starts = now + timedelta(days=7)
    return AppointmentBookedV1(
        appointment_id=str(uuid.uuid4()), person=Person(patient_id=patient, name="Bench"), branch_id="b",
        branch_name="Centro", professional_id="p", professional_name="Dr. Ana", procedure_id=PROC,
        procedure_name="Implante", starts_at=starts, ends_at=starts + timedelta(hours=1),
        timezone="America/Sao_Paulo", source="staff", booked_by="bench", booked_at=now,
    )  # fmt: skip


def arrived(patient: str) -> PatientArrivedV1:
    return PatientArrivedV1(
        appointment_id=str(uuid.uuid4()), person=Person(patient_id=patient, name="Bench"), branch_id="b",
        professional_id="p", procedure_id=PROC, arrived_at=datetime.now(UTC), first_visit=True, checked_in_by="bench",
    )  # fmt: skip


def paid(patient: str) -> PaymentConfirmedV1:
    return PaymentConfirmedV1(
        payment_id=str(uuid.uuid4()), person=Person(patient_id=patient, name="Bench"), procedure_id=PROC,
        amount="150.00", currency="BRL", method="pix", provider="mercadopago", provider_payment_id="bench",
        paid_at=datetime.now(UTC),
    )  # fmt: skip


#: kind -> (the event for a patient, what shows the funnel handled it: SQL over the pending patients)
KINDS: dict[str, tuple[Callable[[str], Event], str]] = {
    "appointment.booked -> Interrupted deal In treatment": (
        booked, "SELECT patient_id FROM deals WHERE tenant_id = $1 AND kind = 'arrived' AND patient_id = ANY($2) "
        "AND stage_key = 'in_treatment'",
    ),
    "patient.arrived -> new deal in New": (
        arrived, "SELECT patient_id FROM deals WHERE tenant_id = $1 AND kind = 'arrived' AND patient_id = ANY($2)",
    ),
    "payment.confirmed -> paid on the deal": (
        paid, "SELECT patient_id FROM deals WHERE tenant_id = $1 AND kind = 'arrived' AND patient_id = ANY($2) "
        "AND paid > 0",
    ),
}  # fmt: skip


async def lag(
    stack: Stack, tenant: str, pipeline_id: str, interrupted: str, rate: int, seconds: int, profile: Path | None = None
) -> dict[str, Any]:
    assert stack.infra is not None
    url = stack.database_url("funnel")
    bootstrap = stack.infra.kafka_bootstrap
    await ensure_topics(bootstrap)
    per_kind = rate * seconds // len(KINDS) + 1
    targets: dict[str, list[str]] = {}
    for kind in KINDS:
        if kind.startswith(("appointment.booked", "payment")):
            targets[kind] = await seed_interrupted(url, tenant, pipeline_id, interrupted, per_kind + 1)
        else:
            targets[kind] = [f"bench-new-{uuid.uuid4()}" for _ in range(per_kind + 1)]
    engine = make_engine(url)
    async with uow_factory(engine, "funnel")() as work:
        await Repository(work.session).recount(tenant)
        await work.commit()
    await engine.dispose()
    conn = await asyncpg.connect(plain_dsn(url))
    cpu_before = bench_intake.cpu_sample(stack)
    producer = make_producer(bootstrap, idempotent=False, client_id="bench-funnel")
    await producer.start()
    # Warm-up: one of each, so the worker's consumers have joined their groups before the clock starts.
    for kind, (make, check) in KINDS.items():
        warm = targets[kind].pop()
        topic, value, key, headers = record(make(warm), tenant)
        await producer.send_and_wait(topic, value, key=key, headers=headers)
        deadline = time.monotonic() + 300
        while not await conn.fetch(check, tenant, [warm]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the worker never handled {kind}; see {stack.log_dir}")
            await asyncio.sleep(0.1)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    kind_of: dict[str, str] = {}
    plan = [(kind, p) for i in range(per_kind) for kind in KINDS for p in [targets[kind][i]]][: rate * seconds]

    async def offer() -> None:
        interval = 1.0 / rate
        t0 = time.perf_counter()
        for i, (kind, patient) in enumerate(plan):
            await asyncio.sleep(max(0.0, t0 + i * interval - time.perf_counter()))
            topic, value, key, headers = record(KINDS[kind][0](patient), tenant)
            kind_of[patient] = kind
            sent[patient] = time.perf_counter()
            await producer.send(topic, value, key=key, headers=headers)
        await producer.flush()

    async def watch() -> None:
        deadline = time.perf_counter() + seconds + 120
        while time.perf_counter() < deadline and len(seen) < len(plan):
            for kind, (_, check) in KINDS.items():
                pending = [p for p, k in kind_of.items() if k == kind and p not in seen]
                if pending:
                    rows = await conn.fetch(check, tenant, pending)
                    now = time.perf_counter()
                    for r in rows:
                        seen.setdefault(r["patient_id"], now)
            await asyncio.sleep(0.05)

    profiler = bench_intake.Profiler(stack, profile, names=("funnel-worker",)) if profile else None
    if profiler:
        profiler.start()
    workers = [name for name in stack.processes if name.startswith("funnel-worker")]
    polls_before = await poll_sums([stack.url(name) for name in workers])
    began = time.perf_counter()
    await asyncio.gather(offer(), watch())
    offered_for = time.perf_counter() - began
    polls = polls_between(polls_before, await poll_sums([stack.url(name) for name in workers]))
    profiles = profiler.stop(len(seen)) if profiler else None
    await producer.stop()
    await conn.close()
    usage = bench_intake.cpu_usage(cpu_before, bench_intake.cpu_sample(stack))
    handled = max(len(seen), 1)
    if profiles:
        out_profiles = bench_intake.scale_profiles(profiles, usage, handled)
    per = {name: round(v * 1000 / handled, 2) for name, v in usage["cpu_s"].items() if v >= 0.005}
    out: dict[str, Any] = {"offered_events_per_s": rate, "events": len(plan), "seconds": round(offered_for, 1)}
    out["cpu ms per handled event"] = per
    out["cpu window"] = {k: v for k, v in usage.items() if k != "cpu_s"}
    out["worker polls"] = polls
    every = []
    for kind in KINDS:
        lags = [(seen[p] - sent[p]) * 1000 for p, k in kind_of.items() if k == kind and p in seen]
        every += lags
        missing = sum(1 for p, k in kind_of.items() if k == kind and p not in seen)
        out[kind] = {**(_ms(lags) if len(lags) > 1 else {}), "max": round(max(lags, default=0), 1), "missing": missing}
    out["all events"] = {**_ms(every), "max": round(max(every), 1)}
    out["ceiling: broker publish -> consume"] = await broker_ceiling(bootstrap, rate, min(seconds, 10))
    if profiles:
        out["profile"] = out_profiles
    return out


async def poll_sums(worker_urls: list[str]) -> dict[str, dict[str, float]]:
    """The workers' consumer poll histograms (kit.metrics), summed: per consumer, polls, records, seconds."""
    out: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=10.0) as http:
        for url in worker_urls:
            text = (await http.get(f"{url}/metrics")).text
            for family in text_string_to_metric_families(text):
                if family.name not in ("clinicflow_consumer_poll_records", "clinicflow_consumer_poll_seconds"):
                    continue
                what = "records" if family.name.endswith("records") else "seconds"
                for sample in family.samples:
                    sums = out.setdefault(sample.labels["consumer"], {"polls": 0.0, "records": 0.0, "seconds": 0.0})
                    if sample.name.endswith("_sum"):
                        sums[what] += sample.value
                    elif sample.name.endswith("_count") and what == "records":
                        sums["polls"] += sample.value
    return out


def polls_between(before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Per consumer that polled in the window: polls, mean records per poll, mean ms per poll (handle + commit)."""
    out = {}
    for consumer, now in after.items():
        was = before.get(consumer, {"polls": 0.0, "records": 0.0, "seconds": 0.0})
        polls = now["polls"] - was["polls"]
        if polls:
            out[consumer] = {
                "polls": int(polls),
                "records per poll": round((now["records"] - was["records"]) / polls, 1),
                "ms per poll": round((now["seconds"] - was["seconds"]) * 1000 / polls, 1),
            }
    return out


async def broker_ceiling(bootstrap: str, rate: int, seconds: int) -> dict[str, Any]:
    """The same rate of small records to a topic of its own and a plain consumer (no database, no inbox)."""
    topic = f"bench.funnel.ceiling.{uuid.uuid4().hex[:8]}"
    producer = make_producer(bootstrap, idempotent=False, client_id="bench-funnel-ceiling")
    await producer.start()
    await producer.send_and_wait(topic, b"warm", key=b"warm")
    # The services' own fetch wait (aiokafka's 500 ms default would measure the setting, not the broker).
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        group_id=None,
        fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
    )
    await consumer.start()
    sent: dict[bytes, float] = {}
    got: dict[bytes, float] = {}
    n = rate * seconds

    async def offer() -> None:
        t0 = time.perf_counter()
        for i in range(n):
            await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
            key = str(i).encode()
            sent[key] = time.perf_counter()
            await producer.send(topic, b"x" * 600, key=key)

    async def take() -> None:
        deadline = time.perf_counter() + seconds + 60
        while len(got) < n and time.perf_counter() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            now = time.perf_counter()
            for records in batches.values():
                for r in records:
                    if r.key in sent:
                        got.setdefault(r.key, now)

    await asyncio.gather(offer(), take())
    await consumer.stop()
    await producer.stop()
    lags = [(got[k] - sent[k]) * 1000 for k in sent if k in got]
    return {**_ms(lags), "max": round(max(lags), 1), "missing": n - len(lags)}


# --- statements per event --------------------------------------------------------------------------------
async def statements(stack: Stack, tenant: str, pipeline_id: str, interrupted: str, batch: int) -> dict[str, Any]:
    """Each kind of event handled in-process as the worker handles a batch (kit.messaging.IdempotentConsumer:
    one unit of work, the inbox rows in one statement, each handler, the commit), counting statements."""
    url = stack.database_url("funnel")
    engine = make_engine(url)
    uow = uow_factory(engine, "funnel", FunnelUnitOfWork)
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split(None, 1)[0].upper())

    def begun(_conn: Any) -> None:
        sent.append("BEGIN")

    def committed(_conn: Any) -> None:
        sent.append("COMMIT")

    out: dict[str, Any] = {}
    for size in (1, batch):
        for kind, (make, _) in KINDS.items():
            if kind.startswith("patient.arrived"):
                patients = [f"bench-stmt-{uuid.uuid4()}" for _ in range(size)]
            else:
                patients = await seed_interrupted(url, tenant, pipeline_id, interrupted, size)
            events = [make(p) for p in patients]
            metas = [meta_of(e, tenant) for e in events]
            sent.clear()
            for name, fn in (("before_cursor_execute", count), ("begin", begun), ("commit", committed)):
                event.listen(engine.sync_engine, name, fn)
            t0 = time.process_time()
            async with uow() as work:
                await work.claim_inbox_many("bench.funnel", [m.id for m in metas])
                for e, m in zip(events, metas, strict=True):
                    await cases.handle_event(work, e, m, clock=lambda: datetime.now(UTC))
                await work.commit()
            cpu = (time.process_time() - t0) * 1000
            for name, fn in (("before_cursor_execute", count), ("begin", begun), ("commit", committed)):
                event.remove(engine.sync_engine, name, fn)
            kinds: dict[str, int] = {}
            for verb in sent:
                kinds[verb] = kinds.get(verb, 0) + 1
            label = f"{kind.split(' ')[0]}, batch of {size}"
            out[label] = {
                "statements per event": round(len(sent) / size, 2),
                "by verb": kinds,
                "process cpu ms per event": round(cpu / size, 2),
            }
            print(f"statements, {label}: {json.dumps(out[label])}", flush=True)
    await engine.dispose()
    return out


# --- the run ---------------------------------------------------------------------------------------------------
async def prepare(stack: Stack, n: int) -> tuple[str, str, str, str]:
    """(token, tenant, Arrived-and-repeat pipeline id, its Interrupted stage id), the clinic's deals seeded."""
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60.0) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
        )
        login.raise_for_status()
        token = login.json()["access_token"]
        listed = await http.get("/api/v1/funnel/pipelines", headers={"authorization": f"Bearer {token}"})
        listed.raise_for_status()
    url = stack.database_url("funnel")
    conn = await asyncpg.connect(plain_dsn(url))
    pipeline = await conn.fetchrow("SELECT id, tenant_id FROM pipelines WHERE kind = 'arrived'")
    assert pipeline is not None, "listing the pipelines made the built-in ones"
    tenant, pipeline_id = str(pipeline["tenant_id"]), str(pipeline["id"])
    stage_ids = {
        r["key"]: str(r["id"])
        for r in await conn.fetch("SELECT key, id FROM stages WHERE pipeline_id = $1", pipeline["id"])
    }
    await conn.close()
    started = time.perf_counter()
    await seed(url, tenant, pipeline_id, stage_ids, n, [str(uuid.uuid4()) for _ in range(20)])
    engine = make_engine(url)
    # The steady state a running clinic is in: the worker's round has flipped `overdue` and `inactive` of the
    # deals whose time passed (else the measured window is the worker catching up on 100,000 flips).
    flipped = 1
    while flipped:
        async with uow_factory(engine, "funnel")() as work:
            repo = Repository(work.session)
            flipped = await repo.pass_overdue(datetime.now(UTC), limit=20_000)
            flipped += await repo.pass_inactive(datetime.now(UTC) - timedelta(days=ACTIVE_DAYS), limit=20_000)
            await work.commit()
    async with uow_factory(engine, "funnel")() as work:
        await Repository(work.session).recount(tenant)
        await work.commit()
    await engine.dispose()
    conn = await asyncpg.connect(plain_dsn(url))
    for table in ("deals", "tasks", "deal_counts"):
        await conn.execute(f"VACUUM ANALYZE {table}")
    await conn.close()
    print(f"seeded {n} deals in {time.perf_counter() - started:.1f}s", flush=True)
    return token, tenant, pipeline_id, stage_ids["interrupted"]


def worker_log(path: Path) -> dict[str, Any]:
    """How many warnings and errors the funnel worker logged (a failed batch is handled again record by record)."""
    levels: dict[str, int] = {}
    last: list[str] = []
    for line in path.read_text(errors="replace").splitlines() if path.exists() else []:
        if line.startswith("{"):
            level = str(msgspec.json.decode(line).get("level", "")) if line.endswith("}") else ""
            if level in ("warning", "error", "critical"):
                levels[level] = levels.get(level, 0) + 1
                last = [*last[-2:], line[:300]]
    return {"warnings_and_errors": levels, "last": last}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--lag-seconds", type=int, default=20)
    parser.add_argument("--skip-board", action="store_true", help="only event -> deal latency")
    parser.add_argument("--batch", type=int, default=50, help="events per batch in the statements-per-event phase")
    parser.add_argument("--keep-logs", type=Path, help="copy the stack's logs here before removing it")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="py-spy the funnel worker during event -> deal into DIR"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="funnel worker processes in the event -> deal phase (scale-out)"
    )
    args = parser.parse_args(argv)
    state_dir = Path(tempfile.mkdtemp(prefix="clinicflow-bench-funnel-"))
    stack = FunnelStack(state_dir, free_ports=True)
    stack.key_store = False  # privacy-api is not started: the events go in clear
    report: dict[str, Any] = {"args": vars(args)}
    try:
        print(f"starting the stack in {state_dir} ...", flush=True)
        infra = stack.start_infra()
        for service in ("gateway", "funnel"):
            asyncio.run(migrations.ensure_database(infra.postgres_url, stack.database_name(service)))
            migrations.upgrade(ROOT / "services" / service, stack.database_url(service))
        names = [*PROCESSES, *stack.add_workers(args.workers)]
        for name in names:
            stack.start_process(name)
        stack.wait_ready(names)
        token, tenant, pipeline_id, interrupted = asyncio.run(prepare(stack, args.deals))
        if not args.skip_board:
            report["board"] = asyncio.run(board(stack, token, tenant, pipeline_id, args.rounds))
        report["statements per event"] = asyncio.run(statements(stack, tenant, pipeline_id, interrupted, args.batch))
        report["event -> deal"] = asyncio.run(
            lag(stack, tenant, pipeline_id, interrupted, args.rate, args.lag_seconds, args.profile)
        )
    finally:
        stack.stop()
        report["worker log"] = worker_log(stack.log_dir / "funnel-worker.log")
        if args.keep_logs:
            shutil.copytree(stack.log_dir, args.keep_logs, dirs_exist_ok=True)
        shutil.rmtree(state_dir, ignore_errors=True)
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
