"""Intake benchmark: leads created through the gateway until their WhatsApp welcome reaches the provider.

    just bench intake [--leads N] [--concurrency C] [--warmup W] [--json PATH]

Starts its own stack (embedded PostgreSQL, Valkey, Tansu, every service, the sandbox) on free ports in a
temporary folder, so it never collides with `just up`, and stops it at the end, Ctrl-C included.

Measures, with the same N, C and payloads:
  1. POST /api/v1/leads through the gateway at concurrency C: throughput and latency;
  2. lead created -> welcome message received by the sandbox WhatsApp provider: latency, end-to-end rate;
  3. the bare ceiling on the same servers: asyncpg transactions (lead row + outbox row + NOTIFY) and
     aiokafka produce (acks=all) of the same event payloads, and the ratio gateway / ceiling.
CPU time per process (from /proc) shows where the time goes; log lines at error level are reported.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from contracts.leads import LeadCreatedV1
from contracts.topics import LEADS
from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, ROOT, Stack
from kit import migrations
from kit.context import new_id
from kit.db import UnitOfWork
from kit.messaging import make_producer
from kit.outbox import plain_dsn

LEAD_NAME = "Ana Lima"
LEAD_SOURCE = "whatsapp"
SANDBOX_MESSAGES = "/sandbox/whatsapp/messages"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- small helpers ------------------------------------------------------------------------------
def percentiles(values: list[float]) -> dict[str, float | None]:
    """Nearest-rank p50/p95/p99, mean and max, in the unit given (None when there are no values)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "mean": sum(ordered) / len(ordered),
        "max": ordered[-1],
    }


def ms(values: list[float]) -> dict[str, float | None]:
    return {k: (None if v is None else round(v * 1000, 2)) for k, v in percentiles(values).items()}


def phones(count: int) -> list[str]:
    """Distinct valid Brazilian mobiles (+55 11 9xxxx-xxxx), so each delivery names its lead."""
    return [f"+55119{n}" for n in random.sample(range(10_000_000, 100_000_000), count)]


def wire_phone(phone: str) -> str:
    return phone.lstrip("+")  # how the provider records `to`


async def run_concurrently(
    items: list[Any], concurrency: int, op: Callable[[Any], Awaitable[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], float]:
    """C workers pull from one queue; returns each op's record and the wall time of the whole batch."""
    queue: asyncio.Queue[Any] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    results: list[dict[str, Any]] = []

    async def worker() -> None:
        while True:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            results.append(await op(item))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results, time.perf_counter() - started


# --- CPU accounting from /proc ------------------------------------------------------------------
@dataclass
class CpuSample:
    wall: float
    groups: dict[str, float]  # CPU seconds per process group
    machine_busy: tuple[float, float, float]  # every process, interrupts, steal (CPU seconds)
    client: float  # this benchmark process
    others: dict[int, tuple[str, float]]  # pid -> (command, CPU seconds) of processes not of this benchmark


def _read_stat(pid: str) -> tuple[int, int, float] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = raw[raw.rindex(")") + 2 :].split()
    return int(rest[1]), int(rest[3]), (int(rest[11]) + int(rest[12])) / CLK_TCK  # ppid, session, utime + stime


def _machine_busy() -> tuple[float, float, float]:
    """CPU seconds of all processes, of interrupt handling, and stolen by the hypervisor, summed over cores."""
    values = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    return (user + nice + system) / CLK_TCK, (irq + softirq) / CLK_TCK, steal / CLK_TCK


def cpu_sample(stack: Stack) -> CpuSample:
    """Every managed process leads its own session; PostgreSQL backends call setsid(), so also go by parent."""
    sessions = {proc.popen.pid: name for name, proc in stack.processes.items()}
    if stack.infra is not None:
        sessions.update({proc.popen.pid: name for name, proc in stack.infra.processes.items()})
    stats = {int(pid): stat for pid in os.listdir("/proc") if pid.isdigit() and (stat := _read_stat(pid))}
    owner = {pid: sessions[sid] for pid, (_, sid, _) in stats.items() if sid in sessions}
    owner.update({pid: owner[ppid] for pid, (ppid, _, _) in stats.items() if pid not in owner and ppid in owner})
    groups = dict.fromkeys(sessions.values(), 0.0)
    for pid, name in owner.items():
        groups[name] += stats[pid][2]
    others = {
        pid: (_command(pid), cpu) for pid, (_, _, cpu) in stats.items() if pid not in owner and pid != os.getpid()
    }
    times = os.times()
    return CpuSample(time.monotonic(), groups, _machine_busy(), times.user + times.system, others)


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()[:80]
    except OSError:
        return "?"


def cpu_usage(before: CpuSample, after: CpuSample) -> dict[str, Any]:
    wall = after.wall - before.wall
    used = {name: after.groups.get(name, 0.0) - before.groups.get(name, 0.0) for name in after.groups}
    used["bench client"] = after.client - before.client
    accounted = sum(used.values())
    processes, interrupts, steal = (b - a for a, b in zip(before.machine_busy, after.machine_busy, strict=True))
    used["other processes (not this benchmark)"] = max(0.0, processes - accounted)
    used["interrupts (irq, softirq)"] = interrupts
    used["stolen by the hypervisor"] = steal
    machine = processes + interrupts + steal
    busiest = sorted(
        ((cpu - before.others.get(pid, ("", 0.0))[1], f"{pid} {cmd}") for pid, (cmd, cpu) in after.others.items()),
        reverse=True,
    )
    return {
        "busiest_other_processes": {what: round(cpu, 2) for cpu, what in busiest[:3] if cpu >= 0.1},
        "window_s": round(wall, 2),
        "machine_busy_cpu_s": round(machine, 2),
        "machine_busy_pct_of_all_cores": round(100 * machine / (wall * (os.cpu_count() or 1)), 1) if wall else None,
        "cpu_s": {name: round(v, 2) for name, v in sorted(used.items(), key=lambda kv: -kv[1])},
    }


# --- the system under test -----------------------------------------------------------------------
class Session:
    """The admin's session at the gateway, refreshed before the 15-minute access token expires."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.refresh_token = ""
        self.task: asyncio.Task[None] | None = None

    async def login(self) -> None:
        answer = await self.http.post(
            "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
        )
        answer.raise_for_status()
        self._use(answer.json())
        self.task = asyncio.create_task(self._keep_fresh())

    def _use(self, tokens: dict[str, Any]) -> None:
        self.http.headers["authorization"] = f"Bearer {tokens['access_token']}"
        self.refresh_token = tokens["refresh_token"]

    async def _keep_fresh(self) -> None:
        while True:
            await asyncio.sleep(600)
            answer = await self.http.post("/api/v1/auth/refresh", json={"refresh_token": self.refresh_token})
            answer.raise_for_status()
            self._use(answer.json())

    async def close(self) -> None:
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def post_leads(http: httpx.AsyncClient, numbers: list[str], concurrency: int) -> tuple[list[dict], float]:
    async def create(phone: str) -> dict[str, Any]:
        body = {"name": LEAD_NAME, "phone": phone, "source": LEAD_SOURCE}
        started = time.perf_counter()
        try:
            answer = await http.post("/api/v1/leads", json=body)
        except httpx.HTTPError as exc:
            latency = time.perf_counter() - started
            return {"phone": phone, "status": type(exc).__name__, "latency": latency, "error": repr(exc)[:300]}
        latency = time.perf_counter() - started
        record: dict[str, Any] = {"phone": phone, "status": answer.status_code, "latency": latency, "done": time.time()}
        if answer.status_code == 201:
            lead = answer.json()
            record.update(id=lead["id"], created_at=datetime.fromisoformat(lead["created_at"]).timestamp())
        else:
            record["error"] = answer.text[:300]
        return record

    return await run_concurrently(numbers, concurrency, create)


async def wait_deliveries(
    sandbox: httpx.AsyncClient, wanted: set[str], within: float, interval: float = 1.0
) -> tuple[dict[str, float], Counter[str], bool]:
    """Poll the sandbox until every wanted `to` arrived. Returns first received_at per phone, copies per phone."""
    deadline = time.monotonic() + within
    while True:
        answer = await sandbox.get(SANDBOX_MESSAGES)
        answer.raise_for_status()
        first: dict[str, float] = {}
        copies: Counter[str] = Counter()
        for item in answer.json()["items"]:
            to = item["to"]
            if to in wanted:
                copies[to] += 1
                at = datetime.fromisoformat(item["received_at"]).timestamp()
                first[to] = min(at, first.get(to, at))
        if len(first) == len(wanted) or time.monotonic() > deadline:
            return first, copies, len(first) == len(wanted)
        await asyncio.sleep(interval)


async def stage_breakdown(stack: Stack, lead_ids: list[str], received: dict[str, float]) -> dict[str, Any]:
    """Where a lead's message spends its time, from the rows the services wrote."""
    leads_db = await asyncpg.connect(plain_dsn(stack.database_url("leads")))
    notif_db = await asyncpg.connect(plain_dsn(stack.database_url("notifications")))
    try:
        outbox = {
            r["key"]: r
            for r in await leads_db.fetch(
                "SELECT key, created_at, published_at FROM outbox WHERE key = ANY($1::text[])", lead_ids
            )
        }
        messages = {
            str(r["lead_id"]): r
            for r in await notif_db.fetch(
                'SELECT lead_id, "to", status, attempts, created_at, sent_at FROM messages '
                "WHERE lead_id = ANY($1::uuid[])",
                lead_ids,
            )
        }
    finally:
        await leads_db.close()
        await notif_db.close()
    relay, consume, dispatch = [], [], []
    for lead_id in lead_ids:
        row, msg = outbox.get(lead_id), messages.get(lead_id)
        if row is not None and row["published_at"] is not None:
            relay.append((row["published_at"] - row["created_at"]).total_seconds())
            if msg is not None:
                consume.append((msg["created_at"] - row["published_at"]).total_seconds())
        if msg is not None and msg["to"].lstrip("+") in received:
            dispatch.append(received[msg["to"].lstrip("+")] - msg["created_at"].timestamp())

    def rate(stamps: list[float]) -> float | None:
        """Items per second over the span of a stage's timestamps: its drain rate while it was the bottleneck."""
        return round((len(stamps) - 1) / (max(stamps) - min(stamps)), 1) if len(stamps) > 1 else None

    published = [r["published_at"].timestamp() for r in outbox.values() if r["published_at"] is not None]
    return {
        "rate_relayed_per_s": rate(published),
        "rate_queued_per_s": rate([m["created_at"].timestamp() for m in messages.values()]),
        "rate_received_per_s": rate(list(received.values())),
        "outbox_rows": len(outbox),
        "outbox_unpublished": sum(1 for r in outbox.values() if r["published_at"] is None),
        "messages_rows": len(messages),
        "message_status": dict(Counter(m["status"] for m in messages.values())),
        "messages_retried": sum(1 for m in messages.values() if m["attempts"] > 1),
        "commit_to_relayed_ms": ms(relay),
        "relayed_to_queued_ms": ms(consume),
        "queued_to_received_ms": ms(dispatch),
    }


async def gateway_phase(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    n, c = args.leads, args.concurrency
    numbers = phones(args.warmup + n)
    warm, measured = numbers[: args.warmup], numbers[args.warmup :]
    limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, limits=limits, timeout=60.0) as http,
        httpx.AsyncClient(base_url=stack.url("sandbox"), timeout=30.0) as sandbox,
    ):
        session = Session(http)
        await session.login()
        try:
            print(f"warm-up: {len(warm)} leads ...", flush=True)
            warm_results, _ = await post_leads(http, warm, c)
            warm_ok = {wire_phone(r["phone"]) for r in warm_results if r["status"] == 201}
            _, _, warm_all = await wait_deliveries(sandbox, warm_ok, within=60.0)
            (await sandbox.delete(SANDBOX_MESSAGES)).raise_for_status()

            print(f"measuring: {n} leads at concurrency {c} ...", flush=True)
            before = cpu_sample(stack)
            first_post = time.time()
            results, wall = await post_leads(http, measured, c)
            posted = time.time()
            print(f"  {n} POSTs in {wall:.1f}s; waiting for the WhatsApp messages ...", flush=True)
            ok = [r for r in results if r["status"] == 201]
            wanted = {wire_phone(r["phone"]) for r in ok}
            received, copies, _ = await wait_deliveries(sandbox, wanted, within=args.delivery_timeout)
            after = cpu_sample(stack)
        finally:
            await session.close()

    errors = [r for r in results if r["status"] != 201]
    to_sent = [received[wire_phone(r["phone"])] - r["done"] for r in ok if wire_phone(r["phone"]) in received]
    from_created = [
        received[wire_phone(r["phone"])] - r["created_at"] for r in ok if wire_phone(r["phone"]) in received
    ]
    last = max(received.values()) if received else None
    missing = sorted(wanted - received.keys())
    stages = await stage_breakdown(stack, [r["id"] for r in ok], received)
    return {
        "warmup": {"leads": len(warm), "created": len(warm_ok), "all_delivered_before_measuring": warm_all},
        "http": {
            "requests": n,
            "created_201": len(ok),
            "errors": len(errors),
            "error_statuses": dict(Counter(str(r["status"]) for r in errors)),
            "error_samples": [r.get("error") for r in errors[:5]],
            "wall_s": round(wall, 3),
            "throughput_rps": round(n / wall, 1),
            "latency_ms": ms([r["latency"] for r in results]),
            "request_body_bytes": len(json.dumps({"name": LEAD_NAME, "phone": numbers[0], "source": LEAD_SOURCE})),
        },
        "delivery": {
            "expected": len(wanted),
            "delivered": len(received),
            "never_arrived": len(missing),
            "never_arrived_sample": ["+" + p for p in missing[:10]],
            "phones_with_duplicates": sum(1 for v in copies.values() if v > 1),
            "timeout_s": args.delivery_timeout,
            "created_to_received_ms": ms(to_sent),
            "lead_created_at_to_received_ms": ms(from_created),
            "end_to_end_s": round(last - first_post, 3) if last else None,
            "end_to_end_msgs_per_s": round(len(received) / (last - first_post), 1) if last else None,
            "last_post_to_last_delivery_s": round(last - posted, 3) if last else None,
            "stages": stages,
        },
        "cpu": cpu_usage(before, after),
    }


# --- the bare ceiling on the same servers -----------------------------------------------------------
CEILING_DDL = """
CREATE TABLE leads (
    id uuid PRIMARY KEY, tenant_id uuid NOT NULL, name text NOT NULL, phone text NOT NULL, email text,
    source text NOT NULL, locale text, status text NOT NULL, created_by uuid NOT NULL,
    created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
CREATE INDEX ix_leads_tenant_created ON leads (tenant_id, created_at, id);
CREATE INDEX ix_leads_tenant_phone ON leads (tenant_id, phone);
CREATE TABLE outbox (
    id bigserial PRIMARY KEY, event_id uuid NOT NULL UNIQUE, topic text NOT NULL, key text NOT NULL,
    event_type text NOT NULL, headers json NOT NULL, payload bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
CREATE INDEX ix_outbox_published_at ON outbox (published_at) WHERE published_at IS NOT NULL;
CREATE INDEX ix_outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
"""
INSERT_LEAD = (
    "INSERT INTO leads (id, tenant_id, name, phone, email, source, locale, status, created_by, created_at, "
    "updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
INSERT_OUTBOX = (
    "INSERT INTO outbox (event_id, topic, key, event_type, headers, payload) VALUES ($1, $2, $3, $4, $5, $6)"
)


@dataclass
class Row:
    lead: tuple[Any, ...]
    event: dict[str, Any]  # the outbox row, exactly as kit.db.UnitOfWork.publish builds it
    headers_json: str = field(init=False)

    def __post_init__(self) -> None:
        self.headers_json = msgspec.json.encode(self.event["headers"]).decode()


def ceiling_rows(count: int) -> list[Row]:
    """What the leads service writes per lead: the row and its lead.created outbox row (same sizes)."""
    tenant, user = new_id(), new_id()
    uow = UnitOfWork(None, "leads")  # type: ignore[arg-type]  # publish() only builds the row
    rows = []
    for phone in phones(count):
        now = datetime.now(UTC)
        lead_id = new_id()
        lead = (lead_id, tenant, LEAD_NAME, phone, None, LEAD_SOURCE, None, "PENDING_CONTACT", user, now, now)
        event = LeadCreatedV1(
            lead_id=lead_id, name=LEAD_NAME, phone=phone, email=None, source=LEAD_SOURCE, locale=None, created_at=now
        )
        uow.publish(event, tenant_id=tenant)
        rows.append(Row(lead, uow._outbox.pop()))
    return rows


def throughput(results: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    errors = [r for r in results if r.get("error")]
    return {
        "ops": len(results),
        "errors": len(errors),
        "error_samples": [r["error"] for r in errors[:3]],
        "wall_s": round(wall, 3),
        "ops_per_s": round(len(results) / wall, 1),
        "latency_ms": ms([r["latency"] for r in results]),
    }


async def postgres_ceiling(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    assert stack.infra is not None
    name = f"bench_ceiling_{new_id()[-12:]}"
    await migrations.ensure_database(stack.infra.postgres_url, name)
    pool = await asyncpg.create_pool(
        plain_dsn(migrations.database_url(stack.infra.postgres_url, name)),
        min_size=args.concurrency,
        max_size=args.concurrency,
    )
    assert pool is not None
    try:
        async with pool.acquire() as conn:
            await conn.execute(CEILING_DDL)

        async def insert(row: Row) -> dict[str, Any]:
            started = time.perf_counter()
            try:
                async with pool.acquire() as conn, conn.transaction():
                    await conn.execute(INSERT_LEAD, *row.lead)
                    e = row.event
                    outbox = (e["event_id"], e["topic"], e["key"], e["event_type"], row.headers_json, e["payload"])
                    await conn.execute(INSERT_OUTBOX, *outbox)
                    await conn.execute("SELECT pg_notify('bench_ceiling', '')")
            except Exception as exc:
                return {"latency": time.perf_counter() - started, "error": repr(exc)[:300]}
            return {"latency": time.perf_counter() - started}

        await run_concurrently(ceiling_rows(args.warmup), args.concurrency, insert)
        rows = ceiling_rows(args.leads)
        before = cpu_sample(stack)
        results, wall = await run_concurrently(rows, args.concurrency, insert)
        cpu = cpu_usage(before, cpu_sample(stack))  # before the pool's backends exit
        return {
            "what": "1 transaction per lead: INSERT lead, INSERT outbox, pg_notify",
            **throughput(results, wall),
            "cpu": cpu,
        }
    finally:
        await pool.close()
        with contextlib.suppress(Exception):
            conn = await asyncpg.connect(plain_dsn(stack.infra.postgres_url))
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await conn.close()


async def kafka_ceiling(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    assert stack.infra is not None
    bootstrap = stack.infra.kafka_bootstrap
    topic = f"bench.ceiling.{new_id()[-12:]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, LEADS.partitions, 1)])
    finally:
        await admin.close()
    producer = make_producer(bootstrap, idempotent=False, client_id="bench-ceiling")  # as the services' relay
    await producer.start()
    try:

        async def produce(row: Row) -> dict[str, Any]:
            e = row.event
            headers = [(k, v.encode()) for k, v in e["headers"]]
            started = time.perf_counter()
            try:
                await producer.send_and_wait(topic, e["payload"], key=e["key"].encode(), headers=headers)
            except Exception as exc:
                return {"latency": time.perf_counter() - started, "error": repr(exc)[:300]}
            return {"latency": time.perf_counter() - started}

        await run_concurrently(ceiling_rows(args.warmup), args.concurrency, produce)
        rows = ceiling_rows(args.leads)
        before = cpu_sample(stack)
        results, wall = await run_concurrently(rows, args.concurrency, produce)
        cpu = cpu_usage(before, cpu_sample(stack))
        payload = len(rows[0].event["payload"]) if rows else 0
        return {
            "what": f"aiokafka send_and_wait, acks=all, linger_ms=2, {LEADS.partitions} partitions",
            "payload_bytes": payload,
            **throughput(results, wall),
            "cpu": cpu,
        }
    finally:
        await producer.stop()
        with contextlib.suppress(Exception):
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
            await admin.start()
            try:
                await admin.delete_topics([topic])
            finally:
                await admin.close()


async def ceiling_phase(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    print(f"bare ceiling: asyncpg, {args.leads} transactions at concurrency {args.concurrency} ...", flush=True)
    pg = await postgres_ceiling(stack, args)
    print(f"bare ceiling: aiokafka, {args.leads} produces at concurrency {args.concurrency} ...", flush=True)
    kafka = await kafka_ceiling(stack, args)
    ceiling = min(pg["ops_per_s"], kafka["ops_per_s"])
    return {
        "postgres": pg,
        "kafka": kafka,
        "ceiling_ops_per_s": ceiling,
        "limited_by": "postgres" if pg["ops_per_s"] <= kafka["ops_per_s"] else "kafka",
    }


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    gateway = await gateway_phase(stack, args)
    ceiling = await ceiling_phase(stack, args)
    rps = gateway["http"]["throughput_rps"]
    ceiling["gateway_over_ceiling"] = round(rps / ceiling["ceiling_ops_per_s"], 3)
    e2e = gateway["delivery"]["end_to_end_msgs_per_s"]
    ceiling["end_to_end_over_ceiling"] = round(e2e / ceiling["ceiling_ops_per_s"], 3) if e2e else None
    return {"gateway": gateway, "ceiling": ceiling}


# --- facts, logs, report ------------------------------------------------------------------------------
def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def machine_facts() -> dict[str, Any]:
    model = re.search(r"model name\s*:\s*(.+)", _read("/proc/cpuinfo"))
    mem = re.search(r"MemTotal:\s*(\d+) kB", _read("/proc/meminfo"))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True)
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": model.group(1).strip() if model else platform.processor(),
        "mem_gib": round(int(mem.group(1)) / 1024**2, 1) if mem else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": (commit.stdout.strip() or "?") + (" (dirty)" if dirty.stdout.strip() else ""),
        "loadavg_start": os.getloadavg(),
    }


#: Lines every start of the embedded stack writes, load or not: pg_isready probes as the OS user (devinfra),
#: and Valkey's advice about vm.overcommit_memory. Counted apart so real errors stand out.
LOG_BENIGN = re.compile(r'FATAL:  role "root" does not exist|WARNING Memory overcommit must be enabled')
LOG_ERROR = re.compile(r'"level":"(error|critical)"|Traceback|\b(ERROR|FATAL|PANIC|CRITICAL)\b')
LOG_WARNING = re.compile(r'"level":"warning"|\bWARN(ING)?\b')


def scan_logs(log_dir: Path) -> dict[str, Any]:
    """Error- and warning-level lines per log file, with a few examples of the errors."""
    found: dict[str, Any] = {}
    for path in sorted(log_dir.glob("*.log")):
        errors, warnings, benign, examples = 0, 0, 0, []
        for line in path.read_text(errors="replace").splitlines():
            if LOG_BENIGN.search(line):
                benign += 1
            elif LOG_ERROR.search(line):
                errors += 1
                if len(examples) < 3:
                    examples.append(line[:400])
            elif LOG_WARNING.search(line):
                warnings += 1
        if errors or warnings or benign:
            found[path.name] = {
                "error_lines": errors,
                "warning_lines": warnings,
                "known_benign_lines": benign,
                "error_examples": examples,
            }
    return found


def fmt_lat(lat: dict[str, float | None]) -> str:
    return "  ".join(f"{k} {'-' if lat[k] is None else f'{lat[k]:.1f}'}" for k in ("p50", "p95", "p99", "max"))


def table(report: dict[str, Any]) -> str:
    f, a = report["machine"], report["args"]
    lines = [
        "",
        f"ClinicFlow intake benchmark  ({f['date_utc']}, git {f['git']})",
        f"  machine   {f['nproc']} CPUs ({f['cpu_model']}), {f['mem_gib']} GiB, Python {f['python']}, "
        f"loadavg at start {' '.join(f'{x:.2f}' for x in f['loadavg_start'])}",
        f"  run       {a['leads']} leads, concurrency {a['concurrency']}, warm-up {a['warmup']}; "
        f"infra {report['infra']}",
    ]
    if "gateway" not in report:
        lines.append(f"  FAILED: {report.get('failure')}")
    else:
        g, c = report["gateway"], report["ceiling"]
        h, d, s = g["http"], g["delivery"], g["delivery"]["stages"]
        lines += [
            "",
            "POST /api/v1/leads through the gateway                      latency ms",
            f"  {h['throughput_rps']:>8.1f} req/s   {h['created_201']}/{h['requests']} created, {h['errors']} errors"
            f"   {fmt_lat(h['latency_ms'])}",
        ]
        if h["errors"]:
            lines.append(f"  error statuses {h['error_statuses']}; e.g. {h['error_samples'][:2]}")
        lines += [
            "",
            "Lead created -> WhatsApp message received by the provider (sandbox)",
            f"  delivered {d['delivered']}/{d['expected']}, never arrived {d['never_arrived']}, "
            f"duplicates {d['phones_with_duplicates']}",
            f"  POST 201 -> received              {fmt_lat(d['created_to_received_ms'])}",
            f"  end to end {d['end_to_end_msgs_per_s']} msg/s (first POST -> last delivery {d['end_to_end_s']} s; "
            f"last delivery {d['last_post_to_last_delivery_s']} s after the last POST)",
            f"  stages: commit -> relayed to Kafka {fmt_lat(s['commit_to_relayed_ms'])}",
            f"          relayed -> queued in notifications {fmt_lat(s['relayed_to_queued_ms'])}",
            f"          queued -> received by provider {fmt_lat(s['queued_to_received_ms'])}",
            f"  stage rates (first -> last item): relayed {s['rate_relayed_per_s']}/s, queued by the consumer "
            f"{s['rate_queued_per_s']}/s, received by the provider {s['rate_received_per_s']}/s",
            f"  notifications messages {s['message_status']}, retried {s['messages_retried']}; "
            f"outbox unpublished {s['outbox_unpublished']}",
            "",
            "Bare ceiling on the same PostgreSQL and Kafka (same N, C, payloads)",
            f"  PostgreSQL  {c['postgres']['ops_per_s']:>8.1f} tx/s    {fmt_lat(c['postgres']['latency_ms'])}"
            f"   ({c['postgres']['what']}; errors {c['postgres']['errors']})",
            f"  Kafka       {c['kafka']['ops_per_s']:>8.1f} msg/s   {fmt_lat(c['kafka']['latency_ms'])}"
            f"   ({c['kafka']['what']}, {c['kafka']['payload_bytes']} B; errors {c['kafka']['errors']})",
            f"  ceiling = min = {c['ceiling_ops_per_s']} ops/s ({c['limited_by']}); "
            f"gateway / ceiling = {c['gateway_over_ceiling']:.1%}; end-to-end / ceiling = "
            f"{'-' if c['end_to_end_over_ceiling'] is None else format(c['end_to_end_over_ceiling'], '.1%')}",
            "",
            f"CPU seconds during the measured gateway run ({g['cpu']['window_s']} s wall, machine busy "
            f"{g['cpu']['machine_busy_pct_of_all_cores']}% of all cores)",
        ]
        window = g["cpu"]["window_s"] or 1
        for name, used in g["cpu"]["cpu_s"].items():
            if used >= 0.05:
                lines.append(f"  {name:<38} {used:>7.1f} s   {used / window:>5.2f} cores")
        if g["cpu"]["busiest_other_processes"]:
            lines.append(f"  busiest other processes (CPU s): {g['cpu']['busiest_other_processes']}")
        for what in ("postgres", "kafka"):
            cpu = c[what]["cpu"]
            top = [f"{name} {used / (cpu['window_s'] or 1):.2f}" for name, used in cpu["cpu_s"].items() if used >= 0.05]
            lines.append(f"  ceiling run, {what}: cores used: {', '.join(top)}")
    lines += ["", "Processes that exited during the run: " + (str(report["exited"]) if report["exited"] else "none")]
    if report["logs"]:
        lines.append(f"Log lines at error / warning level (logs: {report['log_dir']})")
        for name, found in report["logs"].items():
            lines.append(
                f"  {name:<28} errors {found['error_lines']:>5}   warnings {found['warning_lines']:>5}   "
                f"known start-up noise {found['known_benign_lines']}"
            )
            lines += [f"      {example}" for example in found["error_examples"]]
    else:
        lines.append("Log lines at error / warning level: none")
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="just bench intake", description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=2000, help="leads to create (default 2000)")
    parser.add_argument("--concurrency", type=int, default=32, help="requests in flight (default 32)")
    parser.add_argument("--warmup", type=int, default=100, help="leads created first and not measured (default 100)")
    parser.add_argument("--delivery-timeout", type=float, default=120.0, help="seconds to wait for the messages")
    parser.add_argument("--json", metavar="PATH", help="write the figures there instead of to stdout")
    parser.add_argument("--keep", action="store_true", help="keep the temporary state folder (data and logs)")
    args = parser.parse_args()
    if args.leads < 1 or args.concurrency < 1 or args.warmup < 0:
        parser.error("--leads and --concurrency must be >= 1, --warmup >= 0")
    return args


def _terminate(signum: int, _: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    args = parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    signal.signal(signal.SIGTERM, _terminate)
    state_dir = Path(tempfile.mkdtemp(prefix="clinicflow-bench-"))
    stack = Stack(state_dir, free_ports=True)
    report: dict[str, Any] = {"args": vars(args), "machine": machine_facts(), "log_dir": str(stack.log_dir)}
    rc = 0
    try:
        print(f"starting the stack in {state_dir} ...", flush=True)
        stack.start_infra()
        assert stack.infra is not None
        report["infra"] = stack.infra.kind
        stack.migrate()
        stack.start_all()
        stack.wait_ready()
        report.update(asyncio.run(measure(stack, args)))
    except KeyboardInterrupt:
        print("interrupted; stopping the stack ...", file=sys.stderr, flush=True)
        rc = 130
    except Exception as exc:
        report["failure"] = repr(exc)
        print(f"benchmark failed: {exc!r}", file=sys.stderr, flush=True)
        rc = 1
    finally:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # let the stop finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        report["exited"] = {
            name: proc.popen.returncode for name, proc in stack.processes.items() if proc.popen.poll() is not None
        }
        report["machine"]["loadavg_end"] = os.getloadavg()
        stack.stop()
        signal.signal(signal.SIGINT, previous)
    report.setdefault("infra", "not started")
    report["logs"] = scan_logs(stack.log_dir) if stack.log_dir.exists() else {}
    if rc == 130:
        shutil.rmtree(state_dir, ignore_errors=True)
        return rc
    troubled = rc != 0 or report["exited"] or any(f["error_lines"] for f in report["logs"].values())
    gateway = report.get("gateway", {})
    troubled = troubled or gateway.get("http", {}).get("errors") or gateway.get("delivery", {}).get("never_arrived")
    if args.keep:
        pass
    elif troubled:  # keep the logs to read, not the data
        for entry in state_dir.iterdir():
            if entry.name == "logs":
                continue
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink()
        report["log_dir_kept"] = True
    else:
        shutil.rmtree(state_dir, ignore_errors=True)
        report["log_dir"] += " (removed)"
    print(table(report), flush=True)
    encoded = json.dumps(report, indent=2, default=str)
    if args.json:
        Path(args.json).write_text(encoded + "\n")
        print(f"\nfigures written to {args.json}")
    else:
        print("\n" + encoded)
    return rc


if __name__ == "__main__":
    sys.exit(main())
