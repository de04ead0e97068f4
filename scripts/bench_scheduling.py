"""`just bench scheduling`: availability with 30 professionals over 14 days and 50,000 appointments, and the
reminder scheduler's throughput and due -> published latency.

Starts the whole system on free ports, sets up one branch with N professionals (07:00-21:00 every day, a lunch
break) and one 30-minute procedure through the API, writes the appointments straight into the scheduling
database with COPY, then:

- availability: sequential `GET /api/v1/scheduling/availability` for the branch over 14 days, through the
  gateway (p50/p95/p99, answer size), each followed by `GET /policy` (the bare ceiling: the smallest
  authenticated scheduling call through the gateway, in the same run); then the same with every request
  missing the api's busy-time cache (each window not covered by the one before);
- reminders: R reminder rows falling due at a steady rate (default 1,000/s) while the real worker runs;
  reports the dispatch rate and due -> published (outbox relay sent it to Kafka) p50/p99.

    just bench scheduling
    just bench scheduling --appointments 20000 --requests 50 --reminders 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Stack
from kit.outbox import plain_dsn

SP = ZoneInfo("America/Sao_Paulo")
API = "/api/v1/scheduling"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def appointment_rows(
    count: int, tenant_id: str, branch_id: str, procedure_id: str, pros: list[str], first_day: date, user: str
) -> list[tuple[Any, ...]]:
    """Non-overlapping 30-minute appointments spread over the professionals' working hours, in ~76% of slots."""
    rng = random.Random(7)
    slots_per_day = [h * 2 + m for h in range(7, 21) for m in (0, 1) if h != 12]  # 07:00-20:30 without lunch
    capacity = [(p, d, s) for d in range(400) for p in pros for s in slots_per_day]
    days_needed = count / (len(pros) * len(slots_per_day) * 0.76)
    pool = [c for c in capacity if c[1] < days_needed + 1]
    chosen = rng.sample(pool, min(count, len(pool)))
    now = datetime.now(UTC)
    rows = []
    for pro, day_index, half_hour in chosen:
        day = first_day + timedelta(days=day_index)
        start = datetime(day.year, day.month, day.day, half_hour // 2, 30 * (half_hour % 2), tzinfo=SP).astimezone(UTC)
        person = json.dumps(
            {
                "lead_id": None,
                "patient_id": None,
                "name": "Bench",
                "phone": "+5511900000000",
                "email": None,
                "locale": None,
            }
        )
        rows.append(
            (
                uuid.uuid4(),
                uuid.UUID(tenant_id),
                uuid.UUID(branch_id),
                uuid.UUID(pro),
                uuid.UUID(procedure_id),
                start,
                start + timedelta(minutes=30),
                "booked",
                "staff",
                person,
                False,
                "[]",
                user,
                now,
                now,
            )
        )
    return rows


async def load(dsn: str, rows: list[tuple[Any, ...]]) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "appointments",
            records=rows,
            columns=[
                "id",
                "tenant_id",
                "branch_id",
                "professional_id",
                "procedure_id",
                "starts_at",
                "ends_at",
                "status",
                "source",
                "person",
                "return_needed",
                "procedures_done",
                "booked_by",
                "created_at",
                "updated_at",
            ],
        )
        # as autovacuum would after a bulk insert: statistics and the visibility map (index-only scans)
        await conn.execute("VACUUM ANALYZE appointments")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def bench_reminders(
    dsn: str, tenant_id: str, appointment_ids: list[Any], total: int, rate: float
) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn)
    try:
        t0 = datetime.now(UTC) + timedelta(seconds=3)
        rows = [
            (
                uuid.uuid4(),
                uuid.UUID(tenant_id),
                appointment_ids[i % len(appointment_ids)],
                9000 + i,
                t0 + timedelta(seconds=i / rate),
                "pending",
            )
            for i in range(total)
        ]
        await conn.copy_records_to_table(
            "reminders",
            records=rows,
            columns=["id", "tenant_id", "appointment_id", "offset_minutes", "due_at", "status"],
        )
        deadline = time.monotonic() + 60 + total / rate
        query = (
            "SELECT r.due_at, o.published_at FROM outbox o JOIN reminders r ON r.id = "
            "(convert_from(o.payload, 'UTF8')::json->>'reminder_id')::uuid "
            "WHERE o.event_type = 'clinicflow.scheduling.reminder.due.v1' AND r.offset_minutes >= 9000"
        )
        while time.monotonic() < deadline:
            published = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE event_type = 'clinicflow.scheduling.reminder.due.v1' "
                "AND published_at IS NOT NULL"
            )
            if published >= total:
                break
            await asyncio.sleep(0.5)
        pairs = await conn.fetch(query)
    finally:
        await conn.close()
    done = [(r["due_at"], r["published_at"]) for r in pairs if r["published_at"] is not None]
    latencies = [(p - d).total_seconds() * 1000 for d, p in done]
    span = (max(p for _, p in done) - min(d for d, _ in done)).total_seconds() if done else 0
    return {
        "reminders": total,
        "offered_rate_per_s": rate,
        "published": len(done),
        "unpublished": len(pairs) - len(done),
        "dispatch_rate_per_s": round(len(done) / span, 1) if span else None,
        "due_to_published_p50_ms": round(percentile(latencies, 50), 1) if latencies else None,
        "due_to_published_p99_ms": round(percentile(latencies, 99), 1) if latencies else None,
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clinicflow-bench-scheduling-") as tmp:
        stack = Stack(Path(tmp), free_ports=True)
        try:
            print("starting the system ...", flush=True)
            stack.start_infra()
            await asyncio.to_thread(stack.migrate)
            stack.start_all()
            await asyncio.to_thread(stack.wait_ready)
            async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=60.0) as client:
                login = await client.post(
                    "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
                )
                client.headers["authorization"] = f"Bearer {login.json()['access_token']}"
                me = (await client.get("/api/v1/me")).json()
                branch = (
                    await client.post(
                        f"{API}/branches",
                        json={"name": "Av. Paulista", "timezone": "America/Sao_Paulo", "open_on_holidays": True},
                    )
                ).json()
                hours = [{"weekday": d, "start": "07:00", "end": "21:00", "branch_id": branch["id"]} for d in range(7)]
                breaks = [{"weekday": d, "start": "12:00", "end": "13:00"} for d in range(7)]
                pros = []
                for n in range(args.professionals):
                    made = await client.post(
                        f"{API}/professionals",
                        json={
                            "name": f"Professional {n:02d}",
                            "kind": "dentist",
                            "specialties": ["dental"],
                            "branch_ids": [branch["id"]],
                            "hours": hours,
                            "breaks": breaks,
                        },
                    )
                    pros.append(made.json()["id"])
                procedure = (
                    await client.post(
                        f"{API}/procedures", json={"name": "Limpeza", "duration_minutes": 30, "specialty": "dental"}
                    )
                ).json()
                first_day = datetime.now(SP).date() - timedelta(days=30)
                print(f"loading {args.appointments:,} appointments with COPY ...", flush=True)
                rows = appointment_rows(
                    args.appointments, me["tenant"]["id"], branch["id"], procedure["id"], pros, first_day, me["id"]
                )
                dsn = plain_dsn(stack.database_url("scheduling"))
                load_s = await load(dsn, rows)
                start = datetime.now(SP).date() + timedelta(days=1)
                params = {
                    "branch_id": branch["id"],
                    "procedure_id": procedure["id"],
                    "from": start.isoformat(),
                    "to": (start + timedelta(days=13)).isoformat(),
                }
                for _ in range(3):
                    await client.get(f"{API}/availability", params=params)
                    await client.get(f"{API}/policy")
                timings, ceiling, sizes, answer_bytes, statuses = [], [], [], [], set()
                for _ in range(args.requests):
                    started = time.perf_counter()
                    answer = await client.get(f"{API}/availability", params=params)
                    timings.append((time.perf_counter() - started) * 1000)
                    statuses.add(answer.status_code)
                    answer_bytes.append(len(answer.content))
                    sizes.append(sum(p["free"] for p in answer.json()["professionals"]))
                    # the bare ceiling in the same run: the smallest authenticated scheduling call
                    started = time.perf_counter()
                    await client.get(f"{API}/policy")
                    ceiling.append((time.perf_counter() - started) * 1000)
                availability = {
                    "requests": args.requests,
                    "statuses": sorted(statuses),
                    "p50_ms": round(percentile(timings, 50), 1),
                    "p95_ms": round(percentile(timings, 95), 1),
                    "p99_ms": round(percentile(timings, 99), 1),
                    "mean_free_slots": round(statistics.fmean(sizes)),
                    "answer_kb": round(statistics.fmean(answer_bytes) / 1024, 1),
                    "ceiling_policy_p50_ms": round(percentile(ceiling, 50), 1),
                    "ceiling_policy_p95_ms": round(percentile(ceiling, 95), 1),
                }
                # The same, but every request misses the api's busy-time cache: each asks for a window that
                # the previous one does not cover (the busy query runs every time), as after a change.
                missed = []
                for i in range(args.requests):
                    first = start + timedelta(days=i % 2)
                    shifted = params | {"from": first.isoformat(), "to": (first + timedelta(days=13)).isoformat()}
                    started = time.perf_counter()
                    answer = await client.get(f"{API}/availability", params=shifted)
                    missed.append((time.perf_counter() - started) * 1000)
                    statuses.add(answer.status_code)
                availability_uncached = {
                    "requests": args.requests,
                    "p50_ms": round(percentile(missed, 50), 1),
                    "p95_ms": round(percentile(missed, 95), 1),
                    "p99_ms": round(percentile(missed, 99), 1),
                }
                print("reminders ...", flush=True)
                ids = [r[0] for r in rows[: args.reminders]]
                reminders = await bench_reminders(dsn, me["tenant"]["id"], ids, args.reminders, args.rate)
        finally:
            stack.stop()
    return {
        "professionals": args.professionals,
        "appointments": len(rows),
        "load_seconds": round(load_s, 1),
        "availability_14_days": availability,
        "availability_14_days_cache_missed": availability_uncached,
        "reminder_scheduler": reminders,
        "machine": {
            "nproc": os.cpu_count(),
            "python": sys.version.split()[0],
            "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="just bench scheduling")
    parser.add_argument("--professionals", type=int, default=30)
    parser.add_argument("--appointments", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--reminders", type=int, default=5_000)
    parser.add_argument("--rate", type=float, default=1_000.0, help="reminders falling due per second")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=2, default=str))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
