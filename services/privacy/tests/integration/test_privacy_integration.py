"""privacy on a real, migrated PostgreSQL and object store: the consent ledger, requests naming a known person of
the clinic, the parts assembled into one archive, the single-use export link, erasure, the read audit, retention
and the HTTP API's problems."""

from __future__ import annotations

import asyncio
import io
import json
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from contracts import EventMeta
from contracts import privacy as events
from contracts.claims import CRM_READ, CRM_WRITE, PRIVACY_MANAGE, PRIVACY_READ
from contracts.leads import LeadConvertedV1, LeadCreatedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.objects import ObjectStore
from kit.outbox import outbox_table
from kit.privacy import put_part
from privacy import services as cases
from privacy.app import create_api
from privacy.domain import Gone, InvalidPrivacy, LinkInvalid, NotFound

SECRET = "s" * 40
NOW = datetime.now(UTC)


@pytest.fixture
def database_url(infra: Infra) -> str:
    """A new database of its own, migrated to head (a sync fixture: fresh_database runs its own loop)."""
    return fresh_database(infra, "privacy")


@pytest.fixture
async def store(infra: Infra) -> AsyncIterator[ObjectStore]:
    objects = ObjectStore(
        endpoint_url=infra.objects_url,
        bucket=f"privacy-{new_id()[:8]}",
        access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key,
        create_bucket=True,
    )
    await objects.open()
    yield objects
    await objects.close()


def officer(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id,
        email="dpo@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, PRIVACY_READ, PRIVACY_MANAGE}),
    )


def meta(tenant_id: str, event_type: str) -> EventMeta:
    return EventMeta(
        id=new_id(), source="clinicflow/test", type=event_type, time=NOW, subject="s", tenant_id=tenant_id,
        correlation_id="c",
    )  # fmt: skip


async def outbox_types(database_url: str) -> list[str]:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox_table.c.event_type).order_by(outbox_table.c.id))).all()
    finally:
        await engine.dispose()
    return [r.event_type for r in rows]


async def test_requests_are_assembled_from_the_parts_and_exported_once(database_url: str, store: ObjectStore) -> None:
    engine = make_engine(database_url)
    uow = uow_factory(engine, "privacy", cases.PrivacyUnitOfWork)
    tenant, other = new_id(), new_id()
    me = officer(tenant)
    lead_id, patient_id = new_id(), new_id()
    links = cases.ExportLinks(SECRET, "http://gw", 60)
    try:
        # nobody known yet: 404, whatever the clinic
        with pytest.raises(NotFound):
            await cases.open_request(uow, me, cases.RequestInput("export", [lead_id], [], [], [], []))
        created = LeadCreatedV1(
            lead_id=lead_id, name="Maria", phone="+5511987654321", email="Maria@Example.com", source="instagram",
            created_at=NOW,
        )  # fmt: skip
        async with uow() as work:
            await cases.remember_person(work, created, meta(tenant, created.TYPE))
            converted = LeadConvertedV1(
                lead_id=lead_id, patient_id=patient_id, name="Maria", phone="+5511987654321", converted_by="u",
                converted_at=NOW,
            )  # fmt: skip
            await cases.remember_person(work, converted, meta(tenant, converted.TYPE))
            await work.commit()
        # another clinic's officer does not find her
        with pytest.raises(NotFound):
            await cases.open_request(uow, officer(other), cases.RequestInput("export", [lead_id], [], [], [], []))
        # by her phone alone: privacy adds the lead, the patient and the e-mail it knows
        request = await cases.open_request(
            uow, me, cases.RequestInput("export", [], [], ["+55 11 98765-4321"], [], ["529.982.247-25"])
        )
        assert request.subject.lead_ids == (lead_id,)
        assert request.subject.patient_ids == (patient_id,)
        assert request.subject.emails == ("maria@example.com",)
        assert request.subject.cpfs == ("52998224725",)
        assert request.due_at - request.requested_at == timedelta(days=15)
        assert "clinicflow.privacy.request.export_requested.v1" in await outbox_types(database_url)
        with pytest.raises(Gone):  # nothing to download before every service answered
            await cases.mint_export_link(uow, me, request.id, links)

        handle = cases.part_ready_handler(store)
        for struct in events.PART_READY:
            stored, counts = await put_part(
                store, tenant_id=tenant, request_id=request.id, service=struct.SERVICE,
                data={"rows": [{"service": struct.SERVICE, "lead_id": lead_id}]},
            )  # fmt: skip
            ready = struct(request_id=request.id, service=struct.SERVICE, counts=counts, at=NOW, object_key=stored.key)
            async with uow() as work:
                await handle(work, ready, meta(tenant, struct.TYPE))
                await work.commit()
        done = await cases.get_request(uow, me, request.id)
        assert done.status == "completed"
        assert {p.status for p in done.parts} == {"ready"}

        url, expires = await cases.mint_export_link(uow, me, request.id, links)
        assert expires > NOW
        token = url.split("token=")[1]
        data, filename = await cases.download_export(uow, store, links, token)
        assert filename.endswith(".zip")
        archive = zipfile.ZipFile(io.BytesIO(data))
        assert sorted(archive.namelist()) == [
            "analytics.json", "leads.json", "manifest.json", "notifications.json", "payments.json", "scheduling.json"
        ]  # fmt: skip
        assert json.loads(archive.read("manifest.json"))["law"] == "LGPD"
        with pytest.raises(Gone):  # single use
            await cases.download_export(uow, store, links, token)
        with pytest.raises(LinkInvalid):
            await cases.download_export(uow, store, cases.ExportLinks("x" * 40, "http://gw", 60), token)
        expired = cases.ExportLinks(SECRET, "http://gw", 1)
        url, _ = await cases.mint_export_link(uow, me, request.id, expired)
        await asyncio.sleep(2.1)  # past its expiry (JWT exp has a one-second resolution)
        with pytest.raises(Gone):
            await cases.download_export(uow, store, links, url.split("token=")[1])

        # erasure: complete when every service said erased; the ledger keeps the proof, not the contacts
        await cases.record_consent(
            uow, me, cases.ConsentInput("marketing", "whatsapp", "console", lead_id=lead_id, phone="+5511987654321",
                                        text="Sim"),
            granted=True,
        )  # fmt: skip
        erasure = await cases.open_request(uow, me, cases.RequestInput("erasure", [lead_id], [], [], [], []))
        for struct in events.PART_ERASED:
            async with uow() as work:
                await cases.part_erased(
                    work,
                    struct(request_id=erasure.id, service=struct.SERVICE, counts={"rows": 1}, retained={}, at=NOW),
                    meta(tenant, struct.TYPE),
                )
                await work.commit()
        assert (await cases.get_request(uow, me, erasure.id)).status == "completed"
        ledger = await cases.person_consents(uow, me, lead_id=lead_id, patient_id=None, phone=None, email=None)
        assert [(c.granted, c.phone) for c in ledger.entries] == [(True, None)]
    finally:
        await engine.dispose()


async def test_consent_ledger_audit_and_retention(database_url: str, store: ObjectStore) -> None:
    engine = make_engine(database_url)
    uow = uow_factory(engine, "privacy", cases.PrivacyUnitOfWork)
    me = officer(new_id())
    try:
        phone = "+5511911112222"
        await cases.record_consent(
            uow, me, cases.ConsentInput("reminders", "any", "patient_page", phone=phone, text="Quero lembretes"),
            granted=True,
        )  # fmt: skip
        await cases.record_consent(uow, me, cases.ConsentInput("reminders", "sms", "inbound_message", phone=phone),
                                   granted=False)  # fmt: skip
        found = await cases.person_consents(uow, me, lead_id=None, patient_id=None, phone=phone, email=None)
        assert found.allows("reminders", "sms") is False
        assert found.allows("reminders", "whatsapp") is True
        assert found.allows("marketing", "whatsapp") is None
        types = await outbox_types(database_url)
        assert types[-2:] == ["clinicflow.privacy.consent.given.v1", "clinicflow.privacy.consent.withdrawn.v1"]
        with pytest.raises(InvalidPrivacy) as caught:
            await cases.record_consent(uow, me, cases.ConsentInput("reminders", "fax", "console", phone=phone),
                                       granted=False)  # fmt: skip
        assert caught.value.field == "channel"

        await cases.record_read(uow, me, cases.ReadInput("recording", "r1", "quality", "/calls/1"))
        reads, total = await cases.list_reads(
            uow, me, record_kind="recording", record_id=None, actor_id=None, limit=10, offset=0
        )
        assert total == 1
        assert reads[0].purpose == "quality"
        await cases.set_retention(uow, me, "read_audit", 30)
        assert await cases.retention_round(uow, store, at=NOW + timedelta(days=31)) == 1
        runs, _ = await cases.retention_report(uow, me, limit=10, offset=0)
        assert [(r["kind"], r["removed"]) for r in runs] == [("read_audit", 1)]
        assert (await cases.list_reads(uow, me, record_kind=None, record_id=None, actor_id=None, limit=10,
                                       offset=0))[1] == 0  # fmt: skip
    finally:
        await engine.dispose()


async def test_the_api_wants_a_token_and_answers_problems(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRIVACY_DATABASE_URL", database_url)
    monkeypatch.setenv("LINK_SECRET", SECRET)
    app = create_api()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://privacy") as client:
        anonymous = await client.get("/api/v1/privacy/requests")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")
        forged = await client.get("/public/privacy/exports", params={"token": "not-a-real-token"})
        assert forged.status_code == 403
        assert forged.headers["content-type"].startswith("application/problem+json")
