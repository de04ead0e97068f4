"""How scheduling's and notifications' events move a lead (leads.domain.sync), in plain Python."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from leads.domain import leads as rules
from leads.domain import sync
from leads.domain.leads import Lead
from leads.domain.lists import DEFAULTS

NOW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
AT = NOW + timedelta(days=3)
STAFF = "7f1d2c4e-0000-4000-8000-000000000001"
APPT = sync.Appointment("appt-1", AT, "Evaluation", "Paulista")


def lead(status: str = rules.PENDING_CONTACT, **changes: object) -> Lead:
    base = rules.new_lead(
        lead_id="lead-1",
        tenant_id="t-1",
        name="Maria Souza",
        phones=["+5511987654321"],
        email=None,
        source="whatsapp",
        known_sources={slug: label for slug, label, _ in DEFAULTS["source"]},
        locale="pt-BR",
        created_by=STAFF,
        now=NOW - timedelta(days=1),
        status=status,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_booked_schedules_and_shows_the_appointment() -> None:
    after, change = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    assert after.status == rules.APPOINTMENT_SCHEDULED
    assert (after.next_appointment_id, after.next_appointment_at) == ("appt-1", AT)
    assert (after.next_appointment_procedure, after.next_appointment_branch) == ("Evaluation", "Paulista")
    assert change is not None
    assert (change.from_status, change.to_status) == (rules.PENDING_CONTACT, rules.APPOINTMENT_SCHEDULED)
    assert change.comment == sync.BOOKED_COMMENT
    assert change.changed_by == STAFF


def test_booked_again_moves_no_status_but_shows_the_new_appointment() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    other = sync.Appointment("appt-2", AT + timedelta(days=1), "Return", "Centro")
    after, change = sync.booked(scheduled, other, actor=STAFF, now=NOW)
    assert change is None
    assert after.next_appointment_id == "appt-2"
    assert after.next_appointment_branch == "Centro"


def test_a_return_booked_after_the_visit_is_allowed_by_the_rules() -> None:
    after, change = sync.booked(lead(rules.VISIT_COMPLETED), APPT, actor=STAFF, now=NOW)
    assert after.status == rules.APPOINTMENT_SCHEDULED
    assert change is not None


def test_cancelled_follows_and_clears_the_appointment() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    after, change = sync.cancelled(scheduled, "appt-1", actor=sync.SYSTEM_ACTOR, now=NOW)
    assert after.status == rules.APPOINTMENT_CANCELED
    assert change is not None
    assert change.comment == sync.CANCELLED_COMMENT
    assert after.next_appointment_id is None
    assert after.next_appointment_at is None


def test_cancelling_a_lead_that_never_had_an_appointment_moves_nothing() -> None:
    # The domain refuses APPOINTMENT_CANCELED without a scheduled appointment: the event is skipped.
    before = lead(rules.CONTACTED_NO_RESPONSE)
    after, change = sync.cancelled(before, "appt-1", actor=STAFF, now=NOW)
    assert (after, change) == (before, None)


def test_cancelling_another_appointment_than_the_one_shown_moves_nothing() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    after, change = sync.cancelled(scheduled, "appt-old", actor=STAFF, now=NOW)
    assert (after, change) == (scheduled, None)


def test_rescheduled_updates_the_time_shown_only() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    later = AT + timedelta(hours=2)
    after = sync.rescheduled(scheduled, "appt-1", later, actor=STAFF, now=NOW)
    assert after.next_appointment_at == later
    assert after.status == rules.APPOINTMENT_SCHEDULED
    assert after.next_appointment_procedure == "Evaluation"
    assert sync.rescheduled(scheduled, "appt-other", later, actor=STAFF, now=NOW) == scheduled


def test_visit_completed_follows_the_rules() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    after, change = sync.completed(scheduled, "appt-1", actor=sync.SYSTEM_ACTOR, now=NOW)
    assert after.status == rules.VISIT_COMPLETED
    assert change is not None
    assert change.changed_by == sync.SYSTEM_ACTOR
    assert after.next_appointment_id is None
    # Without a scheduled appointment the domain refuses VISIT_COMPLETED.
    fresh = lead()
    assert sync.completed(fresh, "appt-1", actor=STAFF, now=NOW) == (fresh, None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(STAFF, STAFF), ("online", sync.SYSTEM_ACTOR), ("patient", sync.SYSTEM_ACTOR), (None, sync.SYSTEM_ACTOR)],
)
def test_actor_is_a_staff_id_or_the_system(value: str | None, expected: str) -> None:
    assert sync.actor(value) == expected


@pytest.mark.parametrize(
    ("channel", "expected"),
    [("whatsapp", "whatsapp"), ("telegram", "telegram"), ("instagram", "instagram"), ("sms", "sms"), ("fax", None)],
)
def test_message_channel_is_the_source(channel: str, expected: str | None) -> None:
    found = sync.message_source(channel)
    assert (found[0] if found else None) == expected


@pytest.mark.parametrize(
    ("channel", "sender", "expected"),
    [
        ("whatsapp", "+5511987654321", "+5511987654321"),
        ("whatsapp", "5511987654321", "+5511987654321"),
        ("sms", "+5511987654321", "+5511987654321"),
        ("telegram", "123456789", None),
        ("instagram", "178414000", None),
        ("whatsapp", "not-a-number", None),
    ],
)
def test_only_phone_channels_give_a_phone(channel: str, sender: str, expected: str | None) -> None:
    assert sync.message_phone(channel, sender) == expected


def test_sender_name_falls_back_to_the_phone_and_is_cut() -> None:
    assert sync.sender_name("  Ana   Lima ", "+55") == "Ana Lima"
    assert sync.sender_name(None, "+5511987654321") == "+5511987654321"
    assert len(sync.sender_name("x" * 500, "+55")) == 200


def test_online_booking_is_an_intake_channel() -> None:
    assert sync.ONLINE_BOOKING_CHANNEL in rules.INTAKE_CHANNELS
    assert sync.MESSAGE_CHANNEL in rules.INTAKE_CHANNELS


@pytest.mark.parametrize(
    ("button", "consent", "expected"),
    [
        (None, None, True),  # an ordinary message
        (None, False, False),  # PARAR, STOP, ...: notifications read it as an opt-out
        (None, True, False),  # VOLTAR, START, ...
        ("appt:1:confirm", None, False),
    ],
)
def test_opt_outs_and_button_taps_make_no_lead(button: str | None, consent: bool | None, expected: bool) -> None:
    assert sync.makes_lead(button, consent) is expected


def test_a_return_visit_says_so_in_the_history() -> None:
    done = lead(rules.VISIT_COMPLETED)
    after, change = sync.booked(done, replace(APPT, return_of="visit-0"), actor=STAFF, now=NOW)
    assert after.status == rules.APPOINTMENT_SCHEDULED
    assert change is not None
    assert change.comment == sync.RETURN_COMMENT


def test_return_booked_after_its_booking_changes_nothing_more() -> None:
    scheduled, _ = sync.booked(lead(rules.VISIT_COMPLETED), replace(APPT, return_of="v0"), actor=STAFF, now=NOW)
    again, change = sync.return_booked(
        scheduled, sync.Appointment("appt-1", AT, None, None, "v0"), actor=STAFF, now=NOW
    )
    assert change is None
    assert again == scheduled  # procedure and branch from appointment.booked are kept


def test_return_booked_alone_schedules_the_lead_and_shows_the_return() -> None:
    after, change = sync.return_booked(
        lead(rules.VISIT_COMPLETED), sync.Appointment("appt-9", AT, None, None, "v0"), actor=STAFF, now=NOW
    )
    assert change is not None
    assert (change.to_status, change.comment) == (rules.APPOINTMENT_SCHEDULED, sync.RETURN_COMMENT)
    assert (after.next_appointment_id, after.next_appointment_at) == ("appt-9", AT)


def test_a_no_show_asks_for_a_follow_up_and_clears_the_appointment() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    moved = sync.no_show(scheduled, "appt-1", actor=STAFF, now=NOW)
    assert moved is not None
    after, change = moved
    assert after.status == rules.REQUIRES_FOLLOW_UP
    assert after.next_appointment_id is None
    assert after.next_appointment_procedure is None
    assert change is not None
    assert (change.from_status, change.comment) == (rules.APPOINTMENT_SCHEDULED, sync.NO_SHOW_COMMENT)


def test_a_no_show_of_another_appointment_is_not_this_leads() -> None:
    scheduled, _ = sync.booked(lead(), APPT, actor=STAFF, now=NOW)
    assert sync.no_show(scheduled, "appt-other", actor=STAFF, now=NOW) is None


def test_a_no_show_after_the_visit_moves_by_the_rules_only() -> None:
    done = lead(rules.VISIT_COMPLETED)
    moved = sync.no_show(done, "appt-1", actor=STAFF, now=NOW)
    assert moved is not None
    assert moved[0].status == rules.REQUIRES_FOLLOW_UP  # allowed after a visit (a follow-up)


def test_the_no_show_call_back_names_the_person_and_the_time() -> None:
    title, notes = sync.no_show_call_back("Maria Souza", AT, "Evaluation")
    assert title == "Call Maria Souza to rebook (missed appointment)"
    assert notes == f"Did not come to Evaluation on {AT:%Y-%m-%d %H:%M} UTC."
