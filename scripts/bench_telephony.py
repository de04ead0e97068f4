"""Telephony ingress benchmark: signed Zadarma call events through the gateway's public ingress.

    just bench telephony [--events N] [--concurrency C] [--warmup W] [--profile DIR]

Starts its own stack on free ports in a temporary folder (like bench_intake), connects Zadarma for the default
clinic, then posts N signed NOTIFY_START events (N distinct calls: each is verified, stored once, folded into a
call record and written to the outbox with call.started) at concurrency C:
  1. through the gateway (`/webhooks/telephony/zadarma?clinic=`): events/s and latency percentiles;
  2. the ceiling in the same run: the same kind of events straight to the telephony api (no gateway hop).
Each phase also reports the CPU ms per event of every process (from /proc, bench_intake's accounting), the load
average at its start and end, and with --profile DIR py-spy profiles of the gateway and the telephony api
(PATH or the venv must have py-spy: `uv pip install py-spy`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Stack
from sandbox.telephony import zadarma_signature

sys.path.insert(0, str(Path(__file__).parent))
import bench_intake  # (the CPU accounting and py-spy profiler are shared with the intake bench)

PROFILED = ("gateway-api", "telephony-api")


def signed_start(secret: str) -> tuple[bytes, dict[str, str]]:
    fields = {
        "event": "NOTIFY_START",
        "call_start": "2026-12-01 12:00:00",
        "pbx_call_id": f"in_{uuid.uuid4().hex}",
        "caller_id": "+5511987654321",
        "called_did": "+551130000001",
    }
    text = fields["caller_id"] + fields["called_did"] + fields["call_start"]
    headers = {"Signature": zadarma_signature(secret, text), "content-type": "application/x-www-form-urlencoded"}
    return urlencode(fields).encode(), headers


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def run(url: str, secret: str, events: int, concurrency: int) -> dict[str, Any]:
    payloads = [signed_start(secret) for _ in range(events)]
    latencies: list[float] = []
    errors: dict[int, int] = {}
    queue = iter(payloads)
    async with httpx.AsyncClient(timeout=30.0, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            for body, headers in queue:
                began = time.perf_counter()
                answer = await client.post(url, content=body, headers=headers)
                latencies.append((time.perf_counter() - began) * 1000)
                if answer.status_code != 200:
                    errors[answer.status_code] = errors.get(answer.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return {
        "events": events,
        "events_per_s": round(events / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50), 1),
        "p95_ms": round(percentile(latencies, 95), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "errors": errors,
    }


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def phase(stack: Stack, label: str, args: argparse.Namespace, url: str, secret: str) -> dict[str, Any]:
    profiler = bench_intake.Profiler(stack, Path(args.profile) / label, PROFILED) if args.profile else None
    if profiler:
        profiler.start()
        await asyncio.sleep(1.0)  # py-spy attaches before the first request
    load_before, before = load(), bench_intake.cpu_sample(stack)
    out = await run(url, secret, args.events, args.concurrency)
    after = bench_intake.cpu_sample(stack)
    usage = bench_intake.cpu_usage(before, after)
    per = {name: round(s * 1000 / args.events, 2) for name, s in usage["cpu_s"].items() if s >= 0.005}
    out["cpu_ms_per_event"] = per
    out["load_average"] = {"start": load_before, "end": load()}
    if profiler:
        cpu = {"cpu_ms_per_delivery": per, **usage}
        out["profiles"] = bench_intake.scale_profiles(profiler.stop(args.events), cpu, args.events)
    return out


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30.0) as http:
        login = await http.post(
            "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
        )
        login.raise_for_status()
        http.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        secret = uuid.uuid4().hex
        connected = await http.put("/api/v1/telephony/providers/zadarma", json={"secret": secret})
        connected.raise_for_status()
    clinic = parse_qs(urlparse(connected.json()["webhook_url"]).query)["clinic"][0]
    path = f"/webhooks/telephony/zadarma?clinic={clinic}"
    gateway_url = f"{stack.gateway_url}{path}"
    direct_url = f"{stack.url('telephony-api')}{path}"
    await run(gateway_url, secret, args.warmup, args.concurrency)
    gateway = await phase(stack, "gateway", args, gateway_url, secret)
    ceiling = await phase(stack, "direct", args, direct_url, secret)
    gateway["ratio_to_ceiling"] = round(gateway["events_per_s"] / ceiling["events_per_s"], 2)
    return {"gateway": gateway, "ceiling_telephony_api_direct": ceiling}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--profile", metavar="DIR", help="py-spy the gateway and the telephony api into DIR")
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="clinicflow-bench-telephony-"))
    stack = Stack(state_dir, free_ports=True)
    report: dict[str, Any] = {"args": vars(args)}
    try:
        print(f"starting the stack in {state_dir} ...", flush=True)
        stack.start_infra()
        stack.migrate()
        stack.start_all()
        stack.wait_ready()
        report.update(asyncio.run(measure(stack, args)))
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
