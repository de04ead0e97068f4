"""Concurrent deliveries of one call through the telephony api's HTTP ingress on a real, migrated PostgreSQL:
every delivery answers 200 (never 500), each event is applied once, and a unit of work PostgreSQL rolls back as
a deadlock's victim is run again (kit.db.retrying)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from devkit.infra import Infra
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine
from kit.migrations import plain_dsn
from sandbox.telephony import mango_call, zadarma_call
from telephony import services as cases
from telephony.app import create_api
from telephony.services.work import telephony_uow

CALLER, LINE = "+5511987654321", "+551130000001"


@pytest.fixture
async def client(
    database_url: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    monkeypatch.setenv("TELEPHONY_DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", infra.redis_url)
    for key, value in infra.objects_env().items():
        monkeypatch.setenv(key, value)
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    tenant = new_id()
    admin = Principal(
        user_id=new_id(),
        tenant_id=tenant,
        email="a@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )
    await cases.connect(uow, admin, "zadarma", secret="zd-secret", api_key="", timezone=None)
    await cases.connect(uow, admin, "mango", secret="mg-salt", api_key="mg-key", timezone=None)
    await engine.dispose()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_api()), base_url="http://telephony") as c:
        yield c, tenant


async def fetchval(url: str, query: str, *args: object) -> object:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def test_concurrent_deliveries_of_one_call_all_answer_200_and_apply_once(
    database_url: str, client: tuple[httpx.AsyncClient, str]
) -> None:
    http, tenant = client
    deliveries = zadarma_call("zd-secret", CALLER, LINE, "answered")  # START, ANSWER, END, RECORD
    url = f"/webhooks/telephony/zadarma?clinic={tenant}"
    sends = [d for d in deliveries for _ in range(3)]
    answers = await asyncio.gather(*(http.post(url, content=d.body, headers=d.headers) for d in sends))
    assert [a.status_code for a in answers] == [200] * len(sends), [a.text for a in answers if a.status_code != 200]
    assert Counter(a.json()["outcome"] for a in answers) == {"applied": 4, "duplicate": 8}
    assert await fetchval(database_url, "SELECT count(*) FROM calls") == 1
    assert await fetchval(database_url, "SELECT count(*) FROM recordings") == 1
    events = await fetchval(database_url, "SELECT array_agg(event_type ORDER BY event_type) FROM outbox")
    assert events == [f"clinicflow.telephony.call.{n}.v1" for n in ("answered", "ended", "started")]

    # Mango Office at its own address (+ /events/call ...), concurrently too.
    played = mango_call("mg-key", "mg-salt", CALLER, LINE, "missed")
    root = f"/webhooks/telephony/mango/{tenant}"
    answers = await asyncio.gather(
        *(http.post(root + path, content=d.body, headers=d.headers) for path, d in played for _ in range(2))
    )
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers]
    assert Counter(a.json()["outcome"] for a in answers) == {"applied": 2, "duplicate": 2}
    assert await fetchval(database_url, "SELECT count(*) FROM calls WHERE provider = 'mango'") == 1
    assert await fetchval(
        database_url, "SELECT count(*) FROM outbox WHERE event_type = 'clinicflow.telephony.call.missed.v1'"
    ) == 1  # fmt: skip


async def test_a_delivery_chosen_as_a_deadlock_victim_is_run_again_and_answers_200(
    database_url: str, client: tuple[httpx.AsyncClient, str]
) -> None:
    """Another transaction holds the receipt key of a call's NOTIFY_END; the delivery of that END locks the
    call's row and waits for the receipt key; the other transaction then wants the call's row: a lock cycle.
    PostgreSQL rolls the delivery back (it waited first); the ingress runs it again and answers 200, not 500."""
    http, tenant = client
    url = f"/webhooks/telephony/zadarma?clinic={tenant}"
    start, end = zadarma_call("zd-secret", CALLER, LINE, "missed")
    assert (await http.post(url, content=start.body, headers=start.headers)).status_code == 200
    call_id = dict(httpx.QueryParams(end.body.decode()))["pbx_call_id"]
    other = await asyncpg.connect(plain_dsn(database_url))
    deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    try:
        before = int(await other.fetchval(deadlocks))
        tx = other.transaction()
        await tx.start()
        await other.execute("SET LOCAL deadlock_timeout = '5s'")  # the delivery, not this, detects the cycle
        await other.execute(
            "INSERT INTO webhook_receipts (provider, scope, event_id, body, headers, received_at) "
            "VALUES ('zadarma', $1, $2, '', '{}', now())",
            tenant,
            f"{call_id}:NOTIFY_END",
        )
        me = await other.fetchval("SELECT pg_backend_pid()")
        delivery = asyncio.create_task(http.post(url, content=end.body, headers=end.headers))
        for _ in range(300):  # until the delivery, holding the call's row, waits for the receipt key
            waiting = await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 "
                "AND wait_event_type = 'Lock'",
                me,
            )
            if waiting or delivery.done():
                break
            await asyncio.sleep(0.05)
        assert not delivery.done(), delivery.result().text
        # The cycle: this transaction now wants the call's row; it gets it once the victim has rolled back.
        await other.execute(
            "SELECT id FROM calls WHERE tenant_id = $1 AND provider_call_id = $2 FOR UPDATE", tenant, call_id
        )
        await tx.rollback()  # let the rerun through
        answer = await asyncio.wait_for(delivery, 30)
        assert answer.status_code == 200, answer.text
        assert answer.json()["outcome"] == "applied"
        assert int(await other.fetchval(deadlocks)) == before + 1  # there was a deadlock, and it was survived
    finally:
        await other.close()
    assert await fetchval(database_url, "SELECT count(*) FROM calls") == 1
    assert await fetchval(database_url, "SELECT count(*) FROM webhook_receipts") == 2
    assert await fetchval(
        database_url, "SELECT count(*) FROM outbox WHERE event_type = 'clinicflow.telephony.call.missed.v1'"
    ) == 1  # fmt: skip
