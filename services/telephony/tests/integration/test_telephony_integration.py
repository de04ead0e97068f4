"""telephony on a real, migrated PostgreSQL and Redis: signed deliveries become one call record and its events
once; forged ones store nothing; the read model matches callers; the HTTP API answers problems."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from urllib.parse import urlencode

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from devkit.infra import Infra
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine
from kit.migrations import plain_dsn
from kit.webhooks import SignatureInvalid
from telephony import services as cases
from telephony.app import create_api
from telephony.providers import Inbound, zadarma_signature, zadarma_signed_string
from telephony.services.work import telephony_uow

SECRET = "zadarma-test-secret"


def principal(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id,
        email="admin@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )


def signed(fields: dict[str, str], secret: str = SECRET) -> Inbound:
    sig = zadarma_signature(secret, zadarma_signed_string(fields))
    return Inbound(urlencode(fields).encode(), {"signature": sig}, "", datetime.now(UTC))


START = {
    "event": "NOTIFY_START",
    "call_start": "2026-12-01 12:00:00",
    "pbx_call_id": "in_1",
    "caller_id": "+5511987654321",
    "called_did": "+551130000001",
}
END = {**START, "event": "NOTIFY_END", "duration": "0", "disposition": "no answer"}


async def outbox_types(url: str) -> list[str]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        return [r["event_type"] for r in await conn.fetch("SELECT event_type FROM outbox ORDER BY id")]
    finally:
        await conn.close()


async def test_a_missed_call_is_folded_once_whatever_the_order(database_url: str, infra: Infra) -> None:
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    admin, other = principal(new_id()), principal(new_id())
    redis = Redis.from_url(infra.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(cases.live_channel(admin.tenant_id))
    try:
        await cases.connect(uow, admin, "zadarma", secret=SECRET, api_key="", timezone=None)
        await cases.add_number(uow, admin, number="(11) 3000-0001", source="google_ads", label="Google Ads")
        # The end arrives first, then the start, then the end again (a redelivery).
        first = await cases.receive(uow, redis, provider="zadarma", tenant_id=admin.tenant_id, request=signed(END))
        assert first.outcome == "applied"
        await cases.receive(uow, redis, provider="zadarma", tenant_id=admin.tenant_id, request=signed(START))
        again = await cases.receive(uow, redis, provider="zadarma", tenant_id=admin.tenant_id, request=signed(END))
        assert again.outcome == "duplicate"
        with pytest.raises(SignatureInvalid):
            await cases.receive(
                uow, redis, provider="zadarma", tenant_id=admin.tenant_id, request=signed(START, "forged")
            )
        with pytest.raises(SignatureInvalid):  # a clinic that never connected zadarma
            await cases.receive(uow, redis, provider="zadarma", tenant_id=other.tenant_id, request=signed(START))

        calls, total = await cases.list_calls(uow, admin, disposition=None, state=None, caller=None, limit=10, offset=0)
        assert total == 1
        [call] = calls
        assert call.record.disposition == "missed"
        assert call.source == "google_ads"
        assert call.record.caller == "+5511987654321"
        assert await outbox_types(database_url) == [
            "clinicflow.telephony.call.started.v1",
            "clinicflow.telephony.call.ended.v1",
            "clinicflow.telephony.call.missed.v1",
        ]
        card = await cases.card(uow, admin, call.id)
        assert card.contact is None
        assert (await cases.list_calls(uow, other, disposition=None, state=None, caller=None, limit=10, offset=0))[
            1
        ] == 0
        message = None
        for _ in range(20):
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
            if message:
                break
            await asyncio.sleep(0.05)
        assert message is not None
        assert b'"new_caller": true' in message["data"]
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]
        await redis.aclose()
        await engine.dispose()


async def test_the_read_model_names_a_known_caller_with_or_without_the_ninth_digit(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    admin = principal(new_id())
    lead_id = new_id()
    try:
        async with uow() as work:
            await work.contacts.remember_contact(
                admin.tenant_id, "+551187654321", lead_id, "Maria Souza", datetime.now(UTC)
            )
            await work.commit()
        await cases.connect(uow, admin, "zadarma", secret=SECRET, api_key="", timezone=None)
        handled = await cases.receive(uow, None, provider="zadarma", tenant_id=admin.tenant_id, request=signed(START))
        card = await cases.card(uow, admin, handled.call_ids[0])
        assert card.contact is not None
        assert card.contact.name == "Maria Souza"
        assert card.call.lead_id == lead_id
    finally:
        await engine.dispose()


async def test_the_api_wants_a_token_and_answers_problems(
    database_url: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEPHONY_DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", infra.redis_url)
    for key, value in infra.objects_env().items():
        monkeypatch.setenv(key, value)
    app = create_api()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://telephony") as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        anonymous = await client.get("/api/v1/telephony/calls")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        fields = START
        forged = await client.post(
            f"/webhooks/telephony/zadarma?clinic={new_id()}",
            content=urlencode(fields),
            headers={"content-type": "application/x-www-form-urlencoded", "signature": "bm9wZQ=="},
        )
        assert forged.status_code == 401, forged.text
        unknown = await client.post(f"/webhooks/telephony/nope?clinic={new_id()}", content=b"x=1")
        assert unknown.status_code == 404
        no_clinic = await client.post("/webhooks/telephony/zadarma?clinic=not-a-uuid", content=b"x=1")
        assert no_clinic.status_code in (400, 422)


async def test_concurrent_first_deliveries_of_one_call_make_one_record(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    admin = principal(new_id())
    start = {**START, "pbx_call_id": "in_race"}
    end = {**END, "pbx_call_id": "in_race"}
    try:
        await cases.connect(uow, admin, "zadarma", secret=SECRET, api_key="", timezone=None)
        handled = await asyncio.gather(
            *(
                cases.receive(uow, None, provider="zadarma", tenant_id=admin.tenant_id, request=signed(fields))
                for fields in (start, end, start, end)
            )
        )
        assert sorted(h.outcome for h in handled) == ["applied", "applied", "duplicate", "duplicate"]
        _, total = await cases.list_calls(uow, admin, disposition="missed", state=None, caller=None, limit=5, offset=0)
        assert total == 1
        assert sorted(await outbox_types(database_url)) == [
            "clinicflow.telephony.call.ended.v1",
            "clinicflow.telephony.call.missed.v1",
            "clinicflow.telephony.call.started.v1",
        ]
    finally:
        await engine.dispose()


async def test_connections_list_every_provider_and_only_whether_its_secrets_are_set(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    admin = principal(new_id())
    try:
        before = await cases.connections(uow, admin)
        assert [p for p, _ in before] == ["zadarma", "twilio", "mango", "telfin", "asterisk", "bitrix24"]
        assert all(account is None for _, account in before)
        await cases.connect(uow, admin, "mango", secret="salt-1234", api_key="vpbx-key", timezone=None)
        after = dict(await cases.connections(uow, admin))
        mango = after["mango"]
        assert mango is not None
        assert (mango.secret, mango.api_key) == ("salt-1234", "vpbx-key")
        assert after["zadarma"] is None
        other = await cases.connections(uow, principal(new_id()))  # another clinic sees none of it
        assert all(account is None for _, account in other)
    finally:
        await engine.dispose()
