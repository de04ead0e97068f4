"""Zadarma, Mango Office and Bitrix24 recordings on a real, migrated PostgreSQL, the moto S3 server and the
sandbox PBX's provider APIs (its app, in process): each provider's signed events name a recording; the worker
asks the provider's own recording API, signed the provider's way (Zadarma `GET /v1/pbx/record/request/` with
`Authorization: key:sign`, Mango `POST /vpbx/queries/recording/post/` with sha256(key + json + salt), the
Bitrix24 app's `RECORD_URL`), downloads the file into the object store and publishes call.recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine
from kit.objects import ObjectStore
from sandbox.telephony import Line, bitrix24_call, bitrix24_finish, mango_call, zadarma_call
from services.telephony.tests.integration.conftest import SANDBOX, Sandbox, principal, sql
from telephony import services as cases
from telephony.provider_api import ProviderApi
from telephony.providers import Inbound
from telephony.services.work import TelephonyWorkFactory, telephony_uow

CALLER, LINE = "+5511987654321", "+551130000001"


async def deliver(
    uow: TelephonyWorkFactory, tenant: str, provider: str, body: bytes, headers: dict[str, str], url: str = ""
) -> cases.Handled:
    request = Inbound(body, {k.lower(): v for k, v in headers.items()}, url, datetime.now(UTC))
    return await cases.receive(uow, None, provider=provider, tenant_id=tenant, request=request)


async def fetched(
    uow: TelephonyWorkFactory, api: ProviderApi, store: ObjectStore, admin: Principal, call_id: str
) -> str:
    assert await cases.recordings_round(uow, api, store) == 1
    rec = (await cases.card(uow, admin, call_id)).recording
    assert rec is not None
    assert rec.state == "stored", rec.last_error
    assert rec.object_key
    return rec.object_key


async def test_zadarma_mango_and_bitrix24_recordings_are_fetched_into_the_object_store(
    database_url: str, store: ObjectStore, sandbox: Sandbox
) -> None:
    pbx, api = sandbox.pbx, sandbox.api
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    admin = principal(new_id())
    tenant = admin.tenant_id
    try:
        # Zadarma: the API user key and secret; the PBX knows them (the clinic's Zadarma account).
        await cases.connect(uow, admin, "zadarma", secret="zd-secret", api_key="zd-key", timezone=None)
        pbx.lines[("zadarma", "zd-key")] = Line("zadarma", "zd-key", "", "zd-secret")
        deliveries = zadarma_call("zd-secret", CALLER, LINE, "answered")
        ids = [(await deliver(uow, tenant, "zadarma", d.body, d.headers)).call_ids for d in deliveries]
        zadarma_id = ids[0][0]
        [rec_name] = {p.split("=", 1)[1] for d in deliveries for p in d.body.decode().split("&")
                      if p.startswith("call_id_with_rec=") and p != "call_id_with_rec="}  # fmt: skip
        pbx.recordings.add(rec_name)
        key = await fetched(uow, api, store, admin, zadarma_id)
        assert (await store.get(key))[0] == pbx.wav

        # Mango Office: the salt is the secret, vpbx_api_key the api_key; /events/record/added names it.
        await cases.connect(uow, admin, "mango", secret="mg-salt", api_key="mg-key", timezone=None)
        pbx.lines[("mango", "mg-key")] = Line("mango", "mg-key", "", "mg-salt")
        played = mango_call("mg-key", "mg-salt", CALLER, LINE, "answered")
        assert [path for path, _ in played] == ["/events/call"] * 3 + ["/events/record/added"]
        mango_ids = [(await deliver(uow, tenant, "mango", d.body, d.headers)).call_ids for _, d in played]
        assert len({i[0] for i in mango_ids}) == 1
        record_event = json.loads(dict(httpx.QueryParams(played[-1][1].body.decode()))["json"])
        pbx.recordings.add(record_event["recording_id"])
        key = await fetched(uow, api, store, admin, mango_ids[0][0])
        assert (await store.get(key))[0] == pbx.wav

        # Bitrix24: the app's finish names RECORD_URL on its file host.
        await cases.connect(uow, admin, "bitrix24", secret="b24-auth", api_key="", timezone=None)
        [register] = bitrix24_call("http://gw", tenant, "b24-auth", CALLER, LINE, "answered")
        registered = await deliver(uow, tenant, "bitrix24", register.delivery.body, register.delivery.headers,
                                   register.url)  # fmt: skip
        pbx.recordings.add("b24-call.wav")
        finish = bitrix24_finish(
            "http://gw", tenant, "b24-auth", registered.provider_call_ids[0], "answered",
            record_url=pbx.file_link(SANDBOX, "b24-call.wav", 600),
        )  # fmt: skip
        await deliver(uow, tenant, "bitrix24", finish.delivery.body, finish.delivery.headers, finish.url)
        key = await fetched(uow, api, store, admin, registered.call_ids[0])
        assert (await store.get(key))[0] == pbx.wav

        recorded = await sql(
            database_url,
            "SELECT payload FROM outbox WHERE event_type = 'clinicflow.telephony.call.recorded.v1' ORDER BY id",
        )
        payloads = [json.loads(r["payload"]) for r in recorded]
        assert [p["provider"] for p in payloads] == ["zadarma", "mango", "bitrix24"]
        assert all(p["size_bytes"] == len(pbx.wav) and p["content_type"] == "audio/wav" for p in payloads)
    finally:
        await engine.dispose()


async def test_a_wrong_api_credential_gives_up_and_a_recording_not_written_yet_is_retried(
    database_url: str, store: ObjectStore, sandbox: Sandbox
) -> None:
    pbx, api = sandbox.pbx, sandbox.api
    engine = make_engine(database_url)
    uow = telephony_uow(engine)
    admin = principal(new_id())
    try:
        # Zadarma with a key the provider does not know (a signature it cannot check): 401, given up.
        await cases.connect(uow, admin, "zadarma", secret="zd-secret", api_key="zd-key", timezone=None)
        pbx.lines[("zadarma", "zd-key")] = Line("zadarma", "zd-key", "", "another-secret")
        deliveries = zadarma_call("zd-secret", CALLER, LINE, "answered")
        for d in deliveries:
            await deliver(uow, admin.tenant_id, "zadarma", d.body, d.headers)
        assert await cases.recordings_round(uow, api, store) == 0
        [row] = await sql(database_url, "SELECT state, last_error FROM recordings")
        assert row["state"] == "failed"
        assert "401" in row["last_error"]

        # Mango, right credential, but the file is not there yet: pending, retried later.
        await cases.connect(uow, admin, "mango", secret="mg-salt", api_key="mg-key", timezone=None)
        pbx.lines[("mango", "mg-key")] = Line("mango", "mg-key", "", "mg-salt")
        for _, d in mango_call("mg-key", "mg-salt", CALLER, LINE, "answered"):
            await deliver(uow, admin.tenant_id, "mango", d.body, d.headers)
        assert await cases.recordings_round(uow, api, store) == 0
        [row] = await sql(database_url, "SELECT state, attempts, last_error FROM recordings WHERE provider = 'mango'")
        assert (row["state"], row["attempts"]) == ("pending", 1)
        assert "404" in row["last_error"]

        # A Bitrix24 RECORD_URL whose signed link was tampered with: the file host refuses (403), given up.
        await cases.connect(uow, admin, "bitrix24", secret="b24-auth", api_key="", timezone=None)
        [register] = bitrix24_call("http://gw", admin.tenant_id, "b24-auth", CALLER, LINE, "answered")
        registered = await deliver(uow, admin.tenant_id, "bitrix24", register.delivery.body,
                                   register.delivery.headers, register.url)  # fmt: skip
        pbx.recordings.add("b24.wav")
        forged = pbx.file_link(SANDBOX, "b24.wav", 600)[:-4] + "0000"
        finish = bitrix24_finish("http://gw", admin.tenant_id, "b24-auth", registered.provider_call_ids[0],
                                 "answered", record_url=forged)  # fmt: skip
        await deliver(uow, admin.tenant_id, "bitrix24", finish.delivery.body, finish.delivery.headers, finish.url)
        assert await cases.recordings_round(uow, api, store) == 0
        [row] = await sql(database_url, "SELECT state, last_error FROM recordings WHERE provider = 'bitrix24'")
        assert row["state"] == "failed"
        assert "403" in row["last_error"]
    finally:
        await engine.dispose()
