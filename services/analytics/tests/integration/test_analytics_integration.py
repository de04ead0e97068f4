"""analytics on a real, migrated PostgreSQL and the real broker: the projections applied in a shuffled order
with duplicates, every report's exact figures, scopes and tenants, the dashboard, the Kafka replay (rebuild)
and the live consumers' lag."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import httpx
import pytest

from analytics import consumers
from analytics.app import create_api
from analytics.consumers import replay
from analytics.domain import InvalidAnalytics, NotFound
from analytics.domain.facts import LEAD_ROLLUPS, REVENUE_ROLLUPS
from analytics.services import dashboard, inputs, rebuild
from analytics.services import privacy as privacy_answers
from analytics.services import reports as cases
from analytics.services.work import AnalyticsUnitOfWork, AnalyticsWorkFactory
from contracts import Event, EventMeta, to_headers
from contracts import funnel as fe
from contracts import leads as le
from contracts import notifications as ne
from contracts import payments as pe
from contracts import scheduling as se
from contracts import telephony as te
from contracts.claims import ANALYTICS_ALL, ANALYTICS_READ, ANALYTICS_WRITE
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1
from contracts.people import Person
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import UnitOfWork, make_engine, uow_factory
from kit.messaging import ensure_topics, make_producer
from kit.objects import ObjectStore

TZ = "America/Sao_Paulo"
NOV = cases.Query(first=date(2026, 11, 1), last=date(2026, 11, 30))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def database_url(infra: Infra) -> str:
    return fresh_database(infra, "analytics")


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[AnalyticsWorkFactory]:
    engine = make_engine(database_url)
    try:
        yield uow_factory(engine, "analytics", AnalyticsUnitOfWork)
    finally:
        await engine.dispose()


def staff(tenant: str, *perms: str, user: str | None = None) -> Principal:
    return Principal(
        user_id=user or new_id(), tenant_id=tenant, email="s@clinic.test", permissions=frozenset(perms), timezone=TZ
    )


def meta(tenant: str, event: Event) -> EventMeta:
    return EventMeta(
        id=new_id(),
        source="test",
        type=event.TYPE,
        time=datetime.now(UTC),
        subject=event.aggregate_id(),
        tenant_id=tenant,
        correlation_id=new_id(),
    )


class Clinic:
    """Four leads from four channels, some booked, arrived, treated and paid (the figures are in the tests)."""

    def __init__(self, tenant: str) -> None:
        self.tenant = tenant
        self.ag1, self.ag2, self.curator = new_id(), new_id(), new_id()
        self.l1, self.l2, self.l3, self.l4 = new_id(), new_id(), new_id(), new_id()
        self.patient = new_id()
        self.d1, self.d2, self.b1, self.b2, self.proc = new_id(), new_id(), new_id(), new_id(), new_id()
        self.a1, self.a2, self.a3 = new_id(), new_id(), new_id()
        self.events: list[Event] = []
        self._build()

    def _booked(self, appt: str, lead: str, doctor: str, branch: str, booked: datetime, starts: datetime) -> None:
        self.events.append(
            se.AppointmentBookedV1(
                appointment_id=appt,
                person=Person(lead_id=lead),
                branch_id=branch,
                branch_name=f"Branch {branch[:4]}",
                professional_id=doctor,
                professional_name=f"Dr {doctor[:4]}",
                procedure_id=self.proc,
                procedure_name="Consulta",
                starts_at=starts,
                ends_at=starts + timedelta(hours=1),
                timezone=TZ,
                source="staff",
                booked_by=self.ag1,
                booked_at=booked,
            )
        )

    def _build(self) -> None:
        e, l1, l2, l3, l4 = self.events, self.l1, self.l2, self.l3, self.l4
        p1 = Person(lead_id=l1)
        # L1: a call from a tracking number, contacted in 10 minutes, booked, confirmed, arrived, treated, paid
        e.append(
            te.CallStartedV1(
                call_id=new_id(),
                provider="zadarma",
                provider_call_id="1",
                direction="inbound",
                caller="+5511900000001",
                tracking_number="+551130000001",
                source="google",
                started_at=at(10, 11, 59),
            )
        )
        e.append(
            le.LeadCreatedV1(
                lead_id=l1,
                name="Lead One",
                phone="+5511900000001",
                source="google",
                created_at=at(10, 12),
                channel="call",
            )
        )
        e.append(le.LeadAssignedV1(lead_id=l1, owner_id=self.ag1, assigned_by=self.ag1, assigned_at=at(10, 12, 1)))
        e.append(
            le.LeadStatusChangedV1(
                lead_id=l1,
                from_status="PENDING_CONTACT",
                to_status="CONTACTED",
                changed_by=self.ag1,
                changed_at=at(10, 12, 10),
            )
        )
        self._booked(self.a1, l1, self.d1, self.b1, at(10, 12, 20), at(12, 13))
        e.append(
            se.ReminderDueV1(
                appointment_id=self.a1,
                person=p1,
                reminder_id=new_id(),
                offset_minutes=1440,
                starts_at=at(12, 13),
                timezone=TZ,
                branch_name="b",
                professional_name="d",
                procedure_name="c",
                due_at=at(11, 13),
            )
        )
        e.append(
            se.AppointmentConfirmedV1(
                appointment_id=self.a1, person=p1, starts_at=at(12, 13), via="whatsapp", confirmed_at=at(11, 14)
            )
        )
        e.append(
            se.PatientArrivedV1(
                appointment_id=self.a1,
                person=p1,
                branch_id=self.b1,
                professional_id=self.d1,
                procedure_id=self.proc,
                arrived_at=at(12, 13),
                checked_in_by=self.ag1,
            )
        )
        e.append(
            se.VisitCompletedV1(
                appointment_id=self.a1,
                person=p1,
                professional_id=self.d1,
                procedure_id=self.proc,
                completed_at=at(12, 14),
            )
        )
        e.append(
            le.LeadConvertedV1(
                lead_id=l1,
                patient_id=self.patient,
                name="Lead One",
                phone="+5511900000001",
                converted_by=self.ag1,
                converted_at=at(12, 14, 5),
            )
        )
        paid_by = Person(patient_id=self.patient)  # payments knows the patient only
        pay = new_id()
        e.append(
            pe.PaymentLinkCreatedV1(
                payment_id=pay,
                person=paid_by,
                appointment_id=self.a1,
                amount="300.00",
                amount_before_discount="350.00",
                currency="BRL",
                description="Consulta",
                methods=["pix"],
                provider="sandbox",
                url="https://pay",
                expires_at=at(13, 14),
                created_by=self.ag1,
                created_at=at(12, 14, 10),
            )
        )
        e.append(
            pe.PaymentConfirmedV1(
                payment_id=pay,
                person=paid_by,
                appointment_id=self.a1,
                amount="300.00",
                currency="BRL",
                method="pix",
                provider="sandbox",
                provider_payment_id="x",
                paid_at=at(12, 14, 30),
            )
        )
        e.append(
            pe.PaymentRefundedV1(
                payment_id=pay,
                person=paid_by,
                amount="50.00",
                total_refunded="50.00",
                currency="BRL",
                partial=True,
                refunded_by=self.ag1,
                refunded_at=at(13, 9),
            )
        )
        deal = new_id()
        e.append(
            fe.DealCreatedV1(
                deal_id=deal,
                pipeline_id="p",
                pipeline_kind="arrived",
                stage_id="s",
                stage_key="arrived",
                person=Person(lead_id=l1, patient_id=self.patient),
                created_at=at(12, 13),
            )
        )
        e.append(
            fe.CuratorAssignedV1(
                deal_id=deal, curator_id=self.curator, assigned_by=self.ag1, assigned_at=at(12, 14, 10)
            )
        )
        e.append(
            fe.TreatmentPlanCreatedV1(
                plan_id=new_id(),
                deal_id=deal,
                title="Plan",
                total="900.00",
                currency="BRL",
                items=3,
                total_before_discount="1000.00",
                created_by=self.curator,
                created_at=at(12, 14, 20),
            )
        )
        e.append(
            fe.TaskCreatedV1(
                task_id=new_id(),
                deal_id=deal,
                kind="call",
                title="Call about the plan",
                responsible_id=self.curator,
                due_at=at(15, 16),
                created_at=at(12, 14, 21),
            )
        )
        # L2: a WhatsApp message, contacted in 30 minutes, booked, two reminders unanswered, no-show
        p2 = Person(lead_id=l2)
        e.append(
            le.LeadCreatedV1(
                lead_id=l2,
                name="Lead Two",
                phone="+5511900000002",
                source="whatsapp",
                created_at=at(11, 9),
                channel="message",
                owner_id=self.ag2,
            )
        )
        e.append(
            ne.MessageReceivedV1(
                conversation_id=new_id(),
                message_id=new_id(),
                lead_id=l2,
                channel="whatsapp",
                sender="+5511900000002",
                text="Oi",
                provider="sandbox",
                provider_message_id="m",
                received_at=at(11, 9, 1),
            )
        )
        e.append(
            le.LeadStatusChangedV1(
                lead_id=l2,
                from_status="PENDING_CONTACT",
                to_status="CONTACTED",
                changed_by=self.ag2,
                changed_at=at(11, 9, 30),
            )
        )
        self._booked(self.a2, l2, self.d2, self.b1, at(11, 10), at(14, 10))
        for offset, due in ((1440, at(13, 10)), (300, at(14, 5))):
            e.append(
                se.ReminderDueV1(
                    appointment_id=self.a2,
                    person=p2,
                    reminder_id=new_id(),
                    offset_minutes=offset,
                    starts_at=at(14, 10),
                    timezone=TZ,
                    branch_name="b",
                    professional_name="d",
                    procedure_name="c",
                    due_at=due,
                )
            )
        e.append(
            se.AppointmentNoShowV1(
                appointment_id=self.a2, person=p2, starts_at=at(14, 10), marked_by=self.ag2, marked_at=at(14, 10, 30)
            )
        )
        # L3: the site form, never contacted, booked at the second branch, arrived
        e.append(
            le.LeadCreatedV1(
                lead_id=l3,
                name="Lead Three",
                phone="+5511900000003",
                source="instagram_ads",
                created_at=at(15, 10),
                channel="web_form",
                owner_id=self.ag1,
                attribution={"utm_source": "instagram", "utm_campaign": "nov"},
            )
        )
        self._booked(self.a3, l3, self.d1, self.b2, at(15, 11), at(16, 15))
        e.append(
            se.PatientArrivedV1(
                appointment_id=self.a3,
                person=Person(lead_id=l3),
                branch_id=self.b2,
                professional_id=self.d1,
                procedure_id=self.proc,
                arrived_at=at(16, 15),
                checked_in_by=self.ag1,
            )
        )
        e.append(
            le.ActivityScheduledV1(
                lead_id=l3, activity_id=new_id(), type="call", scheduled_at=at(15, 20), responsible_id=self.ag1
            )
        )
        # L4: entered by hand, called back in an hour, nothing more
        e.append(
            le.LeadCreatedV1(
                lead_id=l4,
                name="Lead Four",
                phone="+5511900000004",
                source="recommendation",
                created_at=at(20, 10),
                channel="manual",
                owner_id=self.ag2,
            )
        )
        e.append(
            le.ActivityCompletedV1(
                lead_id=l4, activity_id=new_id(), type="call", completed_by=self.ag2, completed_at=at(20, 11)
            )
        )

    def tagged(self) -> list[tuple[Event, EventMeta]]:
        return [(event, meta(self.tenant, event)) for event in self.events]


async def deliver(uow: AnalyticsWorkFactory, tagged: list[tuple[Event, EventMeta]], seed: int) -> None:
    """Like the consumers: each record in its own transaction, here shuffled and some twice (redeliveries)."""
    rnd = random.Random(seed)
    replay_ = tagged + rnd.sample(tagged, len(tagged) // 3)
    rnd.shuffle(replay_)
    await rebuild.apply(uow, "analytics.test", replay_)


def by(report: cases.Report, *keys: str) -> dict[Any, dict[str, Any]]:
    return {tuple(r[k] for k in keys) if len(keys) > 1 else r[keys[0]]: r for r in report.rows}


async def figures(uow: AnalyticsWorkFactory, manager: Principal) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, case, group in (
        ("leads", cases.leads, ("channel", "source")),
        ("conversion", cases.conversion, ("channel",)),
        ("revenue", cases.revenue, ("channel", "source")),
        ("visits", cases.visits, ()),
        ("attendance", cases.attendance, ("step",)),
        ("response", cases.response_times, ()),
    ):
        report = await case(uow, manager, cases.Query(first=NOV.first, last=NOV.last, group_by=group))
        out[name] = (report.rows, report.totals)
    return out


async def test_every_report_shows_exactly_the_clinic_s_numbers(uow: AnalyticsWorkFactory) -> None:
    clinic = Clinic(new_id())
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL, ANALYTICS_WRITE)
    await deliver(uow, clinic.tagged(), seed=1)
    # staff correct L4's source; campaign spend on google for November; the curators' default commission
    fixed = await inputs.correct_source(uow, manager, clinic.l4, "google", "said so on the phone")
    assert (fixed["corrected"], fixed["source"]) == ("google", "recommendation")
    await inputs.add_spend(
        uow,
        manager,
        source="google",
        channel=None,
        campaign="Nov",
        first=date(2026, 11, 1),
        last=date(2026, 11, 30),
        amount=Decimal("500.00"),
        currency="BRL",
    )
    await inputs.set_commission(uow, manager, "*", Decimal("10"))

    leads = await cases.leads(uow, manager, NOV)
    assert {(r["channel"], r["source"]): r["leads"] for r in leads.rows} == {
        ("call", "google"): 1,
        ("whatsapp", "whatsapp"): 1,
        ("site_form", "instagram_ads"): 1,
        ("manual", "google"): 1,  # the corrected source
    }
    assert leads.totals == {"leads": 4, "corrected": 1}

    conversion = await cases.conversion(uow, manager, NOV)
    rows = by(conversion, "channel")
    steps = ("leads", "booked", "arrived", "treated", "paid")
    assert {c: tuple(r[s] for s in steps) for c, r in rows.items()} == {
        "call": (1, 1, 1, 1, 1),
        "whatsapp": (1, 1, 0, 0, 0),
        "site_form": (1, 1, 1, 0, 0),
        "manual": (1, 0, 0, 0, 0),
    }
    t = conversion.totals
    assert tuple(t[s] for s in steps) == (4, 3, 2, 1, 1)
    assert (t["booked_drop"], t["arrived_drop"], t["treated_drop"], t["paid_drop"]) == (1, 1, 1, 0)
    assert (t["booked_rate"], t["arrived_drop_rate"], t["paid_rate"]) == (75.0, 33.3, 25.0)
    assert rows["call"]["revenue"] == Decimal("250.00")
    doctors = by(await cases.conversion(uow, manager, cases.Query(NOV.first, NOV.last, group_by=("doctor",))), "doctor")
    assert {d: r["leads"] for d, r in doctors.items()} == {clinic.d1: 2, clinic.d2: 1, None: 1}
    assert doctors[clinic.d1]["doctor_name"] == f"Dr {clinic.d1[:4]}"
    branch2 = await cases.conversion(uow, manager, cases.Query(NOV.first, NOV.last, branch_id=clinic.b2))
    assert branch2.totals["leads"] == 1
    assert branch2.rows[0]["channel"] == "site_form"

    revenue = await cases.revenue(uow, manager, cases.Query(NOV.first, NOV.last, group_by=("source",)))
    google = by(revenue, "source")["google"]
    assert (google["payments"], google["gross"], google["refunds"], google["revenue"]) == (
        1,
        Decimal("300.00"),
        Decimal("50.00"),
        Decimal("250.00"),
    )
    assert (google["leads"], google["spend"], google["cost_per_lead"]) == (2, Decimal("500.00"), Decimal("250.00"))
    by_channel = by(await cases.revenue(uow, manager, NOV), "channel", "source")
    assert by_channel[("call", "google")]["spend"] == Decimal("250.00")  # split over the source's channels by leads
    assert by_channel[("manual", "google")]["revenue"] == Decimal("0.00")
    per_doctor = by(
        await cases.revenue(uow, manager, cases.Query(NOV.first, NOV.last, group_by=("doctor", "procedure"))),
        "doctor",
        "procedure",
    )
    assert per_doctor[(clinic.d1, clinic.proc)]["revenue"] == Decimal("250.00")

    visits = await cases.visits(uow, manager, NOV)
    assert len(visits.rows) == 1
    v = visits.rows[0]
    assert (v["patient"], v["curator_id"], v["plans"]) == ("Lead One", clinic.curator, 1)
    assert (v["treatment_sum"], v["before_discounts"], v["discounts"]) == (
        Decimal("900.00"),
        Decimal("1000.00"),
        Decimal("100.00"),
    )
    assert (v["payments"], v["open_debt"], v["commission"]) == (Decimal("250.00"), Decimal("650.00"), Decimal("25.00"))
    assert visits.totals["curators"][0]["patients"] == 1

    attendance = by(await cases.attendance(uow, manager, NOV), "channel")
    assert {c: (r["appointments"], r["no_shows"], r["no_show_rate"]) for c, r in attendance.items()} == {
        "call": (1, 0, 0.0),
        "whatsapp": (1, 1, 100.0),
        "site_form": (1, 0, 0.0),
    }
    steps_ = by(await cases.attendance(uow, manager, cases.Query(NOV.first, NOV.last, group_by=("step",))), "step")
    assert (steps_[1440]["reminders"], steps_[1440]["confirmed"], steps_[1440]["confirmation_rate"]) == (2, 1, 50.0)
    assert (steps_[300]["reminders"], steps_[300]["confirmed"], steps_[300]["no_shows"]) == (1, 0, 1)

    response = by(await cases.response_times(uow, manager, NOV), "agent_id")
    assert (response[clinic.ag1]["leads"], response[clinic.ag1]["contacted"]) == (2, 1)
    assert response[clinic.ag1]["average_minutes"] == 10.0
    assert (response[clinic.ag2]["average_minutes"], response[clinic.ag2]["median_minutes"]) == (45.0, 30.0)
    assert response[clinic.ag2]["p90_minutes"] == 60.0


async def test_agents_see_their_own_figures_and_clinics_see_nothing_of_each_other(uow: AnalyticsWorkFactory) -> None:
    clinic, other = Clinic(new_id()), Clinic(new_id())
    await deliver(uow, clinic.tagged() + other.tagged(), seed=2)
    agent = staff(clinic.tenant, ANALYTICS_READ, user=clinic.ag1)
    mine = await cases.conversion(uow, agent, NOV)
    assert mine.scope == "own"
    assert (mine.totals["leads"], mine.totals["booked"], mine.totals["paid"]) == (2, 2, 1)  # L1 and L3
    curator = staff(clinic.tenant, ANALYTICS_READ, user=clinic.curator)
    assert len((await cases.visits(uow, curator, NOV)).rows) == 1
    assert (await cases.visits(uow, agent, NOV)).rows == []
    with pytest.raises(NotFound):  # another agent's lead
        await inputs.lead_source(uow, agent, clinic.l2)
    # a manager of a third clinic sees nothing; the other clinic's manager sees only theirs
    stranger = staff(new_id(), ANALYTICS_READ, ANALYTICS_ALL)
    assert (await cases.conversion(uow, stranger, NOV)).totals["leads"] == 0
    assert (await cases.revenue(uow, stranger, NOV)).rows == []
    assert (await dashboard.panels(uow, stranger, at(15, 18)))["new_leads"]["count"] == 0
    with pytest.raises(NotFound):
        await inputs.lead_source(uow, staff(other.tenant, ANALYTICS_READ, ANALYTICS_ALL), clinic.l1)
    theirs = await cases.conversion(uow, staff(other.tenant, ANALYTICS_READ, ANALYTICS_ALL), NOV)
    assert theirs.totals["leads"] == 4


async def test_the_dashboard_panels_and_their_details(uow: AnalyticsWorkFactory) -> None:
    clinic = Clinic(new_id())
    await deliver(uow, clinic.tagged(), seed=3)
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)
    now = at(15, 18)  # 15:00 in São Paulo on 15 November
    counts = await dashboard.panels(uow, manager, now)
    assert {k: v["count"] for k, v in counts.items()} == {
        "new_leads": 1,  # L3
        "follow_ups_today": 2,  # the deal's call (16:00 UTC) and L3's call (20:00 UTC)
        "overdue_tasks": 1,  # the deal's call
        "unconfirmed_tomorrow": 1,  # A3
        "patients_waiting": 0,
        "payments_today": 0,
    }
    newest = await dashboard.detail(uow, manager, "new_leads", 10, now)
    assert [(i["lead_id"], i["link"]) for i in newest] == [(clinic.l3, f"/#/prospects/{clinic.l3}")]
    waiting = await dashboard.panels(uow, manager, at(16, 15, 30))
    assert waiting["patients_waiting"]["count"] == 1  # L3 arrived at 15:00 UTC
    paid = await dashboard.panels(uow, manager, at(12, 20))
    assert (paid["payments_today"]["count"], paid["payments_today"]["amount"]) == (1, Decimal("300.00"))
    agent = staff(clinic.tenant, ANALYTICS_READ, user=clinic.ag2)
    assert (await dashboard.panels(uow, agent, now))["follow_ups_today"]["count"] == 0
    with pytest.raises(InvalidAnalytics):
        await dashboard.detail(uow, manager, "nope", 10, now)


async def test_bad_input_names_the_field(uow: AnalyticsWorkFactory) -> None:
    manager = staff(new_id(), ANALYTICS_READ, ANALYTICS_ALL, ANALYTICS_WRITE)
    with pytest.raises(InvalidAnalytics) as caught:
        await cases.conversion(uow, manager, cases.Query(first=date(2026, 11, 5), last=date(2026, 11, 1)))
    assert caught.value.field == "to"
    with pytest.raises(InvalidAnalytics) as caught:
        await cases.conversion(uow, manager, cases.Query(NOV.first, NOV.last, sort="nope"))
    assert caught.value.field == "sort"
    with pytest.raises(InvalidAnalytics) as caught:
        await inputs.set_commission(uow, manager, "*", Decimal("120"))
    assert caught.value.field == "percent"


async def test_a_commission_is_set_only_for_a_member_of_the_clinic_s_staff(uow: AnalyticsWorkFactory) -> None:
    tenant, other = new_id(), new_id()
    manager = staff(tenant, ANALYTICS_READ, ANALYTICS_ALL, ANALYTICS_WRITE)
    curator, theirs = new_id(), new_id()
    with pytest.raises(InvalidAnalytics) as caught:  # a well-formed id nobody in the directory has
        await inputs.set_commission(uow, manager, curator, Decimal("10"))
    assert caught.value.field == "curator_id"
    now = datetime.now(UTC)
    joined = StaffCreatedV1(user_id=curator, full_name="Ana Curadora", email="a@c.test", roles=[], changed_at=now)
    elsewhere = StaffCreatedV1(user_id=theirs, full_name="Bia", email="b@c.test", roles=[], changed_at=now)
    await rebuild.apply(uow, "analytics.test", [(joined, meta(tenant, joined)), (elsewhere, meta(other, elsewhere))])
    rates = await inputs.set_commission(uow, manager, curator, Decimal("10"))
    assert [(r["curator_id"], r["percent"]) for r in rates] == [(curator, Decimal("10"))]
    with pytest.raises(InvalidAnalytics) as caught:  # another clinic's member
        await inputs.set_commission(uow, manager, theirs, Decimal("10"))
    assert caught.value.field == "curator_id"
    left = StaffDeactivatedV1(user_id=curator, full_name="Ana Curadora", email="a@c.test", roles=[], changed_at=now)
    await rebuild.apply(uow, "analytics.test", [(left, meta(tenant, left))])
    # a former curator's rate still prices the periods they worked
    assert await inputs.set_commission(uow, manager, curator, Decimal("12"))


async def produce(bootstrap: str, tagged: list[tuple[Event, EventMeta]]) -> None:
    producer = make_producer(bootstrap, idempotent=False, client_id="analytics-test")
    await producer.start()
    try:
        for event, m in tagged:
            await producer.send(
                event.TOPIC, msgspec_json(event), key=event.aggregate_id().encode(), headers=to_headers(m)
            )
        await producer.flush()
    finally:
        await producer.stop()


def msgspec_json(event: Event) -> bytes:
    import msgspec

    return msgspec.json.encode(event)


async def test_a_rebuild_from_the_topics_gives_the_same_figures(infra: Infra, uow: AnalyticsWorkFactory) -> None:
    clinic = Clinic(new_id())
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)
    tagged = clinic.tagged()
    await ensure_topics(infra.kafka_bootstrap)
    await produce(infra.kafka_bootstrap, tagged)
    await deliver(uow, tagged, seed=4)
    before = await figures(uow, manager)
    assert before["conversion"][1]["leads"] == 4
    results = await replay.run(infra.kafka_bootstrap, uow)
    assert results["clinicflow.leads.events"]["applied"] >= 10, results
    assert await figures(uow, manager) == before


async def test_the_live_consumers_reflect_an_event_within_five_seconds(infra: Infra, database_url: str) -> None:
    from analytics.app import timers
    from analytics.settings import get_settings
    from kit.periodic import PeriodicRunner
    from kit.worker import WorkerContext

    engine = make_engine(database_url)
    uow = uow_factory(engine, "analytics", AnalyticsUnitOfWork)
    await ensure_topics(infra.kafka_bootstrap)
    producer = make_producer(infra.kafka_bootstrap, idempotent=False, client_id="analytics-test")
    await producer.start()
    ctx = WorkerContext("analytics", get_settings(), engine, uow, producer)
    live = consumers.build(ctx)
    refresher = PeriodicRunner("analytics", timers(ctx))  # the worker's fact refresher
    try:
        for c in live:
            await c.start(infra.kafka_bootstrap)
        refresher.start()
        clinic = Clinic(new_id())
        manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)
        first = clinic.tagged()[:5]
        sent = time.monotonic()
        await produce(infra.kafka_bootstrap, first)
        lag = None
        while time.monotonic() - sent < 30:
            report = await cases.conversion(uow, manager, NOV)
            if report.totals["leads"] == 1 and report.totals["booked"] == 1:
                lag = time.monotonic() - sent
                break
            await asyncio.sleep(0.1)
        assert lag is not None
        assert lag < 5.0
    finally:
        await refresher.stop()
        for c in live:
            await c.stop()
        await producer.stop()
        await engine.dispose()


async def test_the_api_wants_a_token_and_answers_problems(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_DATABASE_URL", database_url)
    app = create_api()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://analytics") as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        anonymous = await client.get("/api/v1/analytics/reports/conversion")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")


async def _consistent(uow: AnalyticsWorkFactory, tenant: str) -> None:
    """The stored facts are what the projections give computed from scratch, and each rollup is their sum."""
    from sqlalchemy import text

    from analytics.repository.facts import lead_facts_sql, payment_facts_sql

    def rows(found: Any, key: str) -> dict[str, dict[str, Any]]:
        return {r[key]: dict(r) for r in found.mappings().all()}

    async with uow() as work:
        s, p = work.session, {"tenant": tenant}
        q = "SELECT * FROM {} WHERE tenant_id = :tenant"
        assert rows(await s.execute(text(q.format("lead_facts")), p), "lead_id") == rows(
            await s.execute(text(lead_facts_sql(only=False)), p), "lead_id"
        )
        assert rows(await s.execute(text(q.format("payment_facts")), p), "payment_id") == rows(
            await s.execute(text(payment_facts_sql(only=False)), p), "payment_id"
        )
        lead_sums = (
            "count(*), count(booked_at), count(arrived_at), count(treated_at), count(paid_at), "
            "sum(revenue), count(*) FILTER (WHERE corrected)"
        )
        for rollup, cols, sums, facts in (
            *((r, "leads, booked, arrived, treated, paid, revenue, corrected", lead_sums, "lead_facts")
              for r in LEAD_ROLLUPS),
            *((r, "payments, gross, refunds", "count(*), sum(gross), sum(refunded)", "payment_facts")
              for r in REVENUE_ROLLUPS),
        ):  # fmt: skip
            keys = ", ".join(("day", *rollup.dims))
            groups = ", ".join(str(n + 1) for n in range(len(rollup.dims) + 1))
            stored = await s.execute(
                text(f"SELECT {keys}, {cols} FROM {rollup.table} WHERE tenant_id = :tenant "
                     f"AND ({cols.replace(', ', ' <> 0 OR ')} <> 0)"), p)  # fmt: skip
            summed = await s.execute(
                text(f"SELECT {keys}, {sums} FROM {facts} WHERE tenant_id = :tenant GROUP BY {groups}"), p
            )
            assert sorted(map(tuple, stored.all()), key=str) == sorted(map(tuple, summed.all()), key=str), rollup
        queued = await s.execute(text("SELECT count(*) FROM fact_queue WHERE tenant_id = :tenant"), p)
        assert queued.scalar() == 0


async def test_facts_and_rollups_are_the_same_whatever_the_order_and_batches(uow: AnalyticsWorkFactory) -> None:
    """Each lead's steps on its row and the daily rollups, kept by the batches, equal the projections computed
    from scratch: shuffled, duplicated, in batches of any size, with a merge, a payment naming only the phone,
    a source correction and its removal; the reports read the same figures."""
    for seed in (11, 12, 13):
        clinic = Clinic(new_id())
        dup, pay = new_id(), new_id()
        clinic.events += [
            le.LeadCreatedV1(lead_id=dup, name="Two again", phone="+5511900000002", source="google",
                             created_at=at(11, 8), channel="message"),
            le.LeadMergedV1(lead_id=clinic.l2, merged_lead_id=dup, merged_by=clinic.ag2, merged_at=at(11, 12)),
            pe.PaymentConfirmedV1(payment_id=pay, person=Person(phone="+5511900000003"), amount="120.00",
                                  currency="BRL", method="pix", provider="sandbox", provider_payment_id="y",
                                  paid_at=at(16, 16)),
        ]  # fmt: skip
        manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL, ANALYTICS_WRITE)
        rnd = random.Random(seed)
        tagged = clinic.tagged()
        stream = tagged + rnd.sample(tagged, len(tagged) // 3)
        rnd.shuffle(stream)
        while stream:
            size = rnd.randint(1, 6)
            await rebuild.apply(uow, "analytics.test", stream[:size])
            stream = stream[size:]
            await _consistent(uow, clinic.tenant)
        conversion = await cases.conversion(uow, manager, NOV)
        assert tuple(conversion.totals[s] for s in ("leads", "booked", "arrived", "treated", "paid")) == (
            4,
            3,
            2,
            1,
            2,
        )  # L3 paid by its phone
        revenue = by(await cases.revenue(uow, manager, NOV), "channel", "source")
        assert revenue[("site_form", "instagram_ads")]["revenue"] == Decimal("120.00")  # by L3's phone
        await inputs.correct_source(uow, manager, clinic.l3, "google", None)
        await _consistent(uow, clinic.tenant)
        assert by(await cases.revenue(uow, manager, NOV), "channel", "source")[("site_form", "google")]["payments"] == 1
        await inputs.clear_correction(uow, manager, clinic.l3)
        await _consistent(uow, clinic.tenant)
        # a period of partial days (rollups for the whole days, facts at the edges) against the facts alone
        # Periods of partial days (a family of rollups for the whole days, facts at the edges) against the facts
        # alone (a grouping no family keeps: channel with doctor), by channel and by doctor and branch, for the
        # clinic and for one branch.
        for first, last in ((11, 15), (1, 30), (10, 10), (12, 20)):
            q = {"first": date(2026, 11, first), "last": date(2026, 11, last)}
            for branch in (None, clinic.b1, clinic.b2):
                facts = {
                    name: await case(uow, manager, cases.Query(**q, branch_id=branch, group_by=("channel", "doctor")))
                    for name, case in (("conversion", cases.conversion), ("revenue", cases.revenue))
                }
                for group in (("channel",), ("doctor",), ("branch",), ("doctor", "branch")):
                    if branch is not None and group == ("channel",):
                        continue  # by channel for one branch: the facts (no family keeps both)
                    rolled = await cases.conversion(uow, manager, cases.Query(**q, branch_id=branch, group_by=group))
                    assert rolled.totals == facts["conversion"].totals, (first, last, branch, group)
                    money = await cases.revenue(uow, manager, cases.Query(**q, branch_id=branch, group_by=group))
                    assert money.totals == facts["revenue"].totals, (first, last, branch, group)
                if (first, last, branch) == (11, 15, None):
                    assert facts["conversion"].totals["leads"] == 2  # L2 (11th) and L3 (15th)
        by_doctor = by(await cases.conversion(uow, manager, cases.Query(first=NOV.first, last=NOV.last,
                                                                        group_by=("doctor",))), "doctor")  # fmt: skip
        assert by_doctor[clinic.d1]["booked"] >= 1
        assert by_doctor[clinic.d1]["doctor_name"]


async def test_batches_of_one_clinic_never_wait_for_one_another(uow: AnalyticsWorkFactory) -> None:
    """Two partitions' batches of the same clinic (a lead, its booking) store at once: neither waits for the
    other's commit (before, the second queued on the clinic's fact lock). The refresher sees only what is
    committed; once both are in and it ran, the facts and rollups are exact."""
    from analytics.services.projection import patches, refresh_facts, store

    clinic = Clinic(new_id())
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)
    created = [(e, m) for e, m in clinic.tagged() if isinstance(e, le.LeadCreatedV1) and e.lead_id == clinic.l1]
    booked = [(e, m) for e, m in clinic.tagged()
              if isinstance(e, se.AppointmentBookedV1) and e.person.lead_id == clinic.l1]  # fmt: skip
    assert created
    assert booked
    async with uow() as a, uow() as b:
        await store(a, [p for e, m in created for p in patches(e, m)])  # not committed yet
        await asyncio.wait_for(store(b, [p for e, m in booked for p in patches(e, m)]), 5)
        await asyncio.wait_for(b.commit(), 5)
        assert await refresh_facts(uow) == 1  # the booking's batch, alone: no lead yet, so no lead fact
        assert (await cases.conversion(uow, manager, NOV)).totals["leads"] == 0
        await a.commit()
    assert await refresh_facts(uow) == 1
    assert await refresh_facts(uow) == 0  # drained
    await _consistent(uow, clinic.tenant)
    report = await cases.conversion(uow, manager, NOV)
    assert (report.totals["leads"], report.totals["booked"]) == (1, 1)


@pytest.fixture
async def objects(infra: Infra) -> AsyncIterator[ObjectStore]:
    store = ObjectStore(
        endpoint_url=infra.objects_url,
        bucket=f"analytics-{new_id()[:8]}",
        access_key_id=infra.objects_access_key_id,
        secret_access_key=infra.objects_secret_access_key,
        create_bucket=True,
    )
    await store.open()
    yield store
    await store.close()


async def _answer(uow: AnalyticsWorkFactory, objects: ObjectStore, event: Event, tenant: str) -> None:
    """What the worker's privacy consumer does with one request (kit.privacy.answers), in one transaction."""
    handler = privacy_answers.handlers(lambda: objects)[type(event)]
    async with uow() as work:
        await handler(cast(UnitOfWork, work), event, meta(tenant, event))
        await work.commit()


async def test_subject_requests_export_and_erase_while_every_total_stays(
    uow: AnalyticsWorkFactory, objects: ObjectStore
) -> None:
    """An export holds the person's rows of the read models; an erasure anonymises the name and the phones (a
    payment that named the person only by phone still counts for their lead), and every report's totals and
    figures stay the same; another clinic with the same phones is untouched."""
    from sqlalchemy import text

    from contracts import privacy as pv
    from contracts.topics import ANALYTICS
    from kit.privacy import ERASED_NAME, ERASED_TEXT, part_key

    clinic, other = Clinic(new_id()), Clinic(new_id())  # the same phones in both clinics
    by_phone = new_id()
    clinic.events.append(
        pe.PaymentConfirmedV1(
            payment_id=by_phone,
            person=Person(phone="+5511900000003"),
            amount="120.00",
            currency="BRL",
            method="pix",
            provider="sandbox",
            provider_payment_id="y",
            paid_at=at(16, 16),
        )
    )
    manager = staff(clinic.tenant, ANALYTICS_READ, ANALYTICS_ALL)
    await deliver(uow, clinic.tagged(), seed=7)
    await deliver(uow, other.tagged(), seed=8)
    before = await figures(uow, manager)
    now = datetime.now(UTC)
    # L1 by its patient id (the payment naming only the patient, the deal and its plan), L3 by its phone
    one = pv.Subject(patient_ids=[clinic.patient])
    three = pv.Subject(phones=["+5511900000003"])
    request = new_id()
    export = pv.ExportRequestedV1(request_id=request, subject=one, requested_at=now, due_at=now)
    await _answer(uow, objects, export, clinic.tenant)
    raw, _ = await objects.get(part_key(clinic.tenant, request, "analytics"))
    data = json.loads(raw)["data"]
    assert [r["name"] for r in data["leads"]] == ["Lead One"]
    assert {r["lead_id"] for r in data["lead_facts"]} == {clinic.l1}
    assert len(data["payments"]) == len(data["payment_facts"]) >= 1
    assert [r["title"] for r in data["plans"]] == ["Plan"]
    assert data["deals"]
    async with uow() as work:
        published = await work.session.execute(
            text("SELECT event_type FROM outbox WHERE topic = :topic"), {"topic": ANALYTICS.name}
        )
        assert published.scalars().all() == [pv.AnalyticsPartReadyV1.TYPE]

    for subject in (one, three):
        erase = pv.ErasureRequestedV1(request_id=new_id(), subject=subject, requested_at=now, due_at=now)
        await _answer(uow, objects, erase, clinic.tenant)
    after = await figures(uow, manager)
    for name in before:
        assert after[name][1] == before[name][1], name  # every report's totals
        if name != "visits":  # the Visits report shows the patient's name, now erased
            assert sorted(after[name][0], key=str) == sorted(before[name][0], key=str), name
    assert [r["patient"] for r in after["visits"][0]] == [ERASED_NAME]
    await _consistent(uow, clinic.tenant)  # the facts are still what the projections give
    revenue = by(await cases.revenue(uow, manager, NOV), "channel", "source")
    assert revenue[("site_form", "instagram_ads")]["revenue"] == Decimal("120.00")  # L3's payment by its phone
    async with uow() as work:
        s = work.session
        rows = (await s.execute(text("SELECT lead_id, name, phone FROM leads WHERE tenant_id = :t"),
                                {"t": clinic.tenant})).mappings().all()  # fmt: skip
        erased = {r["lead_id"]: r for r in rows if r["lead_id"] in (clinic.l1, clinic.l3)}
        assert {r["name"] for r in erased.values()} == {ERASED_NAME}
        assert all(r["phone"].startswith("erased:") for r in erased.values())
        assert {r["name"] for r in rows if r["lead_id"] in (clinic.l2, clinic.l4)} == {"Lead Two", "Lead Four"}
        for table, column in (("leads", "phone"), ("appointments", "phone"), ("payments", "phone"),
                              ("deals", "phone"), ("calls", "caller")):  # fmt: skip
            left = await s.execute(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t AND {column} = ANY(:p)"),
                {"t": clinic.tenant, "p": ["+5511900000001", "+5511900000003"]},
            )
            assert left.scalar() == 0, table
        plans = await s.execute(text("SELECT title FROM plans WHERE tenant_id = :t"), {"t": clinic.tenant})
        assert plans.scalars().all() == [ERASED_TEXT]
        kept = await s.execute(
            text("SELECT count(*) FROM leads WHERE tenant_id = :t AND phone = ANY(:p) AND name LIKE 'Lead %'"),
            {"t": other.tenant, "p": ["+5511900000001", "+5511900000003"]},
        )
        assert kept.scalar() == 2  # the other clinic's people are not this clinic's request
        published = await s.execute(
            text("SELECT event_type FROM outbox WHERE topic = :topic ORDER BY event_type"), {"topic": ANALYTICS.name}
        )
        assert published.scalars().all() == [pv.AnalyticsPartErasedV1.TYPE] * 2 + [pv.AnalyticsPartReadyV1.TYPE]
    # exported again, the person is the anonymised rows
    again = pv.ExportRequestedV1(request_id=new_id(), subject=pv.Subject(lead_ids=[clinic.l1]), requested_at=now,
                                 due_at=now)  # fmt: skip
    await _answer(uow, objects, again, clinic.tenant)
    raw, _ = await objects.get(part_key(clinic.tenant, again.request_id, "analytics"))
    assert [r["name"] for r in json.loads(raw)["data"]["leads"]] == [ERASED_NAME]
