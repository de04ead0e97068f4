"""The use cases of leads against the in-memory unit of work (tests/unit/memory.py): what each stores, audits
and publishes, and that a refused change stores and publishes nothing. The same use cases run on PostgreSQL
in tests/e2e/leads (through the gateway) and services/leads/tests/integration."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts import EventMeta
from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from contracts.identity import StaffCreatedV1
from contracts.leads import (
    ActivityScheduledV1,
    LeadAssignedV1,
    LeadCreatedV1,
    LeadDeletedV1,
    LeadStatusChangedV1,
    LeadUpdatedV1,
    RequestCreatedV1,
)
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1, AppointmentNoShowV1, ReturnBookedV1
from kit.auth import Principal
from kit.context import new_id
from leads.domain.activities import ActivityQuery
from leads.domain.errors import DuplicateLead, InvalidLead, InvalidTransition, LeadNotFound, NotFound
from leads.domain.queries import TOTAL_CAP, LeadQuery
from leads.services import activities as activity_cases
from leads.services import leads as cases
from leads.services import lists as list_cases
from leads.services import requests as request_cases
from leads.services import staff as staff_cases
from leads.services import sync
from services.leads.tests.unit.memory import MemoryLeadsWork

pytestmark = pytest.mark.unit


def principal(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id or new_id(),
        email="front@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )


def new(name: str = "Maria Souza", phone: str = "11 98765-4321", **extra: object) -> cases.NewLead:
    return cases.NewLead(name=name, phones=[phone], source="instagram", **extra)  # type: ignore[arg-type]


@pytest.fixture
def db() -> MemoryLeadsWork:
    return MemoryLeadsWork()


async def test_a_lead_is_stored_with_its_history_audit_and_event(db: MemoryLeadsWork) -> None:
    me = principal()
    created = await cases.create_lead(db.factory(), me, new(treatment="evaluation"))
    lead = created.lead
    assert not created.existing
    assert lead.phone == "+5511987654321"
    assert lead.locale == "pt-BR"  # the clinic's, from the token
    assert await cases.get_lead(db.factory(), me, lead.id) == lead
    history = await cases.status_history(db.factory(), me, lead.id)
    assert [(h.from_status, h.to_status) for h in history] == [(None, "PENDING_CONTACT")]
    assert [e.action for e in db.trail(lead.id)] == ["created", "created"]  # the lead, then its request
    assert [type(e) for e in db.events()] == [LeadCreatedV1, RequestCreatedV1]
    assert created.request is not None
    assert created.request.treatment == "evaluation"


async def test_a_refused_intake_stores_and_publishes_nothing(db: MemoryLeadsWork) -> None:
    me = principal()
    with pytest.raises(InvalidLead) as refused:
        await cases.create_lead(db.factory(), me, new(treatment="no_such_treatment"))
    assert refused.value.field == "treatment"
    assert db.state.leads == {}
    assert db.state.audit == []
    assert db.events() == []


async def test_the_same_person_again_is_refused_added_as_a_request_or_created(db: MemoryLeadsWork) -> None:
    me = principal()
    first = (await cases.create_lead(db.factory(), me, new())).lead
    with pytest.raises(DuplicateLead) as dup:
        await cases.create_lead(db.factory(), me, new(phone="+55 11 98765-4321"))
    assert [c["id"] for c in dup.value.candidates] == [first.id]
    again = await cases.create_lead(db.factory(), me, new(reason="asks again"), on_duplicate="add_request")
    assert again.existing
    assert again.lead.id == first.id
    assert again.request is not None
    assert again.request.reason == "asks again"
    other = await cases.create_lead(db.factory(), me, new(name="Mariana Souza"), on_duplicate="create")
    assert other.lead.id != first.id
    assert len(db.state.leads) == 2
    with pytest.raises(InvalidLead) as bad:
        await cases.create_lead(db.factory(), me, new(), on_duplicate="merge")
    assert bad.value.field == "on_duplicate"


async def test_a_window_of_zero_turns_matching_on_intake_off(db: MemoryLeadsWork) -> None:
    me = principal()
    assert await list_cases.dedupe_window(db.factory(), me) == 30
    await list_cases.set_dedupe_window(db.factory(), me, 0)
    await cases.create_lead(db.factory(), me, new())
    await cases.create_lead(db.factory(), me, new())
    assert len(db.state.leads) == 2
    for days in (-1, 366):
        with pytest.raises(InvalidLead) as bad:
            await list_cases.set_dedupe_window(db.factory(), me, days)
        assert bad.value.field == "dedupe_window_days"


async def test_an_edit_stores_audits_and_publishes_only_what_changed(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    before = len(db.events())
    edited = await cases.edit_lead(db.factory(), me, lead.id, {"city": " Campinas ", "name": "Maria Souza"})
    assert edited.city == "Campinas"
    updated = db.events(LeadUpdatedV1)
    assert [e.fields for e in updated] == [["city"]]
    assert db.trail(lead.id)[-1].changes == {"city": [None, "Campinas"]}
    assert await cases.edit_lead(db.factory(), me, lead.id, {"city": "Campinas"}) == edited  # no change
    assert len(db.events()) == before + 1


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"status": "NOT_INTERESTED"}, "status", "/status"),
        ({"owner_id": None}, "owner_id", "/assign"),
        ({"created_by": "x"}, "created_by", "cannot be edited"),
        ({"phones": []}, "phones", "at least one"),
    ],
)
async def test_edits_that_are_not_edits_are_refused(
    db: MemoryLeadsWork, changes: dict[str, object], field: str, says: str
) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    with pytest.raises(InvalidLead) as refused:
        await cases.edit_lead(db.factory(), me, lead.id, changes)
    assert refused.value.field == field
    assert says in str(refused.value)
    assert db.state.leads[lead.id] == lead


async def test_status_changes_follow_the_rules_and_a_refusal_stores_nothing(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    after, change = await cases.change_status(db.factory(), me, lead.id, "CONTACTED_CALL_LATER", "busy")
    assert after.status == change.to_status == "CONTACTED_CALL_LATER"
    assert db.events(LeadStatusChangedV1)[-1].comment == "busy"
    with pytest.raises(InvalidTransition):
        await cases.change_status(db.factory(), me, lead.id, "VISIT_COMPLETED", None)  # no appointment yet
    assert db.state.leads[lead.id].status == "CONTACTED_CALL_LATER"
    assert len(await cases.status_history(db.factory(), me, lead.id)) == 2


async def test_owners_must_be_staff_of_the_clinic(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    colleague = new_id()
    with pytest.raises(InvalidLead) as unknown:
        await cases.assign(db.factory(), me, lead.id, colleague)
    assert unknown.value.field == "owner_id"
    async with db.factory()() as work:
        event = StaffCreatedV1(
            user_id=colleague,
            email="ana@clinic.test",
            full_name="Ana Lima",
            roles=["sales_agent"],
            active=True,
            changed_at=datetime.now(UTC),
        )
        await staff_cases.record(work, event, _meta(me.tenant_id))
        await work.commit()
    assigned = await cases.assign(db.factory(), me, lead.id, colleague)
    assert assigned.owner_id == colleague
    assert db.events(LeadAssignedV1)[-1].previous_owner_id is None
    assert [m.full_name for m in await staff_cases.directory(db.factory(), me)] == ["Ana Lima"]


async def test_a_deleted_lead_is_gone_but_its_trail_stays(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    with pytest.raises(InvalidLead) as unconfirmed:
        await cases.delete_lead(db.factory(), me, lead.id, confirm=False)
    assert unconfirmed.value.field == "confirm"
    await cases.delete_lead(db.factory(), me, lead.id, confirm=True)
    assert db.events(LeadDeletedV1)[0].lead_id == lead.id
    with pytest.raises(LeadNotFound):
        await cases.get_lead(db.factory(), me, lead.id)
    trail = await cases.audit_trail(db.factory(), me, lead.id, limit=10, offset=0)
    assert trail[-1].action == "deleted"
    assert trail[-1].changes["before"]["name"] == "Maria Souza"


async def test_another_clinic_sees_nothing(db: MemoryLeadsWork) -> None:
    lead = (await cases.create_lead(db.factory(), principal(), new())).lead
    other = principal()
    with pytest.raises(LeadNotFound):
        await cases.get_lead(db.factory(), other, lead.id)
    with pytest.raises(LeadNotFound):
        await cases.edit_lead(db.factory(), other, lead.id, {"city": "Santos"})
    found = await cases.list_leads(db.factory(), other, LeadQuery())
    assert found.items == []
    assert found.total == 0


async def test_free_text_finds_a_phone_a_cpf_or_a_name(db: MemoryLeadsWork) -> None:
    me = principal()
    maria = (await cases.create_lead(db.factory(), me, new(cpf="111.444.777-35"))).lead
    await cases.create_lead(db.factory(), me, new(name="João Pereira", phone="21 99876-5432"))
    for text in ("(11) 98765-4321", "111.444.777-35", "11144477735", "maria", "SOUZA maria"):
        found = await cases.list_leads(db.factory(), me, LeadQuery(), text)
        assert [x.id for x in found.items] == [maria.id], text
    with pytest.raises(InvalidLead) as short:
        await cases.list_leads(db.factory(), me, LeadQuery(), "a")
    assert short.value.field == "q"


async def test_a_list_total_is_capped(db: MemoryLeadsWork) -> None:
    me = principal()
    await list_cases.set_dedupe_window(db.factory(), me, 0)
    for n in range(3):
        await cases.create_lead(db.factory(), me, new(name=f"Lead {n}"))
    found = await cases.list_leads(db.factory(), me, LeadQuery(limit=2))
    assert (len(found.items), found.total, found.capped) == (2, 3, False)
    assert TOTAL_CAP == 1_000  # the domain's rule (leads.domain.queries.capped) is unit-tested with it


def test_the_follow_up_filter_is_in_the_clinics_days() -> None:
    me = principal()
    today = cases.clinic_query(me, LeadQuery(), created_from=None, created_to=None, follow_up="today")
    assert today.follow_up_from == today.follow_up_to
    overdue = cases.clinic_query(me, LeadQuery(), created_from=None, created_to=None, follow_up="overdue")
    assert overdue.follow_up_from is None
    assert overdue.follow_up_to == today.follow_up_from - timedelta(days=1)
    with pytest.raises(InvalidLead) as bad:
        cases.clinic_query(me, LeadQuery(), created_from=None, created_to=None, follow_up="tomorrow")
    assert bad.value.field == "follow_up"


async def test_metrics_count_the_period(db: MemoryLeadsWork) -> None:
    me = principal()
    await list_cases.set_dedupe_window(db.factory(), me, 0)
    await cases.create_lead(db.factory(), me, new(urgency="high"))
    await cases.create_lead(db.factory(), me, new(name="Other"))
    shown = await cases.metrics(db.factory(), me, None, None)
    assert (shown.total, shown.high_urgency, shown.by_source) == (2, 1, {"instagram": 2})
    assert (shown.period_to - shown.period_from).days == 29
    with pytest.raises(InvalidLead):
        await cases.metrics(db.factory(), me, date(2026, 2, 1), date(2026, 1, 1))
    with pytest.raises(InvalidLead):
        await cases.metrics(db.factory(), me, date(2000, 1, 1), date(2026, 1, 1))


async def test_a_request_edit_stores_the_diff_and_checks_the_clinics_lists(db: MemoryLeadsWork) -> None:
    me = principal()
    created = await cases.create_lead(db.factory(), me, new(treatment="evaluation"))
    assert created.request is not None
    lead_id, request_id = created.lead.id, created.request.id
    edited = await request_cases.update(db.factory(), me, lead_id, request_id, {"handled": True, "status": "answered"})
    assert edited.handled
    assert edited.status == "answered"
    assert db.trail(lead_id)[-1].changes == {"handled": [False, True], "status": ["new", "answered"]}
    with pytest.raises(InvalidLead) as bad:
        await request_cases.update(db.factory(), me, lead_id, request_id, {"status": "nonsense"})
    assert bad.value.field == "status"
    with pytest.raises(InvalidLead) as fixed:
        await request_cases.update(db.factory(), me, lead_id, request_id, {"intake": "web_form"})
    assert fixed.value.field == "intake"
    with pytest.raises(NotFound):
        await request_cases.update(db.factory(), me, new_id(), request_id, {"handled": False})


async def test_correcting_a_request_what_they_asked_the_treatment_and_the_channel(db: MemoryLeadsWork) -> None:
    me = principal()
    created = await cases.create_lead(db.factory(), me, new(treatment="evaluation", reason="preço?"))
    assert created.request is not None
    lead_id, request_id = created.lead.id, created.request.id
    published = len(db.events())
    changes = {"reason": "  Quer saber o preço do implante  ", "treatment": "first_consultation", "channel": "video"}
    edited = await request_cases.update(db.factory(), me, lead_id, request_id, changes)
    assert edited.reason == "Quer saber o preço do implante"
    assert (edited.treatment, edited.channel) == ("first_consultation", "video")
    assert db.trail(lead_id)[-1].entity == "request"
    assert db.trail(lead_id)[-1].changes == {
        "reason": ["preço?", "Quer saber o preço do implante"],
        "treatment": ["evaluation", "first_consultation"],
        "channel": [None, "video"],
    }
    assert len(db.events()) == published  # a correction is the CRM's own: no event
    cleared = await request_cases.update(db.factory(), me, lead_id, request_id, {"reason": "  ", "channel": None})
    assert (cleared.reason, cleared.channel) == (None, None)
    with pytest.raises(InvalidLead) as bad:
        await request_cases.update(db.factory(), me, lead_id, request_id, {"channel": "pigeon"})
    assert bad.value.field == "channel"
    with pytest.raises(LeadNotFound):  # another clinic's request does not exist
        await request_cases.update(db.factory(), principal(), lead_id, request_id, {"handled": True})
    other = await cases.create_lead(db.factory(), me, new(name="Rita Lopes", phone="11 91234-5678"))
    with pytest.raises(NotFound):  # a request of another lead
        await request_cases.update(db.factory(), me, other.lead.id, request_id, {"handled": True})
    await cases.delete_lead(db.factory(), me, lead_id, confirm=True)
    with pytest.raises(LeadNotFound):  # a deleted lead's requests are gone with it
        await request_cases.update(db.factory(), me, lead_id, request_id, {"handled": True})


async def test_activities_are_read_with_their_prospects_names(db: MemoryLeadsWork) -> None:
    me = principal()
    maria = (await cases.create_lead(db.factory(), me, new())).lead
    rita = (await cases.create_lead(db.factory(), me, new(name="Rita Lopes", phone="11 91234-5678"))).lead
    soon = datetime.now(UTC) + timedelta(hours=1)
    for lead, hours in ((maria, 1), (rita, 2)):
        planned = activity_cases.NewActivity(type="call", scheduled_at=soon + timedelta(hours=hours))
        made = await activity_cases.schedule(db.factory(), me, lead.id, planned)
        assert made.lead_name == lead.name
    found, total = await activity_cases.find(db.factory(), me, ActivityQuery())
    assert (total, [a.lead_name for a in found]) == (2, ["Maria Souza", "Rita Lopes"])
    bell = await activity_cases.bell(db.factory(), me)
    assert [a.lead_name for a in bell.next] == ["Maria Souza", "Rita Lopes"]
    await cases.edit_lead(db.factory(), me, rita.id, {"name": "Rita Lopes Prado"})
    found, _ = await activity_cases.find(db.factory(), me, ActivityQuery(lead_id=rita.id))
    assert [a.lead_name for a in found] == ["Rita Lopes Prado"]  # the lead's name now, not when planned


def _meta(tenant_id: str) -> EventMeta:
    return EventMeta(
        id=new_id(),
        source="clinicflow/test",
        type="t",
        time=datetime.now(UTC),
        subject="s",
        tenant_id=tenant_id,
        correlation_id=new_id(),
    )


# --- following scheduling's agenda (leads.services.sync), as the consumer runs it ---------------------------
def _person(lead_id: str | None, phone: str = "+5511987654321") -> Person:
    return Person(lead_id=lead_id, name="Maria Souza", phone=phone)


def _booked(lead_id: str | None, appointment_id: str, **extra: Any) -> AppointmentBookedV1:
    at = datetime.now(UTC) + timedelta(days=3)
    values: dict[str, Any] = {
        "appointment_id": appointment_id,
        "person": _person(lead_id),
        "branch_id": new_id(),
        "branch_name": "Paulista",
        "professional_id": new_id(),
        "professional_name": "Dra. Lia",
        "procedure_id": new_id(),
        "procedure_name": "Evaluation",
        "starts_at": at,
        "ends_at": at + timedelta(minutes=30),
        "timezone": "America/Sao_Paulo",
        "source": "staff",
        "booked_by": new_id(),
        "booked_at": datetime.now(UTC),
    }
    return AppointmentBookedV1(**{**values, **extra})


async def _consume(db: MemoryLeadsWork, handler: Any, event: Any, tenant_id: str) -> None:
    async with db.factory()() as work:  # kit's consumer opens and commits the unit of work
        await handler(work, event, _meta(tenant_id))
        await work.commit()


async def test_a_no_show_asks_for_a_follow_up_and_a_call_back_for_the_owner(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    appointment = new_id()
    await _consume(db, sync.booked, _booked(lead.id, appointment), me.tenant_id)
    assert db.state.leads[lead.id].next_appointment_id == appointment
    marked = AppointmentNoShowV1(
        appointment_id=appointment,
        person=_person(lead.id),
        starts_at=datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
        marked_by=me.user_id,
        marked_at=datetime.now(UTC),
    )
    await _consume(db, sync.no_show, marked, me.tenant_id)
    after = db.state.leads[lead.id]
    assert after.status == "REQUIRES_FOLLOW_UP"
    assert after.next_appointment_id is None
    history = await cases.status_history(db.factory(), me, lead.id)
    assert history[-1].comment == "did not come to the appointment (no-show)"
    (call_back,) = db.state.activities.values()
    assert (call_back.lead_id, call_back.type, call_back.state) == (lead.id, "call", "scheduled")
    assert call_back.responsible_id == me.user_id  # no owner: the receptionist who marked it
    assert call_back.title == "Call Maria Souza to rebook (missed appointment)"
    assert call_back.notes == "Did not come to Evaluation on 2026-12-04 12:00 UTC."
    assert [type(e) for e in db.events()][-2:] == [LeadStatusChangedV1, ActivityScheduledV1]
    assert [e.action for e in db.trail(lead.id)][-2:] == ["appointment_no_show", "created"]
    await _consume(db, sync.no_show, marked, me.tenant_id)  # marked again (a new event): still one call-back
    assert len(db.state.activities) == 1


async def test_a_return_visit_shows_on_the_card_with_what_it_returns_to(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    visit, back = new_id(), new_id()
    await _consume(db, sync.booked, _booked(lead.id, visit), me.tenant_id)
    await cases.change_status(db.factory(), me, lead.id, "VISIT_COMPLETED", None)
    booking = _booked(lead.id, back, source="return", return_of=visit, procedure_name="Return")
    await _consume(db, sync.booked, booking, me.tenant_id)
    returned = ReturnBookedV1(
        appointment_id=back,
        person=_person(lead.id),
        previous_appointment_id=visit,
        branch_id=booking.branch_id,
        professional_id=booking.professional_id,
        procedure_id=booking.procedure_id,
        starts_at=booking.starts_at,
        timezone="America/Sao_Paulo",
        booked_by=me.user_id,
        booked_at=booking.booked_at,
    )
    await _consume(db, sync.return_booked, returned, me.tenant_id)
    after = db.state.leads[lead.id]
    assert after.status == "APPOINTMENT_SCHEDULED"
    assert (after.next_appointment_id, after.next_appointment_procedure) == (back, "Return")
    history = await cases.status_history(db.factory(), me, lead.id)
    assert (history[-1].from_status, history[-1].comment) == ("VISIT_COMPLETED", "return visit booked via scheduling")
    entry = db.trail(lead.id)[-1]
    assert entry.action == "return_booked"
    assert entry.changes == {"return_of": visit, "return_appointment_id": back}
    assert len(db.events(LeadStatusChangedV1)) == 3  # booked, completed, the return: none for return.booked


async def test_a_handler_that_fails_leaves_the_batch_as_it_was(db: MemoryLeadsWork) -> None:
    me = principal()
    lead = (await cases.create_lead(db.factory(), me, new())).lead
    events = len(db.events())

    async def batch_that_fails() -> None:
        async with db.factory()() as work:
            await sync.booked(work, _booked(lead.id, new_id()), _meta(me.tenant_id))
            raise RuntimeError("the next record of the batch failed")

    with pytest.raises(RuntimeError):
        await batch_that_fails()
    assert db.state.leads[lead.id] == lead
    assert len(db.events()) == events
