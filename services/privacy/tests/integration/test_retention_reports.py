"""Retention rules that other services apply, on a real migrated PostgreSQL: setting a rule announces it
(retention.set, which notifications keeps for its `messages` timer and leads for its `lost_leads` one), and a
service's run reported back (notifications' and leads' retention.applied) joins the clinic's retention report once,
however often it is delivered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from contracts import EventMeta
from contracts.claims import PRIVACY_MANAGE, PRIVACY_READ
from contracts.leads import LeadsRetentionAppliedV1
from contracts.notifications import RetentionAppliedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from privacy import services as cases

NOW = datetime.now(UTC)


@pytest.fixture
def database_url(infra: Infra) -> str:
    return fresh_database(infra, "privacy")


def officer(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id, email="dpo@clinic.test",
        permissions=frozenset({PRIVACY_READ, PRIVACY_MANAGE}),
    )  # fmt: skip


async def test_a_rule_is_announced_and_a_services_run_joins_the_report_once(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = uow_factory(engine, "privacy", cases.PrivacyUnitOfWork)
    me, other = officer(new_id()), officer(new_id())
    try:
        await cases.set_retention(uow, me, "messages", 365)
        async with engine.connect() as conn:
            announced = (
                (
                    await conn.execute(
                        select(outbox_table.c.payload).where(
                            outbox_table.c.event_type == "clinicflow.privacy.retention.set.v1"
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert [(e["kind"], e["days"], e["set_by"]) for e in map(json.loads, announced)] == [
            ("messages", 365, me.user_id)
        ]

        run = RetentionAppliedV1(
            run_id=new_id(), kind="messages", removed=7, counts={"messages": 5, "inbound_messages": 2},
            cutoff=NOW - timedelta(days=365), at=NOW,
        )  # fmt: skip
        for _ in range(2):  # delivered twice: one line
            async with uow() as work:
                meta = EventMeta(
                    id=new_id(), source="clinicflow/notifications", type=run.TYPE, time=NOW, subject=run.run_id,
                    tenant_id=me.tenant_id, correlation_id="c",
                )  # fmt: skip
                await cases.record_retention_run(work, run, meta)
                await work.commit()
        runs, total = await cases.retention_report(uow, me, limit=10, offset=0)
        assert total == 1
        assert [(r["kind"], r["removed"]) for r in runs] == [("messages", 7)]
        assert (await cases.retention_report(uow, other, limit=10, offset=0))[1] == 0  # not another clinic's
    finally:
        await engine.dispose()


async def test_a_lost_leads_run_of_leads_joins_the_report_once(database_url: str) -> None:
    engine = make_engine(database_url)
    uow = uow_factory(engine, "privacy", cases.PrivacyUnitOfWork)
    me = officer(new_id())
    try:
        await cases.set_retention(uow, me, "lost_leads", 180)
        cutoff = NOW - timedelta(days=180)
        run = LeadsRetentionAppliedV1(run_id=new_id(), removed=3, counts={"leads": 3}, cutoff=cutoff, at=NOW)
        bare = LeadsRetentionAppliedV1()  # every field is optional: the event's id and time stand in
        bare_id = new_id()
        for event, ce_id in ((run, new_id()), (run, new_id()), (bare, bare_id), (bare, bare_id)):
            async with uow() as work:
                meta = EventMeta(
                    id=ce_id, source="clinicflow/leads", type=event.TYPE, time=NOW - timedelta(hours=1),
                    subject=str(event.run_id), tenant_id=me.tenant_id, correlation_id="c",
                )  # fmt: skip
                await cases.record_leads_retention_run(work, event, meta)
                await work.commit()
        runs, total = await cases.retention_report(uow, me, limit=10, offset=0)
        assert total == 2
        assert [(r["kind"], r["removed"], r["cutoff"]) for r in runs] == [
            ("lost_leads", 3, cutoff),
            ("lost_leads", 0, NOW - timedelta(hours=1)),
        ]
        assert str(runs[1]["id"]) == bare_id
    finally:
        await engine.dispose()
