"""What telephony's integration tests share: a fresh migrated database, an object store bucket, the sandbox PBX
behind the provider API client (in process), a clinic admin, a raw SQL helper, an answered and recorded
Asterisk call."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest

from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.migrations import plain_dsn
from kit.objects import ObjectStore
from sandbox.app import create_app as create_sandbox
from sandbox.telephony import Pbx, asterisk_cdr
from telephony import services as cases
from telephony.provider_api import Defaults, ProviderApi
from telephony.providers import Inbound
from telephony.services.work import TelephonyWorkFactory

SANDBOX = "http://sandbox.test"
ARI = "ari-user:ari-pass"


@dataclass(frozen=True)
class Sandbox:
    """The sandbox PBX, the provider API client pointed at it for every provider, and a client of its own API."""

    pbx: Pbx
    api: ProviderApi
    client: httpx.AsyncClient


@pytest.fixture
def database_url(infra: Infra) -> str:
    return fresh_database(infra, "telephony")


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    s = ObjectStore(
        endpoint_url=infra.objects_url,
        bucket=f"telephony-{new_id()[:8]}",
        access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key,
        create_bucket=True,
    )
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    app = create_sandbox()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX)
    defaults = Defaults(twilio=SANDBOX, telfin=SANDBOX, zadarma=SANDBOX, mango=SANDBOX)
    yield Sandbox(app.state.pbx, ProviderApi(defaults, client=client), client)
    await client.aclose()


def principal(tenant_id: str) -> Principal:
    """A clinic admin (reads, writes, connects providers)."""
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id,
        email="admin@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )


async def sql(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


async def answered_call(uow: TelephonyWorkFactory, admin: Principal, pbx: Pbx, caller: str) -> str:
    """A signed Asterisk Cdr of an answered, recorded call; the sandbox PBX holds its recording."""
    unique = f"{int(datetime.now(UTC).timestamp())}.{new_id()[-6:]}"  # the uuid7's random end: one a call
    [cdr] = asterisk_cdr("forwarder-key", caller, "+551130000001", "answered", unique_id=unique)
    pbx.recordings.add(unique)
    request = Inbound(cdr.body, {k.lower(): v for k, v in cdr.headers.items()}, "", datetime.now(UTC))
    handled = await cases.receive(uow, None, provider="asterisk", tenant_id=admin.tenant_id, request=request)
    return handled.call_ids[0]


async def connect_asterisk(uow: TelephonyWorkFactory, admin: Principal, client: httpx.AsyncClient) -> None:
    await cases.connect(
        uow, admin, "asterisk", secret="forwarder-key", api_key=ARI, timezone=None, api_url=f"{SANDBOX}/"
    )
    # The PBX's side: the forwarder's URL and key, the ARI user (here: a URL nothing listens on).
    line = {"provider": "asterisk", "api_key": ARI, "webhook_url": "http://127.0.0.1:9/x", "secret": "forwarder-key"}
    assert (await client.put("/sandbox/telephony/lines", json=line)).status_code == 200
