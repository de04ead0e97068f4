"""The projections, no IO: every consumed event type becomes patches, and the same events in any order and
any number of times give the same rows (property-based)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain import PROJECTIONS, Group, Projection, derive, merge
from analytics.services.projection import CONSUMED, patches
from contracts import Event, EventMeta
from contracts import funnel as fe
from contracts import leads as le
from contracts import notifications as ne
from contracts import payments as pe
from contracts import scheduling as se
from contracts import telephony as te
from contracts.people import Person

EXAMPLES = Path(__file__).resolve().parents[4] / "contracts" / "examples"
T0 = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
TENANT = "0193a0aa-0000-7000-8000-000000000001"
AGENTS = ["0193a0aa-0000-7000-8000-0000000000a1", "0193a0aa-0000-7000-8000-0000000000a2"]


def _meta(event: Event, n: int) -> EventMeta:
    return EventMeta(
        id=f"00000000-0000-7000-8000-{n:012d}",
        source="test",
        type=event.TYPE,
        time=T0,
        subject=event.aggregate_id(),
        tenant_id=TENANT,
        correlation_id="c",
    )


Store = dict[tuple[str, tuple[Any, ...]], dict[str, Any]]


def apply_all(events: list[tuple[Event, EventMeta]]) -> Store:
    """What the repository does, with a dict for the table: merge each patch into its row."""
    store: Store = {}
    for event, meta in events:
        for patch in patches(event, meta):
            projection = PROJECTIONS[patch.table]
            key = (patch.table, tuple(patch.key[k] for k in projection.key))
            store[key] = derive(projection, merge(projection, store.get(key), patch.values))
    return store


# --- every consumed type, from its golden example --------------------------------------------------
@pytest.mark.parametrize("struct", CONSUMED, ids=lambda s: s.TYPE)
def test_every_consumed_event_says_something(struct: type[Event]) -> None:
    example = json.loads((EXAMPLES / f"{struct.TYPE}.json").read_text())
    event = msgspec.convert(example, struct)
    found = patches(event, _meta(event, 1))
    if struct is ne.MessageReceivedV1 and event.lead_id is None:  # type: ignore[attr-defined]
        assert found == []
        return
    if struct is ne.MessageSentV1 and event.suggestion_id is None:  # type: ignore[attr-defined]
        assert found == []
        return
    assert found, struct.TYPE
    for patch in found:
        projection = PROJECTIONS[patch.table]
        assert set(patch.key) == set(projection.key)
        assert set(patch.values) <= set(projection.columns), set(patch.values) - set(projection.columns)
        # a patch sets whole groups: the ordering column is there whenever another column of the group is
        for group in projection.groups:
            if set(group.columns) & set(patch.values):
                assert group.columns[0] in patch.values, (patch.table, group.columns)


# --- the merge rules are commutative, associative and idempotent --------------------------------------
_TEST = Projection("t", ("k",), (Group("first", ("at", "v")), Group("last", ("at2", "w")), Group("max", ("m",))))
_value = st.one_of(st.none(), st.integers(0, 3))
_patch = st.fixed_dictionaries(
    {},
    optional={
        "at": st.integers(0, 5),
        "v": _value,
        "at2": st.integers(0, 5),
        "w": _value,
        "m": st.integers(0, 9),
    },
).map(lambda p: _whole_groups(p))


def _whole_groups(p: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group in _TEST.groups:
        if group.columns[0] in p:
            out.update({c: p.get(c) for c in group.columns})
    return out


@given(st.lists(_patch, max_size=8), st.randoms())
def test_merge_ignores_order_and_repeats(values: list[dict[str, Any]], rnd: Any) -> None:
    def fold(items: list[dict[str, Any]]) -> dict[str, Any]:
        row: dict[str, Any] | None = None
        for item in items:
            row = merge(_TEST, row, item)
        return row or merge(_TEST, None, {})

    shuffled = values + [v for v in values if rnd.random() < 0.5]
    rnd.shuffle(shuffled)
    assert fold(shuffled) == fold(values)


# --- a clinic's events in any order, with duplicates -----------------------------------------------------
def _id(kind: int, n: int) -> str:
    return f"0193a0bb-{kind:04d}-7000-8000-{n:012d}"


@st.composite
def clinic_events(draw: st.DrawFn) -> list[Event]:
    events: list[Event] = []
    for n in range(draw(st.integers(1, 5))):
        lead_id, phone = _id(1, n), f"+55119000000{n:02d}"
        created = T0 + timedelta(minutes=draw(st.integers(0, 600)))
        intake = draw(st.sampled_from(["call", "web_form", "tilda", "message", "online_booking", "manual"]))
        source = draw(st.sampled_from(["google", "instagram_ads", "whatsapp", "recommendation"]))
        events.append(
            le.LeadCreatedV1(
                lead_id=lead_id,
                name=f"Lead {n}",
                phone=phone,
                source=source,
                created_at=created,
                channel=intake,
                attribution={"utm_source": source},
            )
        )
        agent = draw(st.sampled_from(AGENTS))
        if draw(st.booleans()):  # the reply assistant, and up to two staff replies that used its suggestions
            suggestion = _id(20, n)
            asked = created + timedelta(minutes=draw(st.integers(1, 30)))
            events.append(
                ne.ReplySuggestedV1(
                    suggestion_id=suggestion,
                    conversation_id=_id(21, n),
                    lead_id=lead_id,
                    staff_id=draw(st.sampled_from(AGENTS)),
                    channel="whatsapp",
                    model="m",
                    count=3,
                    prompt_tokens=100 + n,
                    completion_tokens=30,
                    cost=draw(st.sampled_from([None, "0.0012"])),
                    suggested_at=asked,
                )
            )
            for k in range(draw(st.integers(0, 2))):
                events.append(
                    ne.MessageSentV1(
                        message_id=_id(22 + k, n),
                        lead_id=lead_id,
                        channel="whatsapp",
                        to=phone,
                        template="staff_reply",
                        locale="pt-BR",
                        provider="whatsapp_cloud",
                        provider_message_id=f"wamid.{n}.{k}",
                        sent_at=asked + timedelta(minutes=k + 1),
                        suggestion_id=suggestion,
                        suggestion_use=draw(st.sampled_from(["as_is", "edited"])),
                        suggestion_model="m",
                        suggestion_tokens=130 + n,
                    )
                )
        if draw(st.booleans()):
            events.append(
                le.LeadAssignedV1(
                    lead_id=lead_id, owner_id=agent, assigned_by=agent, assigned_at=created + timedelta(minutes=1)
                )
            )
        if draw(st.booleans()):
            events.append(
                le.LeadStatusChangedV1(
                    lead_id=lead_id,
                    from_status="PENDING_CONTACT",
                    to_status="CONTACTED",
                    changed_by=agent,
                    changed_at=created + timedelta(minutes=draw(st.integers(1, 90))),
                )
            )
        if draw(st.booleans()):
            events.append(
                ne.MessageReceivedV1(
                    conversation_id=_id(9, n),
                    message_id=_id(8, n),
                    lead_id=lead_id,
                    channel=draw(st.sampled_from(["whatsapp", "telegram"])),
                    sender=phone,
                    provider="sandbox",
                    provider_message_id=_id(7, n),
                    received_at=created,
                )
            )
        if draw(st.booleans()):
            events.append(
                te.CallStartedV1(
                    call_id=_id(6, n),
                    provider="zadarma",
                    provider_call_id=str(n),
                    direction="inbound",
                    caller=phone,
                    tracking_number="+551130000000",
                    source="google",
                    lead_id=lead_id,
                    started_at=created,
                )
            )
        patient = _id(2, n) if draw(st.booleans()) else None
        if patient:
            events.append(
                le.LeadConvertedV1(
                    lead_id=lead_id,
                    patient_id=patient,
                    name="x",
                    phone=phone,
                    converted_by=agent,
                    converted_at=created + timedelta(hours=1),
                )
            )
        for k in range(draw(st.integers(0, 2))):
            appt = _id(3, n * 10 + k)
            person = Person(lead_id=lead_id if k == 0 else None, patient_id=patient, phone=phone)
            booked = created + timedelta(hours=1 + k)
            starts = booked + timedelta(days=2)
            events.append(
                se.AppointmentBookedV1(
                    appointment_id=appt,
                    person=person,
                    branch_id=_id(4, k),
                    branch_name=f"Branch {k}",
                    professional_id=_id(5, k),
                    professional_name=f"Dr {k}",
                    procedure_id=_id(5, 100 + k),
                    procedure_name="Consulta",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=1),
                    timezone="America/Sao_Paulo",
                    source="staff",
                    booked_by=agent,
                    booked_at=booked,
                )
            )
            if draw(st.booleans()):
                events.append(
                    se.ReminderDueV1(
                        appointment_id=appt,
                        person=person,
                        reminder_id=_id(10, n * 10 + k),
                        offset_minutes=1440,
                        starts_at=starts,
                        timezone="America/Sao_Paulo",
                        branch_name="b",
                        professional_name="p",
                        procedure_name="c",
                        due_at=starts - timedelta(days=1),
                    )
                )
            outcome = draw(st.sampled_from(["none", "confirmed", "arrived", "no_show", "cancelled"]))
            if outcome in ("confirmed", "arrived"):
                events.append(
                    se.AppointmentConfirmedV1(
                        appointment_id=appt,
                        person=person,
                        starts_at=starts,
                        via="link",
                        confirmed_at=starts - timedelta(hours=20),
                    )
                )
            if outcome == "arrived":
                events.append(
                    se.PatientArrivedV1(
                        appointment_id=appt,
                        person=person,
                        branch_id=_id(4, k),
                        professional_id=_id(5, k),
                        procedure_id=_id(5, 100 + k),
                        arrived_at=starts,
                        checked_in_by=agent,
                    )
                )
                events.append(
                    se.VisitCompletedV1(
                        appointment_id=appt,
                        person=person,
                        professional_id=_id(5, k),
                        procedure_id=_id(5, 100 + k),
                        completed_at=starts + timedelta(hours=1),
                    )
                )
            if outcome == "no_show":
                events.append(
                    se.AppointmentNoShowV1(
                        appointment_id=appt,
                        person=person,
                        starts_at=starts,
                        marked_by=agent,
                        marked_at=starts + timedelta(minutes=30),
                    )
                )
            if outcome == "cancelled":
                events.append(
                    se.AppointmentCancelledV1(
                        appointment_id=appt, person=person, starts_at=starts, cancelled_by=agent, cancelled_at=booked
                    )
                )
            if draw(st.booleans()):
                events.append(
                    se.AppointmentRescheduledV1(
                        appointment_id=appt,
                        person=person,
                        previous_starts_at=starts,
                        starts_at=starts + timedelta(days=1),
                        ends_at=starts + timedelta(days=1, hours=1),
                        timezone="America/Sao_Paulo",
                        branch_id=_id(4, 1),
                        professional_id=_id(5, 1),
                        rescheduled_by=agent,
                        rescheduled_at=booked + timedelta(minutes=5),
                    )
                )
        if draw(st.booleans()):
            pay = _id(11, n)
            person = Person(lead_id=None if patient else lead_id, patient_id=patient, phone=phone)
            events.append(
                pe.PaymentLinkCreatedV1(
                    payment_id=pay,
                    person=person,
                    amount="300.00",
                    amount_before_discount="350.00",
                    currency="BRL",
                    description="d",
                    methods=["pix"],
                    provider="sandbox",
                    url="https://x",
                    expires_at=created + timedelta(days=1),
                    created_by=agent,
                    created_at=created + timedelta(hours=2),
                )
            )
            events.append(
                pe.PaymentConfirmedV1(
                    payment_id=pay,
                    person=person,
                    amount="300.00",
                    currency="BRL",
                    method="pix",
                    provider="sandbox",
                    provider_payment_id=str(n),
                    paid_at=created + timedelta(hours=3),
                )
            )
            if draw(st.booleans()):
                for total in ("50.00", "120.00"):
                    events.append(
                        pe.PaymentRefundedV1(
                            payment_id=pay,
                            person=person,
                            amount="50.00",
                            total_refunded=total,
                            currency="BRL",
                            partial=True,
                            refunded_by=agent,
                            refunded_at=created + timedelta(hours=4),
                        )
                    )
        if draw(st.booleans()):
            deal = _id(12, n)
            events.append(
                fe.DealCreatedV1(
                    deal_id=deal,
                    pipeline_id="p",
                    pipeline_kind="arrived",
                    stage_id="s",
                    stage_key="arrived",
                    person=Person(lead_id=lead_id, patient_id=patient),
                    created_at=created,
                )
            )
            for c, curator in enumerate(AGENTS[: draw(st.integers(1, 2))]):
                events.append(
                    fe.CuratorAssignedV1(
                        deal_id=deal, curator_id=curator, assigned_by=agent, assigned_at=created + timedelta(minutes=c)
                    )
                )
            events.append(
                fe.TreatmentPlanCreatedV1(
                    plan_id=_id(13, n),
                    deal_id=deal,
                    title="Plan",
                    total="900.00",
                    currency="BRL",
                    items=2,
                    total_before_discount="1000.00",
                    created_by=agent,
                    created_at=created,
                )
            )
            events.append(
                fe.TaskCreatedV1(
                    task_id=_id(14, n),
                    deal_id=deal,
                    kind="call",
                    title="Call",
                    responsible_id=agent,
                    due_at=created + timedelta(days=1),
                    created_at=created,
                )
            )
    return events


@settings(max_examples=60, deadline=None)
@given(clinic_events(), st.randoms())
def test_the_same_events_in_any_order_and_repeated_give_the_same_rows(events: list[Event], rnd: Any) -> None:
    tagged = [(e, _meta(e, n)) for n, e in enumerate(events)]
    expected = apply_all(tagged)
    replay = tagged + [t for t in tagged if rnd.random() < 0.3]
    rnd.shuffle(replay)
    assert apply_all(replay) == expected


def test_a_lead_follows_its_request_through_the_steps() -> None:
    lead, patient, agent = _id(1, 1), _id(2, 1), AGENTS[0]
    person = Person(lead_id=lead, patient_id=patient, phone="+5511900000001")
    events: list[Event] = [
        le.LeadCreatedV1(
            lead_id=lead, name="Ana", phone="+5511900000001", source="whatsapp", created_at=T0, channel="message"
        ),
        ne.MessageReceivedV1(
            conversation_id="c",
            message_id="m",
            lead_id=lead,
            channel="telegram",
            sender="1",
            provider="telegram",
            provider_message_id="1",
            received_at=T0,
        ),
        le.ActivityCompletedV1(
            lead_id=lead, activity_id="a1", type="task", completed_by=agent, completed_at=T0 + timedelta(minutes=3)
        ),
        le.ActivityCompletedV1(
            lead_id=lead, activity_id="a2", type="call", completed_by=agent, completed_at=T0 + timedelta(minutes=7)
        ),
        pe.PaymentConfirmedV1(
            payment_id="p1",
            person=person,
            amount="200.00",
            currency="BRL",
            method="pix",
            provider="sandbox",
            provider_payment_id="x",
            paid_at=T0 + timedelta(days=1),
        ),
    ]
    store = apply_all([(e, _meta(e, n)) for n, e in enumerate(events)])
    row = store[("leads", (TENANT, lead))]
    # a message lead's channel is the messenger it wrote on; a to-do is not a contact, the call is
    assert row["channel"] == "telegram"
    assert row["first_contact_at"] == T0 + timedelta(minutes=7)
    assert row["first_contact_by"] == agent
    assert store[("payments", (TENANT, "p1"))]["paid_amount"] == Decimal("200.00")


def test_a_suggestion_is_used_by_the_first_reply_that_names_it() -> None:
    suggestion, agent = _id(20, 1), AGENTS[1]
    asked = ne.ReplySuggestedV1(
        suggestion_id=suggestion, conversation_id=_id(21, 1), lead_id=_id(1, 1), staff_id=agent, channel="whatsapp",
        model="gpt-4o-mini", count=3, prompt_tokens=300, completion_tokens=40, cost="0.0009", suggested_at=T0,
    )  # fmt: skip

    def sent(n: int, use: str, minutes: int) -> ne.MessageSentV1:
        return ne.MessageSentV1(
            message_id=_id(22, n), lead_id=_id(1, 1), channel="whatsapp", to="+5511900000001",
            template="staff_reply", locale="pt-BR", provider="whatsapp_cloud", provider_message_id=f"w{n}",
            sent_at=T0 + timedelta(minutes=minutes), suggestion_id=suggestion, suggestion_use=use,
            suggestion_model="gpt-4o-mini", suggestion_tokens=340,
        )  # fmt: skip

    plain = ne.MessageSentV1(
        message_id=_id(22, 9), lead_id=_id(1, 1), channel="whatsapp", to="+5511900000001", template="lead_welcome",
        locale="pt-BR", provider="whatsapp_cloud", provider_message_id="w9", sent_at=T0,
    )  # fmt: skip
    events = [sent(2, "as_is", 9), plain, sent(1, "edited", 2), asked]
    store = apply_all([(e, _meta(e, n)) for n, e in enumerate(events)])

    (row,) = [r for (table, _), r in store.items() if table == "suggestions"]
    assert row["staff_id"] == agent
    assert (row["offered"], row["prompt_tokens"], row["completion_tokens"]) == (3, 300, 40)
    assert row["cost"] == Decimal("0.0009")
    assert (row["use"], row["message_id"], row["used_at"]) == ("edited", _id(22, 1), T0 + timedelta(minutes=2))
