"""The `lost_leads` retention through the running system (docs/privacy.md "How long", docs/leads.md "Retention of
lost leads"): the privacy officer sets the rule through the gateway -> privacy announces it (retention.set) and
leads keeps its copy -> a lead lost (NOT_INTERESTED) for longer than the rule (its status history moved back in
the test stack's leads database) -> leads' timer (every 2 s on a test stack) anonymises it -> the lead reads
anonymised through the gateway, its status and source kept, the clinic's metrics unchanged -> the retention report
shows the run (kind lost_leads, leads.retention.applied). A lead lost recently and a lead still being worked keep
their names; another clinic's report shows nothing of it."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from devkit.stack import Stack
from kit.db import make_engine
from tests.e2e.clinic import ok
from tests.e2e.conftest import Api, new_clinic, wait_until

pytestmark = pytest.mark.e2e
ERASED = "Erased person"


def lost_since(stack: Stack, lead_id: str, days: int) -> None:
    """The lead's status history moved `days` back, as if it had been lost that long."""

    async def move() -> None:
        engine = make_engine(stack.database_url("leads"), pool_size=1)
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    text("UPDATE lead_status_changes SET changed_at = :at WHERE lead_id = :id"),
                    {"at": datetime.now(UTC) - timedelta(days=days), "id": lead_id},
                )
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from pytest-asyncio's
        pool.submit(asyncio.run, move()).result()


def test_a_lead_lost_longer_than_the_rule_is_anonymised_and_the_run_reported(
    stack: Stack, admin: Api, other_clinic: Api, unique_phone: Any
) -> None:
    clinic = new_clinic(stack, admin, "Clínica Retenção")  # its own clinic: the rule touches no other test's leads
    rule = ok(clinic.http.put("/api/v1/privacy/retention/lost_leads", json={"days": 30}))
    assert (rule["kind"], rule["days"]) == ("lost_leads", 30)

    old = clinic.create_lead(name="Beatriz Lima", phone=unique_phone(), status="NOT_INTERESTED", notes="caro demais",
                             email="beatriz@mail.test", city="Santos")  # fmt: skip
    recent = clinic.create_lead(name="Carla Dias", phone=unique_phone(), status="NOT_INTERESTED")
    worked = clinic.create_lead(name="Diana Rocha", phone=unique_phone(), status="CONTACTED_CALL_LATER")
    metrics = ok(clinic.http.get("/api/v1/leads/metrics"))
    for lead, days in ((old, 45), (recent, 10), (worked, 400)):
        lost_since(stack, lead["id"], days)

    def anonymised() -> dict[str, Any] | None:
        found: dict[str, Any] = ok(clinic.http.get(f"/api/v1/leads/{old['id']}"))
        return found if found["name"] == ERASED else None

    gone = wait_until(anonymised, 30, "leads never applied the lost_leads rule")
    assert (gone["phones"], gone["email"], gone["city"], gone["notes"]) == ([], None, None, None)
    assert (gone["status"], gone["source"]) == ("NOT_INTERESTED", old["source"])
    for kept in (recent, worked):
        assert ok(clinic.http.get(f"/api/v1/leads/{kept['id']}"))["name"] == kept["name"]
    assert ok(clinic.http.get("/api/v1/leads/metrics")) == metrics  # counts per source, status and day unchanged

    def reported() -> list[dict[str, Any]] | None:
        runs = ok(clinic.http.get("/api/v1/privacy/retention/report", params={"limit": 100}))["items"]
        mine = [r for r in runs if r["kind"] == "lost_leads" and r["removed"] == 1]
        return mine or None

    (run,) = wait_until(reported, 30, "privacy never listed leads' lost_leads run")
    assert datetime.fromisoformat(run["at"]) - datetime.fromisoformat(run["cutoff"]) == timedelta(days=30)
    others = ok(other_clinic.http.get("/api/v1/privacy/retention/report", params={"limit": 100}))["items"]
    assert [r for r in others if r["kind"] == "lost_leads"] == []
