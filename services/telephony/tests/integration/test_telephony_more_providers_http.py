"""Telfin, Asterisk and Bitrix24-style deliveries through the telephony api's HTTP ingress on a real, migrated
PostgreSQL and Redis: forged ones are 401 and store nothing; signed ones become one call record each."""

from __future__ import annotations

from urllib.parse import urlencode

import asyncpg
import httpx
import pytest

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from devkit.infra import Infra
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine
from kit.migrations import plain_dsn
from sandbox.telephony import asterisk_cdr, bitrix24_call, bitrix24_finish, telfin_call
from telephony import services as cases
from telephony.app import create_api
from telephony.services.work import telephony_uow

CALLER, LINE = "+5511987654321", "+551130000001"


async def counts(url: str) -> tuple[int, int]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        receipts = await conn.fetchval("SELECT count(*) FROM webhook_receipts")
        calls = await conn.fetchval("SELECT count(*) FROM calls")
        return int(receipts), int(calls)
    finally:
        await conn.close()


async def test_telfin_asterisk_and_bitrix24_through_http(
    database_url: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    for provider in ("telfin", "asterisk", "bitrix24"):
        await cases.connect(uow, admin, provider, secret=f"{provider}-secret", api_key="", timezone=None)
    app = create_api()
    base = "http://telephony"
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
            # Forged: a wrong Telfin token, a wrong Asterisk HMAC, a wrong Bitrix24 auth -> 401, nothing stored.
            [dial] = telfin_call(CALLER, LINE, "missed")[:1]
            bad = await client.post(
                f"/webhooks/telephony/telfin?clinic={tenant}&token=guess", content=dial.body, headers=dial.headers
            )
            assert bad.status_code == 401, bad.text
            [cdr] = asterisk_cdr("wrong", CALLER, LINE, "answered")
            bad = await client.post(
                f"/webhooks/telephony/asterisk?clinic={tenant}", content=cdr.body, headers=cdr.headers
            )
            assert bad.status_code == 401, bad.text
            [register] = bitrix24_call(base, tenant, "wrong", CALLER, LINE, "answered")
            bad = await client.post(register.url, content=register.delivery.body, headers=register.delivery.headers)
            assert bad.status_code == 401, bad.text
            assert bad.headers["content-type"].startswith("application/problem+json")
            assert await counts(database_url) == (0, 0)

            # Signed.
            token_url = f"/webhooks/telephony/telfin?clinic={tenant}&" + urlencode({"token": "telfin-secret"})
            for d in telfin_call(CALLER, LINE, "missed"):
                ok = await client.post(token_url, content=d.body, headers=d.headers)
                assert ok.status_code == 200, ok.text
            [cdr] = asterisk_cdr("asterisk-secret", "+5511912345678", LINE, "answered")
            for outcome in ("applied", "duplicate"):
                ok = await client.post(
                    f"/webhooks/telephony/asterisk?clinic={tenant}", content=cdr.body, headers=cdr.headers
                )
                assert ok.status_code == 200, ok.text
                assert ok.json()["outcome"] == outcome
            [register] = bitrix24_call(base, tenant, "bitrix24-secret", "+5511955554444", LINE, "busy")
            first = await client.post(register.url, content=register.delivery.body, headers=register.delivery.headers)
            again = await client.post(register.url, content=register.delivery.body, headers=register.delivery.headers)
            assert first.status_code == again.status_code == 200, first.text
            call_id = first.json()["result"]["CALL_ID"]
            assert call_id
            assert again.json()["result"] == {"CALL_ID": call_id, "outcome": "duplicate"}
            finish = bitrix24_finish(base, tenant, "bitrix24-secret", call_id, "busy")
            done = await client.post(finish.url, content=finish.delivery.body, headers=finish.delivery.headers)
            assert done.status_code == 200, done.text
            unknown = await client.post(
                f"/webhooks/telephony/bitrix24/{tenant}/crm.lead.add.json", content=b"auth=bitrix24-secret"
            )
            assert unknown.status_code == 400
            assert unknown.json()["errors"] == [{"field": "method", "message": unknown.json()["detail"]}]

        found, total = await cases.list_calls(uow, admin, disposition=None, state=None, caller=None, limit=10, offset=0)
        assert total == 3
        by_provider = {c.record.provider: c.record for c in found}
        assert by_provider["telfin"].disposition == "missed"
        assert by_provider["telfin"].caller == CALLER
        assert by_provider["asterisk"].disposition == "answered"
        assert by_provider["asterisk"].talk_seconds == 42
        assert by_provider["asterisk"].recording_ref
        assert by_provider["bitrix24"].disposition == "busy"
        assert by_provider["bitrix24"].provider_call_id == call_id
    finally:
        await engine.dispose()
