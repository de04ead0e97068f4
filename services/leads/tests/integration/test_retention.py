"""The clinic's `lost_leads` retention applied by leads, on a real migrated PostgreSQL and the broker
(docs/privacy.md, "How long"): privacy's retention.set, delivered through Kafka to leads' privacy consumer, is kept
per clinic (a late, older announcement changes nothing); the timer anonymises the leads lost (NOT_INTERESTED) for
longer than the rule as an erasure does (rows, statuses, sources and days stay, so the metrics do not change),
leaves newer lost leads, open leads, a lead that is a patient and other clinics alone, does a clinic in batches and
reports the run once (`leads.retention.applied`, relayed to the leads topic); a second run finds nothing more."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import select, text

from contracts import EventMeta, from_headers, to_headers
from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from contracts.leads import LeadsRetentionAppliedV1
from contracts.privacy import RetentionSetV1
from contracts.topics import LEADS, PRIVACY
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.messaging import IdempotentConsumer, ensure_topics, make_producer
from kit.outbox import OutboxRelay, outbox_table
from kit.privacy import ERASED_NAME
from leads.models import leads as leads_table
from leads.models import retention_rules
from leads.services import leads as cases
from leads.services import patients, privacy, retention
from leads.services.work import LeadsUnitOfWork, LeadsWorkFactory

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
APPLIED = LeadsRetentionAppliedV1.TYPE


@pytest.fixture
async def database(infra: Infra) -> AsyncIterator[tuple[str, Any]]:
    url = await asyncio.to_thread(fresh_database, infra, "leads")
    engine = make_engine(url, pool_size=2)
    try:
        yield url, engine
    finally:
        await engine.dispose()


def front_desk(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id, email="front@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )  # fmt: skip


def rule_meta(tenant_id: str, event: RetentionSetV1) -> EventMeta:
    return EventMeta(
        id=new_id(), source="clinicflow/privacy", type=event.TYPE, time=NOW, subject=event.kind,
        tenant_id=tenant_id, correlation_id=new_id(),
    )  # fmt: skip


async def lead(uow: LeadsWorkFactory, me: Principal, phone: str, status: str, *, days_ago: float) -> str:
    """A lead in `status` since `days_ago` (its status history moved back in time)."""
    new = cases.NewLead(
        name="Maria Souza", phones=[phone], source="instagram", status=status, email=f"{phone[-4:]}@mail.test",
        city="Campinas", notes="prefere à tarde", treatment="first_consultation", reason="Quer clarear os dentes",
    )  # fmt: skip
    made = (await cases.create_lead(uow, me, new)).lead
    async with uow() as work:
        await work.session.execute(
            text("UPDATE lead_status_changes SET changed_at = :at WHERE lead_id = :id"),
            {"at": NOW - timedelta(days=days_ago), "id": made.id},
        )
        await work.commit()
    return made.id


async def reports(engine: Any) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox_table.c.headers, outbox_table.c.payload)
            .where(outbox_table.c.event_type == APPLIED)
            .order_by(outbox_table.c.id)
        )
        return [(json.dumps(h), json.loads(p)) for h, p in rows.all()]


async def test_lost_leads_older_than_the_rule_are_anonymised_and_each_run_is_reported(
    database: tuple[str, Any],
) -> None:
    _, engine = database
    uow: LeadsWorkFactory = uow_factory(engine, "leads", LeadsUnitOfWork)  # type: ignore[assignment]
    clinic, other = new_id(), new_id()
    me, them = front_desk(clinic), front_desk(other)
    async with uow() as work:
        for days, at in ((180, NOW), (30, NOW - timedelta(days=1))):  # the later announcement wins
            rule = RetentionSetV1(kind="lost_leads", days=days, set_by=new_id(), at=at)
            await retention.remember_rule(work, rule, rule_meta(clinic, rule))
        messages = RetentionSetV1(kind="messages", days=30, at=NOW)  # notifications' kind: kept, not applied here
        await retention.remember_rule(work, messages, rule_meta(other, messages))
        await work.commit()

    old_lost = [await lead(uow, me, f"+551198765{i:04d}", "NOT_INTERESTED", days_ago=200) for i in range(3)]
    recent = await lead(uow, me, "+5511987651000", "NOT_INTERESTED", days_ago=100)
    still_worked = await lead(uow, me, "+5511987652000", "CONTACTED_CALL_LATER", days_ago=400)
    patient = await lead(uow, me, "+5511987653000", "NOT_INTERESTED", days_ago=400)
    await patients.convert(uow, me, patient)  # a patient's lead: never removed by this rule
    theirs = await lead(uow, them, "+5511987654000", "NOT_INTERESTED", days_ago=400)  # no lost_leads rule
    figures = await cases.metrics(uow, me, None, None)

    assert await retention.retention_round(uow, at=NOW, batch=2) == 3  # two batches, one report

    for lead_id in old_lost:
        gone = await cases.get_lead(uow, me, lead_id)
        assert (gone.name, list(gone.phones), gone.email, gone.city, gone.notes) == (ERASED_NAME, [], None, None, None)
        assert (gone.status, gone.source) == ("NOT_INTERESTED", "instagram")  # the figures' fields stay
        assert [c.comment for c in await cases.status_history(uow, me, lead_id)] == [None]
    for kept, who in ((recent, me), (still_worked, me), (patient, me), (theirs, them)):
        assert (await cases.get_lead(uow, who, kept)).name == "Maria Souza"
    assert await cases.metrics(uow, me, None, None) == figures  # counts per source, status and day unchanged

    (headers, report), *more = await reports(engine)
    assert not more
    assert clinic in headers  # the clinic's own event
    assert (report["kind"], report["removed"]) == ("lost_leads", 3)
    assert report["counts"]["leads"] == 3
    assert report["counts"]["requests"] == 3
    assert "patients" not in report["counts"]
    assert report["cutoff"].startswith((NOW - timedelta(days=180)).date().isoformat())

    assert await retention.retention_round(uow, at=NOW) == 0  # nothing more to remove; still reported
    assert [r["removed"] for _, r in await reports(engine)] == [3, 0]


async def read_leads_topic(bootstrap: str, tenant_id: str, timeout: float = 30.0) -> LeadsRetentionAppliedV1:
    consumer = AIOKafkaConsumer(LEADS.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while True:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    for record in records:
                        meta = from_headers(list(record.headers))
                        if meta.type == APPLIED and meta.tenant_id == tenant_id:
                            return msgspec.json.decode(record.value, type=LeadsRetentionAppliedV1)
    finally:
        await consumer.stop()


async def test_the_rule_arrives_through_the_broker_and_the_run_goes_out_on_the_leads_topic(
    infra: Infra, database: tuple[str, Any]
) -> None:
    url, engine = database
    uow: LeadsWorkFactory = uow_factory(engine, "leads", LeadsUnitOfWork)  # type: ignore[assignment]
    clinic = new_id()
    me = front_desk(clinic)
    await ensure_topics(infra.kafka_bootstrap)
    producer = make_producer(infra.kafka_bootstrap, idempotent=False, client_id="leads-retention-test")
    await producer.start()

    def no_store() -> Any:
        raise AssertionError("no export or erasure here")

    consumer = IdempotentConsumer(
        service="leads",
        name=f"leads.privacy.test-{new_id()[:8]}",  # the worker's handlers, a group of its own
        topic=PRIVACY.name,
        handlers=privacy.handlers(no_store),
        uow=uow,
        producer=producer,
    )
    relay = OutboxRelay(service="leads", database_url=url, producer=producer, poll_seconds=0.2)
    relaying = asyncio.create_task(relay.run())
    try:
        await consumer.start(infra.kafka_bootstrap)
        rule = RetentionSetV1(kind="lost_leads", days=90, set_by=me.user_id, at=NOW)
        meta = rule_meta(clinic, rule)
        await producer.send_and_wait(
            PRIVACY.name, msgspec.json.encode(rule), key=rule.aggregate_id().encode(), headers=to_headers(meta)
        )
        async with asyncio.timeout(30):
            while True:
                async with engine.connect() as conn:
                    found = (
                        await conn.execute(select(retention_rules.c.days).where(retention_rules.c.tenant_id == clinic))
                    ).scalar_one_or_none()
                if found == 90:
                    break
                await asyncio.sleep(0.1)

        lost = await lead(uow, me, "+5511987655000", "NOT_INTERESTED", days_ago=91)
        assert await retention.retention_round(uow, at=NOW) >= 1

        applied = await read_leads_topic(infra.kafka_bootstrap, clinic)
        assert (applied.kind, applied.removed, applied.counts["leads"]) == ("lost_leads", 1, 1)
        assert applied.cutoff is not None
        assert applied.cutoff.date() == (NOW - timedelta(days=90)).date()
        async with engine.connect() as conn:
            name = (await conn.execute(select(leads_table.c.name).where(leads_table.c.id == lost))).scalar_one()
        assert name == ERASED_NAME
    finally:
        await consumer.stop()
        relaying.cancel()
        await asyncio.gather(relaying, return_exceptions=True)
        await producer.stop()
