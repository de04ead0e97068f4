"""`just bench analytics`: the conversion and revenue reports over 1,000,000 leads and 300,000 payments of one
clinic, and the event -> report lag at an offered 200 events/s.

Starts its own embedded servers (devkit), migrates an analytics database and writes the projections with COPY
(one clinic, leads over a year across the channels and sources, 40 % booked, 25 % arrived, 300,000 payments,
2 % of them naming only the patient), computes the facts and daily rollups from them once (as the migration
does), then times the report use cases (analytics.services.reports) over the last 30 days and over the whole
year, after 3 warm-up rounds: by channel and source (the marketing rollups and the edge days' facts), by doctor, by
branch, by doctor and procedure (the rollups by doctor and branch), and by channel and doctor (no family of
rollups keeps both: the facts alone); the bare ceiling is a plain count of the period's leads in the same
database, timed in the same rounds. The lag part runs the worker's consumers and its fact refresher in-process
against the embedded broker, offers `lead.created` events at a steady rate and measures, per event, the time
from its send until the report's tables show it (the lead facts; the rollups move in the same transaction).

    just bench analytics                               # 1,000,000 leads, 300,000 payments, 30 rounds, 20 s of lag
    just bench analytics --leads 100000 --payments 30000 --rounds 10 --lag-seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import msgspec
from aiokafka import AIOKafkaConsumer

from analytics import consumers
from analytics.app import timers
from analytics.repository.facts import FactRepository
from analytics.services import reports as cases
from analytics.services.projection import ProjectionUnitOfWork
from analytics.services.work import AnalyticsUnitOfWork
from analytics.settings import get_settings
from contracts import EventMeta, to_headers
from contracts.claims import ANALYTICS_ALL, ANALYTICS_READ
from contracts.leads import LeadCreatedV1
from devkit import infra as devinfra
from kit import migrations
from kit.auth import Principal
from kit.db import make_engine, uow_factory
from kit.messaging import ensure_topics, make_producer
from kit.outbox import plain_dsn
from kit.periodic import PeriodicRunner
from kit.worker import WorkerContext

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = [
    ("call", None),
    ("message", "whatsapp"),
    ("web_form", None),
    ("tilda", None),
    ("online_booking", None),
    ("manual", None),
]
SOURCES = ["google_search", "instagram_ads", "whatsapp", "medical_recommendation", "website_form", "walk_in"]
CHANNEL_OF = {
    "call": "call",
    "message": "whatsapp",
    "web_form": "site_form",
    "tilda": "tilda",
    "online_booking": "online_booking",
    "manual": "manual",
}


async def seed(url: str, tenant: str, n_leads: int, n_payments: int) -> None:
    conn = await asyncpg.connect(plain_dsn(url))
    rng = random.Random(15)
    now = datetime.now(UTC)
    started = time.perf_counter()
    doctors = [str(uuid.uuid4()) for _ in range(20)]
    branches = [str(uuid.uuid4()) for _ in range(3)]
    leads, appts, booked_leads = [], [], []
    for i in range(n_leads):
        lead_id = str(uuid.uuid4())
        created = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        intake, _ = rng.choice(CHANNELS)
        patient = str(uuid.uuid4()) if rng.random() < 0.3 else None
        leads.append(
            (
                tenant,
                lead_id,
                created,
                f"Lead {i}",
                f"+55119{i:08d}",
                intake,
                rng.choice(SOURCES),
                created,
                "PENDING_CONTACT",
                patient,
                CHANNEL_OF[intake],
            )
        )
        if rng.random() < 0.4:
            booked = created + timedelta(hours=rng.randint(1, 72))
            starts = booked + timedelta(days=rng.randint(1, 14))
            arrived = starts if rng.random() < 0.62 else None
            d, b = rng.choice(doctors), rng.choice(branches)
            appt = str(uuid.uuid4())
            appts.append((tenant, appt, lead_id, patient, booked, d, b, booked, starts, d, b, arrived))
            booked_leads.append((lead_id, patient, appt, starts))
    await conn.copy_records_to_table(
        "leads",
        records=leads,
        columns=[
            "tenant_id",
            "lead_id",
            "created_at",
            "name",
            "phone",
            "intake",
            "source",
            "status_at",
            "status",
            "patient_id",
            "channel",
        ],
    )
    await conn.copy_records_to_table(
        "appointments",
        records=appts,
        columns=[
            "tenant_id",
            "appointment_id",
            "lead_id",
            "patient_id",
            "booked_at",
            "professional_id",
            "branch_id",
            "slot_at",
            "starts_at",
            "slot_professional_id",
            "slot_branch_id",
            "arrived_at",
        ],
    )
    pays = []
    for _ in range(n_payments):
        lead_id, patient, appt, starts = rng.choice(booked_leads)
        only_patient = patient is not None and rng.random() < 0.02
        paid = starts + timedelta(hours=1)
        pays.append(
            (
                tenant,
                str(uuid.uuid4()),
                None if only_patient else lead_id,
                patient,
                appt,
                paid,
                Decimal(rng.choice(["150.00", "300.00", "900.00"])),
                "pix",
            )
        )
    await conn.copy_records_to_table(
        "payments",
        records=pays,
        columns=[
            "tenant_id",
            "payment_id",
            "lead_id",
            "patient_id",
            "appointment_id",
            "paid_at",
            "paid_amount",
            "method",
        ],
    )
    await conn.execute("ANALYZE")
    await conn.close()
    print(
        f"seeded {n_leads} leads, {len(appts)} appointments, {n_payments} payments "
        f"in {time.perf_counter() - started:.1f}s"
    )
    # The facts and rollups the consumers keep, computed once from the seeded projections (as the migration does).
    started = time.perf_counter()
    engine = make_engine(url)
    uow = uow_factory(engine, "analytics", AnalyticsUnitOfWork)
    async with uow() as work:
        await FactRepository(work.session).refresh_all(tenant)
        await work.commit()
    await engine.dispose()
    conn = await asyncpg.connect(plain_dsn(url))
    # What autovacuum does after such a load (visibility map for index-only scans, statistics); done here so it
    # does not run in the middle of the measured rounds.
    await conn.execute("VACUUM ANALYZE")
    counted = {
        t: await conn.fetchval(f"SELECT count(*) FROM {t}")
        for t in ("lead_rollups", "lead_staff_rollups", "revenue_rollups", "revenue_staff_rollups")
    }
    await conn.close()
    print(f"facts and rollup rows {counted} computed in {time.perf_counter() - started:.1f}s")


def _q(samples: list[float]) -> tuple[float, float, float]:
    q = statistics.quantiles(samples, n=100) if len(samples) > 1 else samples * 99
    return statistics.median(samples), q[94], q[98]


def _row(name: str, samples: list[float], bare: list[float]) -> str:
    p50, p95, p99 = _q(samples)
    b50, b95, _ = _q(bare)
    return f"| {name} | {p50:.0f} | {p95:.0f} | {p99:.0f} | {b50:.0f} / {b95:.0f} | {p95 / b95:.2f} |"


async def reports(url: str, tenant: str, rounds: int) -> None:
    """Each query's rounds alternate with the bare ceiling's (a plain count of the period's leads), so both see
    the same load; the last column is the query's p95 over the ceiling's."""
    engine = make_engine(url)
    uow = uow_factory(engine, "analytics", AnalyticsUnitOfWork)
    manager = Principal(
        user_id=str(uuid.uuid4()), tenant_id=tenant, email="b@x", permissions=frozenset({ANALYTICS_READ, ANALYTICS_ALL})
    )
    today = datetime.now(UTC).date()
    periods = {"30 days": today - timedelta(days=29), "the year": today - timedelta(days=365)}
    print("| query | p50 ms | p95 ms | p99 ms | bare ceiling p50 / p95 ms | p95 / ceiling p95 |")
    print("|---|---|---|---|---|---|")
    conn = await asyncpg.connect(plain_dsn(url))
    for label, first in periods.items():
        start = datetime.combine(first, datetime.min.time(), UTC)
        for name, case, group in (
            ("conversion by channel", cases.conversion, ("channel",)),
            ("revenue by channel and source", cases.revenue, ("channel", "source")),
            ("conversion by doctor", cases.conversion, ("doctor",)),
            ("conversion by branch", cases.conversion, ("branch",)),
            ("revenue by doctor and procedure", cases.revenue, ("doctor", "procedure")),
            ("revenue by branch", cases.revenue, ("branch",)),
            ("conversion by channel and doctor (the lead facts, no rollup)", cases.conversion, ("channel", "doctor")),
        ):
            samples, bare = [], []
            for i in range(rounds + 3):
                t0 = time.perf_counter()
                await conn.fetchval(
                    "SELECT count(*) FROM leads WHERE tenant_id = $1 AND created_at >= $2", tenant, start
                )
                t1 = time.perf_counter()
                await case(uow, manager, cases.Query(first=first, last=today, group_by=group))
                if i >= 3:
                    bare.append((t1 - t0) * 1000)
                    samples.append((time.perf_counter() - t1) * 1000)
            print(_row(f"{name}, {label}", samples, bare), flush=True)
    await conn.close()
    await engine.dispose()


def _record(lead: str, tenant: str, i: int) -> tuple[str, bytes, bytes, list[tuple[str, bytes]]]:
    event = LeadCreatedV1(
        lead_id=lead,
        name=f"Lag {i}",
        phone=f"+55118{i:08d}",
        source="google_search",
        created_at=datetime.now(UTC),
        channel="web_form",
    )
    meta = EventMeta(
        id=str(uuid.uuid4()),
        source="bench",
        type=event.TYPE,
        time=datetime.now(UTC),
        subject=lead,
        tenant_id=tenant,
        correlation_id=lead,
    )
    return event.TOPIC, msgspec.json.encode(event), lead.encode(), to_headers(meta)


async def lag(url: str, bootstrap: str, rate: int, seconds: int) -> None:
    engine = make_engine(url)
    uow = uow_factory(engine, "analytics", ProjectionUnitOfWork)  # the worker's (app.create_worker)
    await ensure_topics(bootstrap)
    producer = make_producer(bootstrap, idempotent=False, client_id="bench-analytics")
    await producer.start()
    ctx = WorkerContext("analytics", get_settings(), engine, uow, producer)
    live = consumers.build(ctx)
    for c in live:
        await c.start(bootstrap)
    refresher = PeriodicRunner("analytics", timers(ctx))  # the worker's fact refresher (app.create_worker)
    refresher.start()
    tenant = str(uuid.uuid4())
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    conn = await asyncpg.connect(plain_dsn(url))
    # Warm-up: the consumers join their groups (a rebalance of seconds) before the measured stream starts.
    warm = str(uuid.uuid4())
    topic, value, key, headers = _record(warm, tenant, 0)
    await producer.send_and_wait(topic, value, key=key, headers=headers)
    while not await conn.fetchval("SELECT 1 FROM lead_facts WHERE lead_id = $1", warm):
        await asyncio.sleep(0.1)

    async def offer() -> None:
        interval = 1.0 / rate
        t0 = time.perf_counter()
        for i in range(rate * seconds):
            await asyncio.sleep(max(0.0, t0 + i * interval - time.perf_counter()))
            lead = str(uuid.uuid4())
            topic, value, key, headers = _record(lead, tenant, i)
            sent[lead] = time.perf_counter()
            await producer.send(topic, value, key=key, headers=headers)

    async def watch() -> None:  # what a report reads: the lead facts (the refresher moves the rollups with them)
        deadline = time.perf_counter() + seconds + 30
        while time.perf_counter() < deadline and (len(seen) < rate * seconds):
            rows = await conn.fetch(
                "SELECT lead_id FROM lead_facts WHERE tenant_id = $1 AND lead_id <> $2", tenant, warm
            )
            now = time.perf_counter()
            for r in rows:
                seen.setdefault(r["lead_id"], now)
            await asyncio.sleep(0.05)

    # The bare ceiling of the lag: the broker alone, a plain consumer (no group, no database) of the same topic
    # receiving the same records in the same run.
    bare: dict[str, float] = {}
    plain = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="latest")
    await plain.start()
    await plain.seek_to_end()
    for tp in plain.assignment():
        await plain.position(tp)

    async def receive() -> None:
        deadline = time.perf_counter() + seconds + 30
        while time.perf_counter() < deadline and len(bare) < rate * seconds:
            for records in (await plain.getmany(timeout_ms=100)).values():
                now = time.perf_counter()
                for r in records:
                    if r.key is not None:
                        bare.setdefault(r.key.decode(), now)

    await asyncio.gather(offer(), watch(), receive())
    await plain.stop()
    await refresher.stop()
    for c in live:
        await c.stop()
    await producer.stop()
    await conn.close()
    await engine.dispose()
    print(f"\n| event -> report lag at {rate} events/s for {seconds} s | p50 ms | p95 ms | p99 ms | max ms | missing |")
    print("|---|---|---|---|---|---|")
    p99s = []
    for name, got in (("lead.created -> lead facts and rollups", seen), ("bare ceiling: the broker alone", bare)):
        lags = sorted((got[k] - sent[k]) * 1000 for k in sent if k in got)
        q = statistics.quantiles(lags, n=100)
        p99s.append(q[98])
        print(f"| {name} | {statistics.median(lags):.0f} | {q[94]:.0f} | {q[98]:.0f} | {lags[-1]:.0f} "
              f"| {len(sent) - len(lags)} |")  # fmt: skip
    print(f"\np99 over the broker's p99: {p99s[0] / p99s[1]:.1f}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--payments", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--lag-seconds", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        infra = devinfra.start(Path(tmp))
        try:
            name = f"bench_analytics_{uuid.uuid4().hex[:8]}"
            asyncio.run(migrations.ensure_database(infra.postgres_url, name))
            url = migrations.database_url(infra.postgres_url, name)
            migrations.upgrade(ROOT / "services" / "analytics", url)
            tenant = str(uuid.uuid4())
            asyncio.run(seed(url, tenant, args.leads, args.payments))
            asyncio.run(reports(url, tenant, args.rounds))
            asyncio.run(lag(url, infra.kafka_bootstrap, args.rate, args.lag_seconds))
        finally:
            infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
