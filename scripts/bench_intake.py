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
import bisect
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

from contracts import to_headers
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


# --- sampling profiles (py-spy) -----------------------------------------------------------------
PROFILED = ("gateway-api", "leads-api", "notifications-worker")


class Profiler:
    """py-spy records each named process (and its granian worker) while the measured window runs.

    `--nonblocking` samples without pausing the target; `--gil` samples only the thread holding the GIL, which
    is close to CPU time (idle waits and threads blocked in C are not counted). py-spy itself costs CPU on the
    machine (about 0.1 core per profiled process at 50 Hz), so take throughput figures from a run without it.
    """

    def __init__(self, stack: Stack, out_dir: Path, names: tuple[str, ...] = PROFILED, rate: int = 50) -> None:
        self.stack, self.out_dir, self.names, self.rate = stack, out_dir, names, rate
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            proc = self.stack.processes.get(name)
            if proc is None:
                continue
            self.running[name] = subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(proc.popen.pid),
                    "--subprocesses",
                    "--nonblocking",
                    "--gil",
                    "--rate",
                    str(self.rate),
                    "--format",
                    "raw",
                    "--output",
                    str(self.out_dir / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(self.out_dir / f"{name}.py-spy.log").open("wb"),
            )

    def stop(self, items: int) -> dict[str, Any]:
        for proc in self.running.values():
            proc.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        for proc in self.running.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        return {name: summarise_profile(self.out_dir / f"{name}.txt", self.rate, items) for name in self.running}


def summarise_profile(path: Path, rate: int, items: int, top: int = 12) -> dict[str, Any]:
    """From py-spy's collapsed stacks: sampled ms per item in all, by leaf function and by the leaf's package
    (self time), and the inclusive time of our own functions (kit, contracts, the services)."""
    if not path.exists():
        return {"error": f"no profile written ({path.name})"}
    leaf: Counter[str] = Counter()
    package: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if frames:
            leaf[frames[-1].rsplit(":", 1)[0] + ")"] += n
            package[_package(frames[-1])] += n
        for where in {f.rsplit(":", 1)[0] + ")" for f in frames if _package(f) in OWN_PACKAGES} - ENTRY_FRAMES:
            ours[where] += n

    def per_item(samples: int) -> float:
        return round(samples * 1000 / rate / max(items, 1), 3)

    return {
        "samples": total,
        "rate_hz": rate,
        "sampled_ms_per_item": per_item(total),
        "self_ms_per_item": [[f, per_item(n)] for f, n in leaf.most_common(top)],
        "self_ms_per_item_by_package": [[f, per_item(n)] for f, n in package.most_common(top)],
        "own_code_inclusive_ms_per_item": [[f, per_item(n)] for f, n in ours.most_common(top)],
    }


def scale_profiles(profiles: dict[str, Any], cpu: dict[str, Any], items: int) -> dict[str, Any]:
    """Samples taken while a thread holds the GIL overcount when the machine is oversubscribed (a thread
    descheduled by the OS still holds it), so each profile's shares are scaled to the CPU time /proc measured
    for that process: `*_ms_per_item` = share of samples x measured CPU ms per lead."""
    out = {}
    for name, prof in profiles.items():
        if "error" in prof or not prof["sampled_ms_per_item"]:
            out[name] = prof
            continue
        measured = cpu["cpu_s"].get(name, 0.0) * 1000 / max(items, 1)
        factor = measured / prof["sampled_ms_per_item"]
        scaled = {
            key: [[where, round(v * factor, 3)] for where, v in value]
            for key, value in prof.items()
            if "_per_item" in key and isinstance(value, list)
        }
        out[name] = {**prof, **scaled, "cpu_ms_per_item_measured": round(measured, 3)}
    return out


OWN_PACKAGES = {"kit", "contracts", "gateway", "leads", "notifications", "funnel", "sandbox"}
#: Our frames under every sample of a process (its entry point), which say nothing.
ENTRY_FRAMES = {
    *(f"<module> ({s}/__main__.py)" for s in OWN_PACKAGES),
    "service_main (kit/cli.py)",
    "run (kit/serve.py)",
}


def _package(frame: str) -> str:
    """`func (litestar/app.py:623)` -> `litestar`; the standard library counts as its module (`asyncio`)."""
    match = re.search(r"\(([^():]+)(?::\d+)?\)$", frame)
    if not match:
        return "?"
    path = match.group(1)
    return path.split("/", 1)[0].removesuffix(".py") if not path.startswith("<") else "<frozen>"


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
            profiler = Profiler(stack, Path(args.profile)) if args.profile else None
            if profiler:
                profiler.start()
            before = cpu_sample(stack)
            first_post = time.time()
            results, wall = await post_leads(http, measured, c)
            posted = time.time()
            print(f"  {n} POSTs in {wall:.1f}s; waiting for the WhatsApp messages ...", flush=True)
            ok = [r for r in results if r["status"] == 201]
            wanted = {wire_phone(r["phone"]) for r in ok}
            received, copies, _ = await wait_deliveries(sandbox, wanted, within=args.delivery_timeout)
            after = cpu_sample(stack)
            profiles = profiler.stop(n) if profiler else None
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
        "cpu": (cpu := cpu_usage(before, after)),
        **({"profiles": scale_profiles(profiles, cpu, n)} if profiles else {}),
    }


# --- footprint ----------------------------------------------------------------------------------
def rss_by_process(stack: Stack) -> dict[str, dict[str, float]]:
    """Resident memory (MB) of every OS process of each stack process: granian runs a parent and a worker."""
    sessions = {proc.popen.pid: name for name, proc in stack.processes.items()}
    out: dict[str, dict[str, float]] = {}
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        stat = _read_stat(pid)
        if stat is None or stat[1] not in sessions:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", _read(f"/proc/{pid}/status"))
        if match:
            role = "main" if int(pid) == stat[1] else f"child {pid}"
            out.setdefault(sessions[stat[1]], {})[role] = round(int(match.group(1)) / 1024, 1)
    return dict(sorted(out.items()))


# --- open loop: a fixed arrival rate --------------------------------------------------------------
async def rate_phase(stack: Stack, args: argparse.Namespace, rates: list[int]) -> list[dict[str, Any]]:
    """Each offered rate for `--rate-seconds`: a POST starts every 1/rate s whether or not the earlier ones
    have answered (open loop: latency is counted from the scheduled start, so queueing is not hidden)."""
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    results = []
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, limits=limits, timeout=60.0) as http,
        httpx.AsyncClient(base_url=stack.url("sandbox"), timeout=30.0) as sandbox,
    ):
        session = Session(http)
        await session.login()
        try:
            warm = phones(args.warmup)
            await post_leads(http, warm, 8)
            await wait_deliveries(sandbox, {wire_phone(p) for p in warm}, within=60.0)
            for rate in rates:
                if results and not results[-1]["held"]:
                    results.append({"offered_per_s": rate, "held": False, "skipped": "a lower rate was not held"})
                    continue
                (await sandbox.delete(SANDBOX_MESSAGES)).raise_for_status()
                results.append(await one_rate(stack, http, sandbox, rate, args))
                print(f"  {rate}/s: {summary_of_rate(results[-1])}", flush=True)
        finally:
            await session.close()
    return results


async def one_rate(
    stack: Stack, http: httpx.AsyncClient, sandbox: httpx.AsyncClient, rate: int, args: argparse.Namespace
) -> dict[str, Any]:
    count = max(1, int(rate * args.rate_seconds))
    numbers = phones(count)
    records: list[dict[str, Any]] = []

    async def create(phone: str, scheduled: float) -> None:
        body = {"name": LEAD_NAME, "phone": phone, "source": LEAD_SOURCE}
        try:
            answer = await http.post("/api/v1/leads", json=body)
            status: int | str = answer.status_code
        except httpx.HTTPError as exc:
            answer, status = None, type(exc).__name__
        done = time.perf_counter()
        record: dict[str, Any] = {
            "phone": phone,
            "status": status,
            "latency": done - scheduled,
            "done_wall": time.time(),
        }
        if answer is not None and answer.status_code == 201:
            lead = answer.json()
            record.update(id=lead["id"], created_at=datetime.fromisoformat(lead["created_at"]).timestamp())
        records.append(record)

    print(f"open loop: {rate} leads/s for {args.rate_seconds:.0f} s ...", flush=True)
    before = cpu_sample(stack)
    start, start_wall = time.perf_counter(), time.time()
    tasks: list[asyncio.Task[None]] = []
    # Past this many requests in flight the rate is plainly not held; sending on would only queue minutes of
    # work in the client, so the step stops there and is reported as overloaded.
    in_flight_cap = max(100, 2 * rate)
    overloaded = False
    for i, phone in enumerate(numbers):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(tasks) - len(records) > in_flight_cap:
            overloaded = True
            break
        tasks.append(asyncio.create_task(create(phone, scheduled)))
    count = len(tasks)
    send_lag = time.perf_counter() - (start + (count - 1) / rate)  # > 0: the client itself fell behind
    await asyncio.gather(*tasks)
    posted_wall = time.time()
    ok = [r for r in records if r["status"] == 201]
    wanted = {wire_phone(r["phone"]) for r in ok}
    received, copies, _ = await wait_deliveries(sandbox, wanted, within=args.delivery_timeout, interval=0.5)
    cpu = cpu_usage(before, cpu_sample(stack))
    stages = await stage_breakdown(stack, [r["id"] for r in ok], received)
    window = count / rate
    # Backlog over the sending window, second by second, from the timestamps: leads answered 201 but whose
    # message has not reached the provider yet. Its growth per second in the second half says whether the
    # system keeps up with the offered rate.
    answered = sorted(r["done_wall"] - start_wall for r in ok)
    delivered = sorted(v - start_wall for v in received.values())
    backlog = [
        _count_le(answered, t) - _count_le(delivered, t) for t in [x * 0.5 for x in range(1, int(window * 2) + 1)]
    ]
    half = backlog[len(backlog) // 2 :]
    growth = (half[-1] - half[0]) / (0.5 * (len(half) - 1)) if len(half) > 1 else 0.0
    to_received = [received[wire_phone(r["phone"])] - r["created_at"] for r in ok if wire_phone(r["phone"]) in received]
    achieved = len(ok) / max(posted_wall - start_wall, 1e-9)
    held = (
        not overloaded
        and len(ok) == count
        and len(received) == len(wanted)
        and growth <= 0.05 * rate
        and send_lag < 0.5
        and achieved >= 0.9 * rate
    )
    return {
        "offered_per_s": rate,
        "sent": count,
        "overloaded": overloaded,
        "created_201": len(ok),
        "errors": count - len(ok),
        "client_send_lag_s": round(send_lag, 3),
        "answered_per_s": round(achieved, 1),
        "post_latency_from_schedule_ms": ms([r["latency"] for r in records]),
        "commit_to_received_ms": ms(to_received),
        "delivered": len(received),
        "duplicates": sum(1 for v in copies.values() if v > 1),
        "backlog_growth_per_s": round(growth, 1),
        "backlog_max": max(backlog) if backlog else 0,
        "held": held,
        "stages": stages,
        "cpu_ms_per_lead": {
            name: round(used * 1000 / max(len(ok), 1), 2)
            for name, used in cpu["cpu_s"].items()
            if used >= 0.05 and not name.startswith(("interrupts", "stolen"))
        },
        "machine_busy_pct": cpu["machine_busy_pct_of_all_cores"],
    }


def _count_le(ordered: list[float], t: float) -> int:
    return bisect.bisect_right(ordered, t)


def summary_of_rate(r: dict[str, Any]) -> str:
    post, e2e = r["post_latency_from_schedule_ms"], r["commit_to_received_ms"]
    return (
        f"{'HELD' if r['held'] else 'not held'}{' (overloaded: stopped sending)' if r['overloaded'] else ''}; "
        f"answered {r['answered_per_s']}/s, POST p50/p99 {post['p50']}/"
        f"{post['p99']} ms, commit -> provider p50/p99 {e2e['p50']}/{e2e['p99']} ms, "
        f"backlog +{r['backlog_growth_per_s']}/s"
    )


# --- scale-out: the notifications worker as 1, 2, 4 processes in one consumer group -----------------
async def scale_phase(stack: Stack, args: argparse.Namespace, counts: list[int]) -> list[dict[str, Any]]:
    """For each count, that many notifications workers (one consumer group over the topic's partitions);
    a burst of `--scale-leads` leads is posted and the end-to-end rate and CPU per message are measured."""
    from contracts.topics import LEADS as leads_topic

    extra: list[subprocess.Popen[bytes]] = []
    results = []
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with (
        httpx.AsyncClient(base_url=stack.gateway_url, limits=limits, timeout=60.0) as http,
        httpx.AsyncClient(base_url=stack.url("sandbox"), timeout=30.0) as sandbox,
    ):
        session = Session(http)
        await session.login()
        try:
            for n in counts:
                while 1 + len(extra) < n:
                    extra.append(_spawn_worker(stack, len(extra) + 2))
                while 1 + len(extra) > n:
                    _stop(extra.pop())
                await asyncio.sleep(8.0)  # the group rebalances over the partitions
                (await sandbox.delete(SANDBOX_MESSAGES)).raise_for_status()
                numbers = phones(args.scale_leads)
                print(f"scale-out: {n} notifications worker(s), {len(numbers)} leads ...", flush=True)
                before = _group_cpu(stack, extra)
                first = time.time()
                results_http, _ = await post_leads(http, numbers, args.concurrency)
                wanted = {wire_phone(r["phone"]) for r in results_http if r["status"] == 201}
                received, _, _ = await wait_deliveries(sandbox, wanted, within=args.delivery_timeout, interval=0.5)
                cpu = _group_cpu(stack, extra) - before
                last = max(received.values()) if received else first
                ids = [r["id"] for r in results_http if r["status"] == 201]
                stages = await stage_breakdown(stack, ids, received)
                results.append(
                    {
                        "workers": n,
                        "partitions": leads_topic.partitions,
                        "leads": len(numbers),
                        "delivered": len(received),
                        "end_to_end_msgs_per_s": round(len(received) / max(last - first, 1e-9), 1),
                        "notifications_worker_cpu_ms_per_msg": round(cpu * 1000 / max(len(received), 1), 2),
                        # what became of the leads whose message did not arrive in time: queued by the consumer
                        # (rows) and where the dispatcher had got with them (statuses)
                        "messages_rows": stages["messages_rows"],
                        "message_status": stages["message_status"],
                        "relayed_to_queued_ms": stages["relayed_to_queued_ms"],
                        "queued_to_received_ms": stages["queued_to_received_ms"],
                    }
                )
                print(f"  {results[-1]}", flush=True)
        finally:
            await session.close()
            for proc in extra:
                _stop(proc)
    return results


def _spawn_worker(stack: Stack, index: int) -> subprocess.Popen[bytes]:
    from devkit.infra import free_port

    env = {**stack.env(), "NOTIFICATIONS_WORKER_PORT": str(free_port())}
    log = (stack.log_dir / f"notifications-worker-{index}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "notifications", "worker"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


def _group_cpu(stack: Stack, extra: list[subprocess.Popen[bytes]]) -> float:
    """CPU seconds of every notifications worker process (each leads its own session)."""
    sessions = {stack.processes["notifications-worker"].popen.pid, *(p.pid for p in extra)}
    total = 0.0
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        stat = _read_stat(pid)
        if stat is not None and stat[1] in sessions:
            total += stat[2]
    return total


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
    event: dict[str, Any]  # the outbox row as kit.db.UnitOfWork.commit writes it
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
        meta = uow.publish(event, tenant_id=tenant)
        outbox_row = {
            "event_id": meta.id,
            "topic": event.TOPIC,
            "key": meta.subject,
            "event_type": meta.type,
            "headers": [[k, v.decode()] for k, v in to_headers(meta)],
            "payload": msgspec.json.encode(event),  # clear: the services' sealed one is ~250 bytes longer
        }
        rows.append(Row(lead, outbox_row))
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
    out: dict[str, Any] = {}
    if args.rate:
        rates = [int(r) for r in args.rate.split(",")]
        out["open_loop"] = await rate_phase(stack, args, rates)
        held = [r["offered_per_s"] for r in out["open_loop"] if r["held"]]
        out["highest_rate_held_per_s"] = max(held) if held else None
    if args.workers:
        out["scale_out"] = await scale_phase(stack, args, [int(n) for n in args.workers.split(",")])
    if args.rate or args.workers:
        return out
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


def _run_of(a: dict[str, Any]) -> str:
    if a.get("rate"):
        return f"open loop at {a['rate']} leads/s, {a['rate_seconds']:.0f} s each, warm-up {a['warmup']}"
    if a.get("workers"):
        return f"scale-out, {a['workers']} workers, {a['scale_leads']} leads each, C={a['concurrency']}"
    return f"{a['leads']} leads, concurrency {a['concurrency']}, warm-up {a['warmup']}"


def table(report: dict[str, Any]) -> str:
    f, a = report["machine"], report["args"]
    lines = [
        "",
        f"ClinicFlow intake benchmark  ({f['date_utc']}, git {f['git']})",
        f"  machine   {f['nproc']} CPUs ({f['cpu_model']}), {f['mem_gib']} GiB, Python {f['python']}, "
        f"loadavg at start {' '.join(f'{x:.2f}' for x in f['loadavg_start'])}",
        f"  run       {_run_of(a)}; infra {report['infra']}",
    ]
    if "startup_s" in report:
        st = report["startup_s"]
        lines.append(
            f"  start-up  {st['total_up_to_all_ready']} s to all ready (infrastructure {st['infrastructure']} s, "
            f"migrations {st['migrations']} s, services {st['services_to_ready']} s)"
        )
        if "startup_cpu_s" in report:
            cpu = report["startup_cpu_s"]
            busiest = ", ".join(f"{name} {sec}" for name, sec in list(cpu["by_process"].items())[:4])
            lines.append(f"  start-up CPU {cpu['total']} s over all processes (busiest: {busiest})")
        rss = report.get("idle_rss_mb", {})
        lines.append(
            "  idle RSS MB  "
            + "; ".join(f"{name} {' + '.join(str(v) for v in roles.values())}" for name, roles in rss.items())
        )
    if "open_loop" in report or "scale_out" in report:
        for r in report.get("open_loop", []):
            if "skipped" in r:
                lines += ["", f"Offered {r['offered_per_s']} leads/s: not run ({r['skipped']})"]
                continue
            st = r["stages"]
            lines += [
                "",
                f"Offered {r['offered_per_s']} leads/s ({r['sent']} leads): {summary_of_rate(r)}",
                f"  POST latency from its scheduled start  {fmt_lat(r['post_latency_from_schedule_ms'])}",
                f"  lead committed -> received by provider {fmt_lat(r['commit_to_received_ms'])}",
                f"  commit -> relayed                      {fmt_lat(st['commit_to_relayed_ms'])}",
                f"  relayed -> queued in notifications     {fmt_lat(st['relayed_to_queued_ms'])}",
                f"  queued -> received by the provider     {fmt_lat(st['queued_to_received_ms'])}",
                f"  delivered {r['delivered']}/{r['created_201']}, errors {r['errors']}, duplicates {r['duplicates']}, "
                f"backlog max {r['backlog_max']}, client send lag {r['client_send_lag_s']} s, "
                f"machine busy {r['machine_busy_pct']}%",
                "  CPU ms per lead: " + ", ".join(f"{k} {v}" for k, v in r["cpu_ms_per_lead"].items()),
            ]
        if "open_loop" in report:
            lines += ["", f"Highest offered rate held without a growing backlog: {report['highest_rate_held_per_s']}/s"]
        for r in report.get("scale_out", []):
            lines.append(
                f"Scale-out: {r['workers']} notifications worker(s) over {r['partitions']} partitions: "
                f"{r['end_to_end_msgs_per_s']} msg/s end to end, {r['notifications_worker_cpu_ms_per_msg']} ms CPU "
                f"per message (all workers), delivered {r['delivered']}/{r['leads']}"
            )
    elif "gateway" not in report:
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
        for name, prof in g.get("profiles", {}).items():
            if "error" in prof:
                lines.append(f"  profile {name}: {prof['error']}")
                continue
            lines.append("")
            lines.append(
                f"Profile {name} (py-spy --gil, {prof['rate_hz']} Hz, {prof['samples']} samples), scaled to its "
                f"measured {prof.get('cpu_ms_per_item_measured')} ms CPU per lead; self ms per lead by package: "
                + ", ".join(f"{w} {m}" for w, m in prof["self_ms_per_item_by_package"][:8])
            )
            lines.append("  top functions, self ms per lead:")
            lines += [f"    {ms_:>7.3f}  {where}" for where, ms_ in prof["self_ms_per_item"][:10]]
            lines.append("  our own code, inclusive ms per lead:")
            lines += [f"    {ms_:>7.3f}  {where}" for where, ms_ in prof["own_code_inclusive_ms_per_item"][:10]]
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
    parser.add_argument(
        "--profile", metavar="DIR", help="py-spy the gateway, leads api and notifications worker into DIR"
    )
    parser.add_argument(
        "--rate", metavar="R1,R2,...", help="open loop instead: offered leads/s, e.g. 50,100,200,400 (no ceiling run)"
    )
    parser.add_argument("--rate-seconds", type=float, default=10.0, help="how long each offered rate runs")
    parser.add_argument(
        "--workers", metavar="N1,N2,...", help="scale-out instead: notifications workers in one group, e.g. 1,2,4"
    )
    parser.add_argument("--scale-leads", type=int, default=1000, help="leads per scale-out step (default 1000)")
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
        # What `just up` does (Stack.up): servers side by side, databases migrated in parallel, each service
        # started as soon as its own database is ready. Phases are seconds from the start.
        phases = stack.up()
        assert stack.infra is not None
        report["infra"] = stack.infra.kind
        report["startup_s"] = {
            "infrastructure": phases["infrastructure"],
            "migrations": round(phases["migrations"] - phases["infrastructure"], 2),
            "services_to_ready": round(phases["all_ready"] - phases["migrations"], 2),
            "total_up_to_all_ready": phases["all_ready"],
        }
        # CPU spent to get there, the figure that survives a loaded machine: every process of the stack so far,
        # this script, and what it waited for (migrations, initdb).
        at_ready, times = cpu_sample(stack), os.times()
        spent = {name: round(cpu, 2) for name, cpu in sorted(at_ready.groups.items(), key=lambda kv: -kv[1])}
        spent["bench (start-up, migrations)"] = round(at_ready.client + times.children_user + times.children_system, 2)
        report["startup_cpu_s"] = {"total": round(sum(spent.values()), 1), "by_process": spent}
        time.sleep(3.0)  # let start-up settle before reading the idle footprint
        report["idle_rss_mb"] = rss_by_process(stack)
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
    troubled = troubled or any(
        r.get("errors") or r.get("delivered", 0) < r.get("created_201", 0) for r in report.get("open_loop", [])
    )
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
