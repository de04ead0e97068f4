"""`just bench funnel`: the board and its filters over 200,000 deals of one clinic (the query layer only).

Starts its own embedded PostgreSQL (and the other embedded servers devkit starts), migrates a funnel database,
writes N deals of one clinic over the Arrived-and-repeat stages (30 % with a curator, 40 % with a future booking,
plan states none/created/signed/completed 30/20/40/10 %, last activity up to 16 months back) and 0.3 tasks per
deal with COPY, then times the board use case (funnel.services.board: the counts and sums per
stage, the first 50 deals of each stage with their task indicators) for each filter, after 3 warm-up rounds.
Not measured yet: the HTTP hop through the gateway, and event -> stage latency under load.

    just bench funnel                     # 200,000 deals, 100 rounds per query
    just bench funnel --deals 50000 --rounds 30
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
from pathlib import Path
from typing import Any

import asyncpg

from devkit import infra as devinfra
from funnel import services as cases
from funnel.domain import ARRIVED_STAGES, PLAN_STATES
from kit import migrations
from kit.auth import Principal
from kit.db import make_engine, uow_factory
from kit.outbox import plain_dsn

ROOT = Path(__file__).resolve().parents[1]


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
        deals.append(
            (
                deal_id, tenant, pipeline_id, "arrived", stage_ids[key], key, at, str(uuid.uuid4()), f"Paciente {i}",
                rng.choice(curators) if rng.random() < 0.3 else None, rng.randint(0, 20_000),
                now + timedelta(days=rng.randint(1, 60)) if rng.random() < 0.4 else None, at, at,
                rng.choices(PLAN_STATES, [30, 20, 40, 10])[0], at,
            )
        )  # fmt: skip
        if rng.random() < 0.3:
            due = now + timedelta(hours=rng.randint(-200, 200))
            tasks.append((str(uuid.uuid4()), tenant, deal_id, "call", "Ligar", due, "bench", at))
    await conn.copy_records_to_table(
        "deals",
        records=deals,
        columns=[
            "id", "tenant_id", "pipeline_id", "kind", "stage_id", "stage_key", "stage_since", "patient_id", "name",
            "curator_id", "amount", "next_booking_at", "created_at", "updated_at", "plan_state", "last_activity_at",
        ],
    )  # fmt: skip
    await conn.copy_records_to_table(
        "tasks",
        records=tasks,
        columns=["id", "tenant_id", "deal_id", "kind", "title", "due_at", "created_by", "created_at"],
    )
    await conn.execute("VACUUM ANALYZE deals")
    await conn.execute("VACUUM ANALYZE tasks")
    await conn.close()


async def bench(url: str, n: int, rounds: int) -> None:
    engine = make_engine(url)
    uow = uow_factory(engine, "funnel")
    tenant = str(uuid.uuid4())
    admin = Principal(
        user_id=str(uuid.uuid4()), tenant_id=tenant, email="a@b.c", permissions=frozenset({"funnel:admin"})
    )
    found, listed = await cases.pipelines(uow, admin)
    arrived = next(p for p in found if p.kind == "arrived")
    stage_ids = {s.key: s.id for s in listed if s.pipeline_id == arrived.id}
    curators = [str(uuid.uuid4()) for _ in range(20)]
    started = time.perf_counter()
    await seed(url, tenant, arrived.id, stage_ids, n, curators)
    print(f"seeded {n} deals in {time.perf_counter() - started:.1f}s")
    queries: dict[str, dict[str, Any]] = {
        "board, no filter": {},
        "board, by curator": {"curator_id": "curator"},
        "board, one stage": {"stage_id": "stage"},
        "board, overdue tasks": {"overdue": True},
        "board, no future booking": {"no_future_booking": True},
        "board, plan signed": {"plan_state": "signed"},
        "board, inactive patients": {"activity": "inactive"},
    }
    print("| query | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|")
    for name, extra in queries.items():
        samples = []
        for i in range(rounds + 3):
            params: dict[str, Any] = {"curator_id": None, "stage_id": None}
            if "curator_id" in extra:
                params["curator_id"] = curators[i % len(curators)]
            if "stage_id" in extra:
                params["stage_id"] = list(stage_ids.values())[i % len(stage_ids)]
            params["overdue"] = bool(extra.get("overdue"))
            params["no_future_booking"] = bool(extra.get("no_future_booking"))
            params["plan_state"] = extra.get("plan_state")
            params["activity"] = extra.get("activity")
            t0 = time.perf_counter()
            await cases.board(uow, admin, arrived.id, now=datetime.now(UTC), per_stage=50, **params)  # type: ignore[arg-type]
            if i >= 3:
                samples.append((time.perf_counter() - t0) * 1000)
        q = statistics.quantiles(samples, n=100)
        print(f"| {name} | {statistics.median(samples):.0f} | {q[94]:.0f} | {q[98]:.0f} |")
    await engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        infra = devinfra.start(Path(tmp))
        try:
            name = f"bench_funnel_{uuid.uuid4().hex[:8]}"
            asyncio.run(migrations.ensure_database(infra.postgres_url, name))
            url = migrations.database_url(infra.postgres_url, name)
            migrations.upgrade(ROOT / "services" / "funnel", url)
            asyncio.run(bench(url, args.deals, args.rounds))
        finally:
            infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
