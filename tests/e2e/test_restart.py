"""The local default loses no event across a full restart (issue 8, item 9).

The development broker (Tansu) keeps its topics in memory: an event relayed but not yet consumed when the stack
stops is gone from the broker after the next start. The relay notices that the broker holds nothing of a topic it
published to and publishes the outbox rows it still retains again; the consumers' inboxes drop what they had
already handled. This test runs its own stack (the session's shares its broker with every other test).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Stack
from kit.outbox import plain_dsn
from tests.e2e.conftest import Api, Sandbox, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.fault]


def start(state_dir: Path) -> Stack:
    stack = Stack(state_dir, free_ports=True)
    try:
        stack.start_infra()
        stack.migrate()
        stack.start_all()
        stack.wait_ready()
    except BaseException:
        stack.stop()
        raise
    return stack


def published(stack: Stack, lead_id: str) -> bool:
    async def query() -> bool:
        conn = await asyncpg.connect(plain_dsn(stack.database_url("leads")))
        try:
            return bool(
                await conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE key = $1 AND event_type = 'clinicflow.leads.lead.created.v1' "
                    "AND published_at IS NOT NULL",
                    lead_id,
                )
            )
        finally:
            await conn.close()

    return asyncio.run(query())


def test_a_full_restart_between_publish_and_consume_makes_exactly_one_message(tmp_path: Path) -> None:
    stack = start(tmp_path)
    try:
        admin = Api(stack, DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD)
        sandbox = Sandbox(stack)
        # Consumed before the stop: after the restart it is published again and must be dropped as a duplicate.
        before = admin.create_lead(phone="+55 11 91111-0001", source="whatsapp")
        wait_until(lambda: sandbox.received("5511911110001"), 30.0, "the first lead's message was not sent")
        # ... and recorded as sent (a row left `sending` would be resent after the restart, by design).
        wait_until(
            lambda: [m["status"] for m in admin.messages(before["id"])] == ["sent"], 30.0, "the send was not recorded"
        )
        # Published but not consumed: the consumer is down when it reaches the broker.
        stack.processes["notifications-worker"].stop()
        pending = admin.create_lead(phone="+55 11 91111-0002", source="whatsapp")
        wait_until(lambda: published(stack, pending["id"]), 30.0, "the second lead.created was not relayed")
        admin.http.close()
        sandbox.http.close()
    finally:
        stack.stop()  # the whole stack, broker included: its in-memory topics are gone

    stack = start(tmp_path)  # same data folder: PostgreSQL keeps its data, the broker starts empty
    try:
        admin = Api(stack, DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD)
        sandbox = Sandbox(stack)
        wait_until(
            lambda: [m["status"] for m in admin.messages(pending["id"])] == ["sent"],
            60.0,
            "the event relayed before the restart was lost",
        )
        assert len(sandbox.received("5511911110002")) == 1
        assert len(admin.messages(before["id"])) == 1  # republished, dropped by the inbox
        assert sandbox.received("5511911110001") == []  # not sent again
        admin.http.close()
        sandbox.http.close()
    finally:
        stack.stop()
