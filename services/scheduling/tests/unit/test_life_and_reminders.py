"""The appointment's state machine, refunds, reminder timing (also across DST), button ids, holidays,
anamnesis validation and the signed document's hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduling.domain import anamnesis as forms
from scheduling.domain import appointments as life
from scheduling.domain import reminders as timing
from scheduling.domain.errors import Conflict, Invalid
from scheduling.domain.setup import ClinicPolicy, hours_from, public_holidays

SP = ZoneInfo("America/Sao_Paulo")
MADRID = ZoneInfo("Europe/Madrid")


def test_the_happy_path_of_a_visit() -> None:
    status = life.BOOKED
    for target in (life.CONFIRMED, life.ARRIVED, life.IN_SERVICE, life.DONE):
        status = life.transition(status, target)
    assert status == life.DONE


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (life.DONE, life.CANCELLED),
        (life.CANCELLED, life.CONFIRMED),
        (life.BOOKED, life.DONE),
        (life.IN_SERVICE, life.CANCELLED),
        (life.NO_SHOW, life.ARRIVED),
        (life.BOOKED, life.IN_SERVICE),
    ],
)
def test_impossible_moves_are_conflicts(current: str, target: str) -> None:
    with pytest.raises(Conflict, match=f"{current} cannot become {target}"):
        life.transition(current, target)


@given(st.sampled_from(life.STATUSES), st.sampled_from(life.STATUSES))
def test_terminal_states_stay_terminal(current: str, target: str) -> None:
    if current in (life.DONE, life.CANCELLED, life.NO_SHOW):
        assert not life.can_move(current, target)


def test_only_booked_or_confirmed_can_move() -> None:
    life.check_reschedulable(life.CONFIRMED)
    with pytest.raises(Conflict):
        life.check_reschedulable(life.ARRIVED)


def test_no_show_only_after_the_start() -> None:
    start = datetime(2026, 12, 7, 13, tzinfo=UTC)
    with pytest.raises(Conflict):
        life.check_no_show(start, start - timedelta(minutes=1))
    life.check_no_show(start, start)


def test_refund_within_the_policy_only_for_prepaid() -> None:
    start = datetime(2026, 12, 7, 13, tzinfo=UTC)
    assert life.refund_due(starts_at=start, now=start - timedelta(hours=24), cutoff_hours=24, payment_id="pay-1")
    assert not life.refund_due(starts_at=start, now=start - timedelta(hours=23), cutoff_hours=24, payment_id="pay-1")
    assert not life.refund_due(starts_at=start, now=start - timedelta(days=5), cutoff_hours=24, payment_id=None)


def test_default_reminders_a_day_and_five_hours_before() -> None:
    start = datetime(2026, 12, 7, 10, tzinfo=SP)
    due = timing.schedule(start, ClinicPolicy().reminder_offsets, SP, datetime(2026, 12, 1, tzinfo=UTC))
    assert due == [(1440, datetime(2026, 12, 6, 10, tzinfo=SP)), (300, datetime(2026, 12, 7, 5, tzinfo=SP))]


def test_reminders_already_past_are_not_scheduled() -> None:
    start = datetime(2026, 12, 7, 10, tzinfo=SP)
    due = timing.schedule(start, (1440, 300), SP, datetime(2026, 12, 7, 4, tzinfo=SP))
    assert [o for o, _ in due] == [300]


def test_a_day_before_is_the_same_wall_time_across_dst() -> None:
    # Madrid falls back at 03:00 on 25 Oct 2026: for 10:00 on the 25th, a day before is 10:00 on the 24th,
    # 25 real hours earlier.
    start = datetime(2026, 10, 25, 10, tzinfo=MADRID)
    day_before = timing.due_at(start, 1440, MADRID)
    assert day_before.astimezone(MADRID).replace(tzinfo=None) == datetime(2026, 10, 24, 10)
    assert start - day_before == timedelta(hours=25)
    # while 5 hours before stays 5 real hours, across the change too
    early = datetime(2026, 10, 25, 4, tzinfo=MADRID)
    assert early - timing.due_at(early, 300, MADRID) == timedelta(hours=5)


@given(
    st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(MADRID)),
    st.integers(1, 3000),
)
def test_reminders_are_always_before_the_start(start: datetime, offset: int) -> None:
    assert timing.due_at(start, offset, MADRID) < start


def test_button_ids_round_trip() -> None:
    assert timing.parse_action_id(timing.action_id("abc", "confirm")) == ("abc", "confirm")
    for bad in ("appt::confirm", "appt:abc:pay", "lead:abc:confirm", "", "appt:abc"):
        assert timing.parse_action_id(bad) is None


def test_policy_rules() -> None:
    with pytest.raises(Invalid):
        ClinicPolicy(reminder_offsets=(300, 300))
    with pytest.raises(Invalid):
        ClinicPolicy(slot_step_minutes=7)


def test_brazilian_holidays_come_from_the_library() -> None:
    days = public_holidays("BR", 2026)
    assert date(2026, 4, 21) in days  # Tiradentes
    assert date(2026, 7, 9) in public_holidays("BR", 2026, "SP")  # Constitutionalist Revolution (SP state)
    assert date(2026, 7, 9) not in days


def test_overlapping_hours_are_refused() -> None:
    with pytest.raises(Invalid, match="overlap"):
        hours_from([(0, "09:00", "13:00", "b"), (0, "12:00", "18:00", "b")])


SECTIONS = [
    {
        "title": "Health",
        "questions": [
            {"id": "allergies", "label": "Allergies?", "type": "yes_no", "required": True},
            {"id": "which", "label": "Which?", "type": "text", "required": False},
            {"id": "skin", "label": "Skin type", "type": "single_choice", "required": True, "options": ["dry", "oily"]},
            {"id": "born", "label": "Birth date", "type": "date", "required": False},
        ],
    }
]


def test_answers_are_validated_per_question() -> None:
    forms.check_template(SECTIONS)
    assert forms.validate_answers(SECTIONS, {"allergies": False, "skin": "dry"}) == {"allergies": False, "skin": "dry"}
    for answers, field in [
        ({"skin": "dry"}, "answers.allergies"),
        ({"allergies": "no", "skin": "dry"}, "answers.allergies"),
        ({"allergies": True, "skin": "wet"}, "answers.skin"),
        ({"allergies": True, "skin": "dry", "born": "31/12/1990"}, "answers.born"),
        ({"allergies": True, "skin": "dry", "extra": 1}, "answers.extra"),
    ]:
        with pytest.raises(Invalid) as caught:
            forms.validate_answers(SECTIONS, answers)
        assert caught.value.field == field


def test_a_draft_takes_the_answers_so_far_each_checked_none_required() -> None:
    assert forms.draft_answers(SECTIONS, {"which": " pollen ", "skin": "", "born": None}, 40) == {"which": "pollen"}
    assert forms.draft_answers(SECTIONS, {}, 2) == {}
    for answers, size, field in [
        ({"skin": "wet"}, 20, "answers.skin"),
        ({"extra": 1}, 20, "answers.extra"),
        ({"which": "x"}, forms.MAX_DRAFT_BYTES + 1, "answers"),
    ]:
        with pytest.raises(Invalid) as caught:
            forms.draft_answers(SECTIONS, answers, size)
        assert caught.value.field == field


def test_signature_rules() -> None:
    forms.check_signature("typed", "Maria Souza", True, None)
    forms.check_signature("drawn", None, True, "data:image/png;base64,iVBORw0KGgo=")
    for args, field in [
        (("typed", "Maria", False, None), "signature.consent"),
        (("typed", "M", True, None), "signature.typed_name"),
        (("drawn", None, True, "http://x/y.png"), "signature.image"),
        (("inked", None, True, None), "signature.kind"),
    ]:
        with pytest.raises(Invalid) as caught:
            forms.check_signature(*args)
        assert caught.value.field == field


def test_the_hash_is_of_exactly_the_signed_bytes() -> None:
    text, digest = forms.signed_document(
        questionnaire_id="q",
        questionnaire_name="Anamnese",
        sections=SECTIONS,
        appointment_id="a",
        answers={"allergies": False, "skin": "dry"},
        kind="typed",
        typed_name="Maria Souza",
        image=None,
        signed_at=datetime(2026, 12, 7, tzinfo=UTC),
    )
    assert hashlib.sha256(text.encode()).hexdigest() == digest
    assert '"typed_name":"Maria Souza"' in text


def test_a_changed_questionnaire_keeps_the_drafts_answers_it_still_asks_and_the_policys_one_stays() -> None:
    sections = [{"title": "S", "questions": [{"id": "a", "label": "A", "type": "text"}]}]
    assert forms.kept_answers(sections, {"a": "yes", "gone": "x"}) == {"a": "yes"}
    forms.check_removable("q1", None)
    forms.check_removable("q1", "q2")
    with pytest.raises(Conflict) as caught:
        forms.check_removable("q1", "q1")
    assert caught.value.field == "questionnaire_id"
