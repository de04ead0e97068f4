"""just bench notifications [--messages N] [--batch B ...]: the dispatcher on its own.

Queues N welcome messages through the rules (as the consumer would, 100 events per transaction), then lets the
batched dispatcher hand them to the sandbox WhatsApp provider (a real HTTP server in its own process) and
reports messages per second, rounds, and what the provider recorded (exactly N, no duplicates). Real
PostgreSQL, nothing else shared: a figure for the dispatcher, not the whole event path.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import event

from contracts import EventMeta
from contracts.leads import LeadCreatedV1
from devkit import infra as devinfra
from devkit.testing import fresh_database
from kit.context import new_id
from kit.db import make_engine, uow_factory
from notifications import services
from notifications.channels import WhatsAppCloud
from notifications.domain import WHATSAPP

ROOT = Path(__file__).resolve().parents[1]


async def queue(uow: object, n: int, tenant: str) -> float:
    started = time.perf_counter()
    for first in range(0, n, 100):
        async with uow() as u:  # type: ignore[operator]
            for i in range(first, min(first + 100, n)):
                event = LeadCreatedV1(
                    lead_id=new_id(),
                    name=f"Lead {i}",
                    phone=f"+5511{900000000 + i}",
                    source="bench",
                    created_at=datetime.now(UTC),
                )
                meta = EventMeta(
                    id=new_id(),
                    source="bench",
                    type=event.TYPE,
                    time=event.created_at,
                    subject=event.lead_id,
                    tenant_id=tenant,
                    correlation_id=new_id(),
                )
                await services.handle_event(u, event, meta)
            await u.commit()
    return time.perf_counter() - started


async def run(url: str, sandbox: str, n: int, batch: int) -> None:
    engine = make_engine(url, pool_size=8)
    uow = uow_factory(engine, "notifications")
    async with httpx.AsyncClient() as client:
        await client.delete(f"{sandbox}/sandbox/whatsapp/messages")
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    # Round trips per event are the figure a loaded machine cannot blur (time per event it can).
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    queued = await queue(uow, n, new_id())
    event.remove(engine.sync_engine, "before_cursor_execute", count)
    per_event = statements[0] / n
    adapter = WhatsAppCloud(base_url=sandbox, api_version="v21.0", phone_number_id="1", token="bench")
    dispatcher = services.Dispatcher(uow, {WHATSAPP: adapter}, batch_size=batch, concurrency=64)
    rounds, started = 0, time.perf_counter()
    while await dispatcher.dispatch_due():
        rounds += 1
    elapsed = time.perf_counter() - started
    await adapter.close()
    async with httpx.AsyncClient() as client:
        got = (await client.get(f"{sandbox}/sandbox/whatsapp/messages")).json()
    await engine.dispose()
    print(
        f"batch {batch:>4}: queued {n} in {queued:.2f}s ({n / queued:.0f}/s through the rules, "
        f"{per_event:.2f} statements per event); "
        f"dispatched in {elapsed:.2f}s = {n / elapsed:.0f} msg/s over {rounds} rounds; provider recorded "
        f"{len(got['items'])}, duplicates {got['duplicates']}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(prog="just bench notifications")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, nargs="+", default=[20, 200])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        infra = devinfra.start(Path(tmp))
        port = devinfra.free_port()
        env = {
            **os.environ,
            "SANDBOX_HTTP_PORT": str(port),
            "SANDBOX_WHATSAPP_TOKEN": "bench",
            "SANDBOX_LOG_LEVEL": "WARNING",
        }
        box = subprocess.Popen([sys.executable, "-m", "sandbox"], env=env, cwd=ROOT)
        try:
            sandbox = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{sandbox}/health/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            for batch in args.batch:
                asyncio.run(run(fresh_database(infra, "notifications"), sandbox, args.messages, batch))
        finally:
            box.terminate()
            box.wait(10)
            infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
