"""Payments webhook ingress benchmark: valid signed Mercado Pago notifications through the gateway.

    just bench payments [--deliveries N] [--concurrency C] [--payments K] [--warmup W] [--json PATH]
                        [--ingress-only] [--profile DIR]

Starts its own stack (embedded PostgreSQL, Valkey, Tansu, every service, the sandboxes; with --ingress-only
only the gateway, payments and the provider sandboxes) on free ports in a temporary folder, creates W + K
charges and pays them on the Mercado Pago sandbox with its webhooks turned off, then sends correctly signed
notifications and measures, at concurrency C, with the CPU each process spent per delivery:
  1. first deliveries through the gateway: one per payment for the K payments (signature check, one read of
     the receipts, GET /v1/payments/{id} at the provider, receipt + row lock + state change + outbox row);
  2. redeliveries through the gateway: N retries of those notifications (the same notification ids, as the
     provider retries): signature check and one read, no provider call;
  3. the same N redeliveries straight to the payments api (what the gateway hop costs);
  4. Stripe first deliveries: K signed `checkout.session.completed` events for a clinic on the Stripe
     sandbox (the signed body is authoritative: no call back to the provider);
  5. the bare ceiling on the same servers: the provider's GET /v1/payments/{id} alone, and asyncpg
     transactions doing a delivery's database work (receipt insert, charge row lock, commit).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import msgspec

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, ROOT, Stack
from kit.outbox import plain_dsn
from payments.providers import stripe as stripe_adapter
from payments.providers.mercadopago import sign

sys.path.insert(0, str(Path(__file__).parent))
import bench_intake  # the CPU accounting and py-spy profiler are shared with the intake bench

bench_intake.OWN_PACKAGES.add("payments")
PROFILED = ("gateway-api", "payments-api", "sandbox_payments")
INGRESS_PROCESSES = (
    "gateway-api",
    "gateway-worker",
    "payments-api",
    "payments-worker",
    "sandbox_payments",
    "sandbox_stripe",
)


def cpu_per_item(before: bench_intake.CpuSample, after: bench_intake.CpuSample, items: int) -> dict[str, Any]:
    """CPU ms per delivery of each process of the stack (from /proc), the figure a loaded machine cannot blur."""
    usage = bench_intake.cpu_usage(before, after)
    per = {name: round(s * 1000 / max(items, 1), 2) for name, s in usage["cpu_s"].items() if s >= 0.005}
    ours = sum(v for k, v in per.items() if not k.startswith(("other processes", "interrupts", "stolen")))
    return {"cpu_ms_per_delivery": per, "stack_cpu_ms_per_delivery": round(ours, 2), **usage}


async def db_counters(stack: Stack) -> tuple[int, int]:
    """(sessions opened, transactions committed) on the payments database so far (pg_stat_database)."""
    conn = await asyncpg.connect(plain_dsn(stack.database_url("payments")))
    try:
        row = await conn.fetchrow(
            "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    assert row is not None
    return int(row["sessions"]), int(row["xact_commit"])


async def phase(
    stack: Stack, label: str, args: argparse.Namespace, run: Callable[[], Awaitable[tuple[list[dict[str, Any]], float]]]
) -> dict[str, Any]:
    """Run one measured phase with its CPU accounting (and py-spy when --profile names a folder)."""
    profiler = bench_intake.Profiler(stack, Path(args.profile) / label, PROFILED) if args.profile else None
    if profiler:
        profiler.start()
        await asyncio.sleep(1.0)  # py-spy attaches before the first request
    counters = await db_counters(stack)
    before = bench_intake.cpu_sample(stack)
    results, wall = await run()
    after = bench_intake.cpu_sample(stack)
    sessions, commits = (b - a for a, b in zip(counters, await db_counters(stack), strict=True))
    out = {
        **summary(results, wall),
        "cpu": cpu_per_item(before, after, len(results)),
        # Connections the pools had to open (overflow beyond the pool size is closed again after use).
        "db_sessions_opened": sessions - 1,  # less the counter's own connection
        "db_commits_per_delivery": round(commits / max(len(results), 1), 2),
    }
    if profiler:
        out["profiles"] = bench_intake.scale_profiles(profiler.stop(len(results)), out["cpu"], len(results))
    return out


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(values)

    def rank(p: float) -> float:
        return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]

    return {
        k: round(v * 1000, 2)
        for k, v in (("p50", rank(50)), ("p95", rank(95)), ("p99", rank(99)), ("max", ordered[-1]))
    }


async def run_concurrently(
    items: list[Any], concurrency: int, op: Callable[[Any], Awaitable[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], float]:
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


def summary(results: list[dict[str, Any]], wall: float) -> dict[str, Any]:
    ok = [r for r in results if r.get("ok")]
    return {
        "requests": len(results),
        "ok": len(ok),
        "errors": len(results) - len(ok),
        "throughput_per_s": round(len(ok) / wall, 1) if wall else None,
        "latency_ms": percentiles([r["latency"] for r in ok]),
        "outcomes": dict(Counter(r.get("outcome", "error") for r in results)),
        "error_samples": [r.get("error") for r in results if not r.get("ok")][:3],
    }


# --- setup: charges paid at the provider, no webhooks yet -------------------------------------------
async def prepare(stack: Stack, count: int) -> tuple[str, list[str], str]:
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30.0) as api:
        login = await api.post(
            "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
        )
        api.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        clinic = (await api.get("/api/v1/me")).json()["tenant"]["id"]
        async with httpx.AsyncClient(base_url=stack.url("sandbox_payments"), timeout=30.0) as provider:
            await provider.post("/sandbox/payments/control", json={"mode": "none"})

            async def one(n: int) -> dict[str, Any]:
                made = await api.post(
                    "/api/v1/payments/payments",
                    json={
                        "person": {"lead_id": str(uuid.uuid4()), "name": f"Paciente {n}"},
                        "description": "Bench",
                        "amount": "100.00",
                    },
                )
                made.raise_for_status()
                page = await provider.get(made.json()["url"])
                pref = re.search(r'name="pref_id" value="([^"]+)"', page.text)
                assert pref, page.text
                form = {"pref_id": pref.group(1), "method": "pix"}
                await provider.post("/checkout/v1/method", data=form)
                paid = await provider.post("/checkout/v1/pay", data=form)
                found = re.search(r'<span id="payment-id">(\d+)</span>', paid.text)
                assert found, paid.text
                return {"payment_id": found.group(1)}

            made, _ = await run_concurrently(list(range(count)), 8, one)
    secret = (stack.state_dir / "secrets" / "mercadopago-webhook-secret").read_text().strip()
    return clinic, [m["payment_id"] for m in made], secret


# --- Stripe: the signed body is authoritative, so a delivery needs no call back to the provider ----------
async def prepare_stripe(stack: Stack, count: int) -> tuple[str, str, list[dict[str, Any]]]:
    """A second clinic connects Stripe (the sandbox) and makes `count` Checkout Sessions; returns the clinic,
    its webhook signing secret and the sessions as the `checkout.session.completed` event will carry them."""
    secret = "whsec_bench_" + uuid.uuid4().hex
    key = (stack.state_dir / "secrets" / "stripe-secret-key").read_text().strip()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30.0) as api:
        login = await api.post(
            "/api/v1/auth/login", json={"email": DEFAULT_ADMIN_EMAIL, "password": DEFAULT_ADMIN_PASSWORD}
        )
        api.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        email = f"bench-{uuid.uuid4().hex[:8]}@clinic.example"
        made = await api.post(
            "/api/v1/clinics",
            json={
                "name": "Bench Stripe",
                "country": "BR",
                "locale": "pt-BR",
                "timezone": "America/Sao_Paulo",
                "admin": {"email": email, "full_name": "Bench", "password": "a-long-password", "roles": ["admin"]},
            },
        )
        made.raise_for_status()
        login = await api.post("/api/v1/auth/login", json={"email": email, "password": "a-long-password"})
        api.headers["authorization"] = f"Bearer {login.json()['access_token']}"
        clinic = (await api.get("/api/v1/me")).json()["tenant"]["id"]
        saved = await api.put(
            "/api/v1/payments/settings",
            json={
                "provider": "stripe",
                "access_token": f"sk_test_{key}",
                "webhook_secret": secret,
                "api_url": stack.url("sandbox_stripe"),
            },
        )
        saved.raise_for_status()

        async def one(n: int) -> dict[str, Any]:
            answer = await api.post(
                "/api/v1/payments/payments",
                json={
                    "person": {"lead_id": str(uuid.uuid4()), "name": f"Paciente {n}"},
                    "description": "Bench",
                    "amount": "100.00",
                    "methods": ["credit"],
                },
            )
            answer.raise_for_status()
            charge = answer.json()
            return {
                "id": charge["url"].rsplit("/", 1)[1],
                "object": "checkout.session",
                "amount_total": 10000,
                "currency": "brl",
                "client_reference_id": charge["id"],
                "metadata": {"charge_id": charge["id"]},
                "mode": "payment",
                "payment_intent": f"pi_bench_{uuid.uuid4().hex[:16]}",
                "payment_method_types": ["card"],
                "payment_status": "paid",
                "status": "complete",
            }

        sessions, _ = await run_concurrently(list(range(count)), 8, one)
    return clinic, secret, sessions


async def deliver_stripe(
    base_url: str, clinic: str, secret: str, sessions: list[dict[str, Any]], concurrency: int
) -> tuple[list[dict[str, Any]], float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as http:

        async def one(session: dict[str, Any]) -> dict[str, Any]:
            body = msgspec.json.encode(
                {
                    "id": f"evt_bench_{uuid.uuid4().hex}",
                    "object": "event",
                    "api_version": "2024-06-20",
                    "created": int(time.time()),
                    "data": {"object": session},
                    "livemode": False,
                    "type": "checkout.session.completed",
                }
            )
            headers = {
                "content-type": "application/json",
                "stripe-signature": stripe_adapter.sign(secret, body, int(time.time())),
            }
            started = time.perf_counter()
            try:
                answer = await http.post(
                    "/webhooks/payments/stripe", params={"clinic": clinic}, content=body, headers=headers
                )
            except httpx.HTTPError as exc:
                return {"ok": False, "latency": time.perf_counter() - started, "error": repr(exc)}
            latency = time.perf_counter() - started
            if answer.status_code != 200:
                return {"ok": False, "latency": latency, "error": f"{answer.status_code} {answer.text[:200]}"}
            return {"ok": True, "latency": latency, "outcome": answer.json()["outcome"]}

        return await run_concurrently(sessions, concurrency, one)


def notifications(payment_ids: list[str], count: int) -> list[tuple[int, str]]:
    base = uuid.uuid4().int % 10**12
    return [(base + n, payment_ids[n % len(payment_ids)]) for n in range(count)]


async def deliver_all(
    base_url: str, clinic: str, secret: str, items: list[tuple[int, str]], concurrency: int
) -> tuple[list[dict[str, Any]], float]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=30.0, limits=limits) as http:

        async def one(item: tuple[int, str]) -> dict[str, Any]:
            notification_id, payment_id = item
            body = msgspec.json.encode(
                {"id": notification_id, "type": "payment", "action": "payment.updated", "data": {"id": payment_id}}
            )
            request_id = str(uuid.uuid4())
            headers = {
                "content-type": "application/json",
                "x-request-id": request_id,
                "x-signature": sign(secret, payment_id, request_id, str(int(time.time()))),
            }
            started = time.perf_counter()
            try:
                answer = await http.post(
                    "/webhooks/payments/mercadopago",
                    params={"clinic": clinic, "data.id": payment_id, "type": "payment"},
                    content=body,
                    headers=headers,
                )
            except httpx.HTTPError as exc:
                return {"ok": False, "latency": time.perf_counter() - started, "error": repr(exc)}
            latency = time.perf_counter() - started
            if answer.status_code != 200:
                return {"ok": False, "latency": latency, "error": f"{answer.status_code} {answer.text[:200]}"}
            return {"ok": True, "latency": latency, "outcome": answer.json()["outcome"]}

        return await run_concurrently(items, concurrency, one)


# --- the bare ceiling ---------------------------------------------------------------------------------
async def provider_ceiling(stack: Stack, payment_ids: list[str], count: int, concurrency: int) -> dict[str, Any]:
    token = (stack.state_dir / "secrets" / "mercadopago-token").read_text().strip()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=stack.url("sandbox_payments"),
        timeout=30.0,
        limits=limits,
        headers={"authorization": f"Bearer {token}"},
    ) as http:

        async def one(n: int) -> dict[str, Any]:
            started = time.perf_counter()
            answer = await http.get(f"/v1/payments/{payment_ids[n % len(payment_ids)]}")
            return {"ok": answer.status_code == 200, "latency": time.perf_counter() - started, "outcome": "read"}

        results, wall = await run_concurrently(list(range(count)), concurrency, one)
    return {"what": "GET /v1/payments/{id} at the sandbox provider", **summary(results, wall)}


async def postgres_ceiling(stack: Stack, clinic: str, count: int, concurrency: int) -> dict[str, Any]:
    pool = await asyncpg.create_pool(
        plain_dsn(stack.database_url("payments")), min_size=concurrency, max_size=concurrency
    )
    assert pool is not None
    try:
        ids = [r["id"] for r in await pool.fetch("SELECT id FROM charges WHERE tenant_id = $1 LIMIT 200", clinic)]
        base = uuid.uuid4().hex

        async def one(n: int) -> dict[str, Any]:
            started = time.perf_counter()
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute(
                    "INSERT INTO webhook_receipts (provider, scope, event_id, body, headers, received_at) "
                    "VALUES ('bench', $1, $2, $3, '{}', now()) ON CONFLICT DO NOTHING",
                    clinic,
                    f"{base}-{n}",
                    b'{"id": 1, "type": "payment", "action": "payment.updated", "data": {"id": "1"}}',
                )
                await conn.fetchrow(
                    "SELECT * FROM charges WHERE id = $1 AND tenant_id = $2 FOR UPDATE", ids[n % len(ids)], clinic
                )
            return {"ok": True, "latency": time.perf_counter() - started, "outcome": "tx"}

        results, wall = await run_concurrently(list(range(count)), concurrency, one)
        await pool.execute("DELETE FROM webhook_receipts WHERE provider = 'bench'")
    finally:
        await pool.close()
    return {"what": "asyncpg tx: receipt insert + charge row lock", **summary(results, wall)}


async def measure(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    print(f"creating and paying {args.warmup + args.payments} charges at the sandbox (webhooks off) ...", flush=True)
    clinic, all_ids, secret = await prepare(stack, args.warmup + args.payments)
    warm_ids, payment_ids = all_ids[: args.warmup], all_ids[args.warmup :]
    gateway, direct = stack.gateway_url, stack.url("payments-api")
    print(f"warm-up: {args.warmup} first deliveries ...", flush=True)
    await deliver_all(gateway, clinic, secret, notifications(warm_ids, args.warmup), args.concurrency)
    print(f"through the gateway: {args.payments} first deliveries at concurrency {args.concurrency} ...", flush=True)
    firsts = notifications(payment_ids, args.payments)
    first = await phase(stack, "first", args, lambda: deliver_all(gateway, clinic, secret, firsts, args.concurrency))
    # A provider's retry carries the notification id it had (only x-request-id and the signature are new).
    retries = [firsts[n % len(firsts)] for n in range(args.deliveries)]
    print(f"through the gateway: {args.deliveries} redeliveries at concurrency {args.concurrency} ...", flush=True)
    through = await phase(
        stack,
        "redeliveries",
        args,
        lambda: deliver_all(gateway, clinic, secret, retries, args.concurrency),
    )
    print(f"straight to the payments api: {args.deliveries} deliveries ...", flush=True)
    bare_api = await phase(
        stack,
        "direct",
        args,
        lambda: deliver_all(direct, clinic, secret, retries, args.concurrency),
    )
    print(f"Stripe: {args.payments} signed checkout.session.completed through the gateway ...", flush=True)
    stripe_clinic, stripe_secret, sessions = await prepare_stripe(stack, args.payments)
    stripe_first = await phase(
        stack,
        "stripe",
        args,
        lambda: deliver_stripe(gateway, stripe_clinic, stripe_secret, sessions, args.concurrency),
    )
    print("bare ceiling: provider reads and database transactions ...", flush=True)
    provider = await provider_ceiling(stack, payment_ids, args.deliveries, args.concurrency)
    database = await postgres_ceiling(stack, clinic, args.deliveries, args.concurrency)
    ceiling = min(provider["throughput_per_s"] or 0, database["throughput_per_s"] or 0)
    out = {
        "gateway_first": first,
        "gateway": through,
        "payments_api_direct": bare_api,
        "stripe_first": stripe_first,
        "ceiling": {
            "provider": provider,
            "postgres": database,
            "ceiling_per_s": ceiling,
            "limited_by": "provider" if provider["throughput_per_s"] == ceiling else "postgres",
        },
    }
    # First deliveries do everything the ceiling measures (the provider call and the transaction).
    out["ceiling"]["gateway_over_ceiling"] = (
        round((out["gateway_first"]["throughput_per_s"] or 0) / ceiling, 3) if ceiling else None
    )
    return out


def table(report: dict[str, Any]) -> str:
    a = report["args"]
    lines = [
        "",
        f"ClinicFlow payments webhook ingress benchmark  ({report['date_utc']}, git {report['git']})",
        f"  machine   {os.cpu_count()} CPUs, loadavg at start {' '.join(f'{x:.2f}' for x in report['loadavg_start'])}",
        f"  run       {a['payments']} first deliveries, {a['deliveries']} redeliveries, concurrency "
        f"{a['concurrency']}, warm-up {a['warmup']}"
        + (", ingress only (no event consumers running)" if a.get("ingress_only") else ", whole stack")
        + (f", payments db pool {a['db_pool']}" if a.get("db_pool") else ""),
    ]
    if "gateway" not in report or "gateway_first" not in report:
        return "\n".join([*lines, f"  FAILED: {report.get('failure')}"])

    def row(name: str, s: dict[str, Any]) -> str:
        lat = s["latency_ms"]
        return (
            f"  {name:<34} {s['throughput_per_s']:>8} /s   p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  "
            f"max {lat['max']} ms   errors {s['errors']}"
        )

    def cpu(s: dict[str, Any]) -> str:
        if "cpu" not in s:
            return ""
        parts = ", ".join(f"{k} {v}" for k, v in s["cpu"]["cpu_ms_per_delivery"].items())
        return (
            f"    CPU ms per delivery: stack {s['cpu']['stack_cpu_ms_per_delivery']} ({parts})\n"
            f"    payments db: {s['db_sessions_opened']} connections opened, "
            f"{s['db_commits_per_delivery']} commits per delivery"
        )

    c = report["ceiling"]
    lines += [
        "",
        row("first deliveries, gateway", report["gateway_first"]),
        f"    outcomes {report['gateway_first']['outcomes']}",
        cpu(report["gateway_first"]),
        row("redeliveries, gateway", report["gateway"]),
        f"    outcomes {report['gateway']['outcomes']}",
        cpu(report["gateway"]),
        row("redeliveries, straight to the api", report["payments_api_direct"]),
        cpu(report["payments_api_direct"]),
        row("Stripe first deliveries, gateway", report["stripe_first"]),
        f"    outcomes {report['stripe_first']['outcomes']}",
        cpu(report["stripe_first"]),
        row("ceiling: provider GET /v1/payments", c["provider"]),
        row("ceiling: asyncpg receipt + lock tx", c["postgres"]),
        f"  ceiling = {c['ceiling_per_s']} /s ({c['limited_by']}); "
        f"first deliveries / ceiling = {c['gateway_over_ceiling']}",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="just bench payments", description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--payments", type=int, default=300, help="payments confirmed in the measured run")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--json", metavar="PATH")
    parser.add_argument(
        "--db-pool", type=int, help="the payments api's PAYMENTS_DB_POOL_SIZE (default: the service's own, 10)"
    )
    parser.add_argument(
        "--ingress-only",
        action="store_true",
        help="start only the gateway, payments and the provider sandboxes (no consumers of the events)",
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy the gateway, payments api, sandbox into DIR")
    args = parser.parse_args()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if args.db_pool:
        os.environ["PAYMENTS_DB_POOL_SIZE"] = str(args.db_pool)  # the stack passes the environment on
    state_dir = Path(tempfile.mkdtemp(prefix="clinicflow-bench-payments-"))
    stack = Stack(state_dir, free_ports=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    report: dict[str, Any] = {
        "args": vars(args),
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": commit.stdout.strip(),
        "loadavg_start": os.getloadavg(),
    }
    rc = 0
    try:
        print(f"starting the stack in {state_dir} ...", flush=True)
        stack.start_infra()
        stack.migrate()
        if args.ingress_only:
            # Only what the webhook path touches: the consumers of payment.confirmed (notifications, scheduling,
            # funnel, leads) would otherwise share the 2 cores with the ingress being measured.
            # Every api stays up (the gateway is ready only when all it routes to answer); they sit idle.
            names = [n for n in stack.specs if n.endswith("-api") or n in INGRESS_PROCESSES]
            for name in names:
                stack.start_process(name)
            stack.wait_ready(names)
        else:
            stack.start_all()
            stack.wait_ready()
        report.update(asyncio.run(measure(stack, args)))
    except KeyboardInterrupt:
        rc = 130
    except Exception as exc:
        report["failure"] = repr(exc)
        rc = 1
    finally:
        stack.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    report["loadavg_end"] = os.getloadavg()
    print(table(report), flush=True)
    encoded = json.dumps(report, indent=2, default=str)
    if args.json:
        Path(args.json).write_text(encoded + "\n")
    else:
        print("\n" + encoded)
    return rc


if __name__ == "__main__":
    sys.exit(main())
