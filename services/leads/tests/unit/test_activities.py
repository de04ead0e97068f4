"""Activity rules in plain Python: values, the state machine, who sees a private activity, audit, the day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.claims import CRM_READ, CRM_RESPONSIBLE, CRM_WRITE
from leads.domain.activities import (
    CANCELLED,
    DEFAULT_TITLES,
    DONE,
    SCHEDULED,
    SEES_PRIVATE,
    TYPES,
    Activity,
    ActivityQuery,
    audit_closed,
    audit_created,
    audit_diff,
    can_see,
    cancel,
    check_query,
    complete,
    day_window,
    edit,
    new_activity,
    responsible_filter,
    viewer_of,
)
from leads.domain.errors import Conflict, InvalidLead, InvalidTransition

NOW = datetime(2026, 11, 28, 10, 15, tzinfo=UTC)
TENANT = "0193a0c4-0000-7000-8000-0000000000aa"
LEAD = "0193a0c4-0000-7000-8000-0000000000bb"
ALICE = "0193a0c4-0000-7000-8000-000000000001"  # sales agent, responsible
BOB = "0193a0c4-0000-7000-8000-000000000002"  # another sales agent
CAROL = "0193a0c4-0000-7000-8000-000000000003"  # the creator
AGENT = frozenset({CRM_READ, CRM_WRITE})
MANAGER = frozenset({CRM_READ, CRM_WRITE, CRM_RESPONSIBLE})


def make(**overrides: Any) -> Activity:
    values: dict[str, Any] = {
        "activity_id": "0193a0c4-0000-7000-8000-0000000000cc",
        "tenant_id": TENANT,
        "lead_id": LEAD,
        "activity_type": "call",
        "title": None,
        "notes": None,
        "scheduled_at": NOW + timedelta(hours=2),
        "responsible_id": None,
        "private": False,
        "created_by": ALICE,
        "now": NOW,
    }
    values.update(overrides)
    return new_activity(**values)


# --- creation -------------------------------------------------------------------------------------
def test_a_new_activity_is_scheduled_for_its_creator_titled_by_its_type() -> None:
    activity = make(activity_type="meeting")
    assert activity.state == SCHEDULED
    assert activity.title == "Meeting"
    assert activity.responsible_id == ALICE
    assert activity.result is None
    assert activity.completed_at is None
    assert activity.created_at == activity.updated_at == NOW


@pytest.mark.parametrize("kind", TYPES)
def test_every_type_has_a_default_title(kind: str) -> None:
    assert make(activity_type=kind).title == DEFAULT_TITLES[kind]


@pytest.mark.parametrize("kind", ["visit", "Call", "", "sms"])
def test_unknown_types_are_refused_naming_the_field(kind: str) -> None:
    with pytest.raises(InvalidLead) as raised:
        make(activity_type=kind)
    assert raised.value.field == "type"


def test_scheduled_at_is_stored_in_utc() -> None:
    local = datetime(2026, 12, 1, 14, 30, tzinfo=timezone(timedelta(hours=-3)))
    activity = make(scheduled_at=local)
    assert activity.scheduled_at == datetime(2026, 12, 1, 17, 30, tzinfo=UTC)
    assert activity.scheduled_at.utcoffset() == timedelta(0)


def test_a_naive_scheduled_at_is_refused() -> None:
    with pytest.raises(InvalidLead) as raised:
        make(scheduled_at=datetime(2026, 12, 1, 14, 30))
    assert raised.value.field == "scheduled_at"
    assert "offset" in str(raised.value)


@pytest.mark.parametrize("days", [-800, -732, 732, 1000])
def test_more_than_two_years_away_is_refused(days: int) -> None:
    with pytest.raises(InvalidLead) as raised:
        make(scheduled_at=NOW + timedelta(days=days))
    assert raised.value.field == "scheduled_at"


@pytest.mark.parametrize("delta", [timedelta(hours=-3), timedelta(days=-700), timedelta(0), timedelta(days=729)])
def test_past_and_future_within_two_years_are_fine(delta: timedelta) -> None:
    """A call made an hour ago can be logged; the overdue flag then says so."""
    activity = make(scheduled_at=NOW + delta)
    assert activity.is_overdue(NOW) == (delta < timedelta(0))


@pytest.mark.parametrize(("title", "message"), [("", "empty"), ("   \n", "empty"), ("x" * 201, "200")])
def test_bad_titles_are_refused(title: str, message: str) -> None:
    with pytest.raises(InvalidLead) as raised:
        make(title=title)
    assert raised.value.field == "title"
    assert message in str(raised.value)


def test_titles_are_trimmed_and_may_hold_200_characters() -> None:
    assert make(title="  Call   back  ").title == "Call back"
    assert make(title="y" * 200).title == "y" * 200


def test_notes_are_bounded_and_blank_notes_are_none() -> None:
    assert make(notes="  ").notes is None
    with pytest.raises(InvalidLead) as raised:
        make(notes="n" * 10_001)
    assert raised.value.field == "notes"


@pytest.mark.parametrize("bad", ["nobody", "123", "0193a0c4-0000-7000-8000"])
def test_the_responsible_person_must_be_an_id(bad: str) -> None:
    with pytest.raises(InvalidLead) as raised:
        make(responsible_id=bad)
    assert raised.value.field == "responsible_id"


def test_the_responsible_id_is_canonical() -> None:
    assert make(responsible_id=BOB.upper()).responsible_id == BOB


# --- the state machine ----------------------------------------------------------------------------
def test_complete_records_the_result_who_and_when() -> None:
    later = NOW + timedelta(hours=3)
    done = complete(make(), "  Booked an evaluation ", actor=BOB, now=later)
    assert (done.state, done.result, done.completed_by, done.completed_at) == (DONE, "Booked an evaluation", BOB, later)
    assert done.updated_at == later


def test_cancel_records_the_reason() -> None:
    cancelled = cancel(make(), "Patient asked to wait", actor=ALICE, now=NOW)
    assert (cancelled.state, cancelled.result, cancelled.completed_by) == (CANCELLED, "Patient asked to wait", ALICE)


@pytest.mark.parametrize(
    ("first", "second", "words"),
    [
        (complete, complete, "already done"),
        (complete, cancel, "already done"),
        (cancel, cancel, "already cancelled"),
        (cancel, complete, "already cancelled"),
    ],
)
def test_done_and_cancelled_are_final(first: Any, second: Any, words: str) -> None:
    closed = first(make(), None, actor=ALICE, now=NOW)
    with pytest.raises(InvalidTransition) as raised:
        second(closed, None, actor=ALICE, now=NOW)
    assert isinstance(raised.value, Conflict)
    assert words in str(raised.value)
    assert raised.value.field == "state"


@pytest.mark.parametrize("close", [complete, cancel])
def test_a_closed_activity_cannot_be_edited(close: Any) -> None:
    closed = close(make(), None, actor=ALICE, now=NOW)
    with pytest.raises(Conflict):
        edit(closed, {"title": "Another"}, now=NOW)


_ACTIONS = st.sampled_from(["complete", "cancel", "edit"])


@given(st.lists(_ACTIONS, min_size=1, max_size=6))
def test_once_closed_nothing_changes_the_state(actions: list[str]) -> None:
    activity = make()
    closed_as: str | None = None
    for action in actions:
        try:
            if action == "complete":
                activity = complete(activity, "ok", actor=ALICE, now=NOW)
            elif action == "cancel":
                activity = cancel(activity, "no", actor=ALICE, now=NOW)
            else:
                activity, _ = edit(activity, {"notes": "more"}, now=NOW)
        except Conflict:
            assert closed_as is not None, "a scheduled activity refused a change"
            continue
        assert closed_as is None, f"a {closed_as} activity accepted {action}"
        if activity.state != SCHEDULED:
            closed_as = activity.state
    assert activity.state == (closed_as or SCHEDULED)


def test_edit_reschedules_and_reports_the_diff() -> None:
    activity = make()
    new_time = datetime(2026, 12, 3, 9, 0, tzinfo=timezone(timedelta(hours=-3)))
    after, diff = edit(activity, {"scheduled_at": new_time, "title": "Call again", "private": False}, now=NOW)
    assert after.scheduled_at == new_time.astimezone(UTC)
    assert after.title == "Call again"
    assert set(diff) == {"scheduled_at", "title"}  # private did not change
    assert after.updated_at == NOW


def test_edit_without_changes_returns_the_same_activity() -> None:
    activity = make(notes="x")
    assert edit(activity, {"notes": "x"}, now=NOW + timedelta(hours=1)) == (activity, {})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"state": "done"}, "state"),
        ({"type": "meeting"}, "type"),
        ({"scheduled_at": datetime(2026, 12, 1, 9, 0)}, "scheduled_at"),
        ({"scheduled_at": NOW + timedelta(days=900)}, "scheduled_at"),
        ({"title": ""}, "title"),
        ({"responsible_id": "someone"}, "responsible_id"),
    ],
)
def test_bad_edits_name_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidLead) as raised:
        edit(make(), changes, now=NOW)
    assert raised.value.field == field


# --- who sees a private activity ------------------------------------------------------------------
def test_the_domain_names_the_same_permission_as_kit() -> None:
    assert SEES_PRIVATE == CRM_RESPONSIBLE


def test_public_activities_are_seen_by_everyone() -> None:
    assert can_see(make(), BOB, frozenset({CRM_READ}))


def test_private_activities_are_seen_by_the_responsible_and_managers_only() -> None:
    activity = make(private=True, responsible_id=ALICE, created_by=CAROL)
    assert can_see(activity, ALICE, AGENT)
    assert not can_see(activity, CAROL, AGENT)  # scheduling it for Alice does not let Carol read it
    assert can_see(activity, BOB, MANAGER)
    assert not can_see(activity, BOB, AGENT)
    assert not can_see(activity, BOB, frozenset())


_USERS = st.sampled_from([ALICE, BOB, CAROL])
_PERMS = st.frozensets(st.sampled_from([CRM_READ, CRM_WRITE, CRM_RESPONSIBLE, "crm:admin"]))


@given(_USERS, _USERS, _USERS, _PERMS, st.booleans())
def test_can_see_agrees_with_the_list_filter(
    responsible: str, creator: str, viewer: str, permissions: frozenset[str], private: bool
) -> None:
    """The repository shows private activities where responsible == viewer_of(); both say the same."""
    activity = make(private=private, responsible_id=responsible, created_by=creator)
    scope = viewer_of(viewer, permissions)
    listed = scope is None or not activity.private or scope == activity.responsible_id
    assert can_see(activity, viewer, permissions) == listed
    assert can_see(activity, viewer, permissions) == (
        not private or CRM_RESPONSIBLE in permissions or viewer == responsible
    )


# --- audit ----------------------------------------------------------------------------------------
def test_the_audit_of_a_public_activity_shows_its_title_and_notes() -> None:
    changes = audit_created(make(title="Call about implants", notes="prefers mornings"))
    assert changes["title"] == [None, "Call about implants"]
    assert changes["notes"] == [None, "prefers mornings"]
    assert changes["scheduled_at"] == [None, (NOW + timedelta(hours=2)).isoformat()]


def test_the_audit_of_a_private_activity_hides_title_notes_result_and_reason() -> None:
    activity = make(title="Secret", notes="very private", private=True)
    created = audit_created(activity)
    assert "title" not in created
    assert "notes" not in created
    assert created["private"] == [None, True]
    after, diff = edit(activity, {"title": "Still secret", "notes": "more", "scheduled_at": NOW}, now=NOW)
    changed = audit_diff(activity, after, diff)
    assert changed["hidden"] == ["notes", "title"]
    assert "Still secret" not in str(changed)
    assert "more" not in str(changed)
    assert "scheduled_at" in changed
    done = complete(after, "confidential outcome", actor=ALICE, now=NOW)
    assert audit_closed(after, done, text_field="result") == {"state": [SCHEDULED, DONE], "hidden": ["result"]}
    gone = cancel(after, "why not", actor=ALICE, now=NOW)
    assert "why not" not in str(audit_closed(after, gone, text_field="reason"))


def test_making_an_activity_private_hides_the_fields_changed_with_it() -> None:
    activity = make(title="Public")
    after, diff = edit(activity, {"private": True, "title": "Now secret"}, now=NOW)
    changed = audit_diff(activity, after, diff)
    assert changed == {"private": [False, True], "hidden": ["title"]}


def test_the_audit_of_a_public_completion_shows_the_result() -> None:
    activity = make()
    done = complete(activity, "booked", actor=ALICE, now=NOW)
    assert audit_closed(activity, done, text_field="result") == {"state": [SCHEDULED, DONE], "result": "booked"}


# --- queries --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "field"),
    [
        (ActivityQuery(states=("open",)), "state"),
        (ActivityQuery(types=("fax",)), "type"),
        (ActivityQuery(sort="title"), "sort"),
        (ActivityQuery(scheduled_from=datetime(2026, 1, 1)), "scheduled_from"),
        (ActivityQuery(scheduled_to=datetime(2026, 1, 1)), "scheduled_to"),
        (ActivityQuery(scheduled_from=NOW, scheduled_to=NOW - timedelta(days=1)), "scheduled_from"),
        (ActivityQuery(responsible_ids=("me",)), "responsible_id"),
        (ActivityQuery(lead_id="lead-1"), "lead_id"),
    ],
)
def test_bad_filters_name_the_field(query: ActivityQuery, field: str) -> None:
    with pytest.raises(InvalidLead) as raised:
        check_query(query)
    assert raised.value.field == field


def test_good_filters_are_normalised() -> None:
    local = datetime(2026, 12, 1, 0, 0, tzinfo=timezone(timedelta(hours=-3)))
    query = check_query(ActivityQuery(states=(DONE,), lead_id=LEAD.upper(), scheduled_from=local))
    assert query.lead_id == LEAD
    assert query.scheduled_from == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def test_mine_is_the_callers_id_and_excludes_responsible_id() -> None:
    assert responsible_filter(True, (), ALICE) == (ALICE,)
    assert responsible_filter(False, (BOB,), ALICE) == (BOB,)
    with pytest.raises(InvalidLead) as raised:
        responsible_filter(True, (BOB,), ALICE)
    assert raised.value.field == "mine"


def test_managers_see_every_private_activity_in_lists() -> None:
    assert viewer_of(BOB, MANAGER) is None
    assert viewer_of(BOB, AGENT) == BOB


# --- the clinic's day -----------------------------------------------------------------------------
def test_today_is_the_clinics_day_not_utcs() -> None:
    """02:00 UTC on the 28th is still the 27th in São Paulo (UTC-3)."""
    start, end = day_window(datetime(2026, 11, 28, 2, 0, tzinfo=UTC), "America/Sao_Paulo")
    assert start == datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_a_dst_day_is_23_hours_long() -> None:
    start, end = day_window(datetime(2026, 3, 8, 15, 0, tzinfo=UTC), "America/New_York")
    assert end - start == timedelta(hours=23)


def test_an_unknown_zone_falls_back_to_utc() -> None:
    assert day_window(NOW, "Mars/Olympus") == (datetime(2026, 11, 28, tzinfo=UTC), datetime(2026, 11, 29, tzinfo=UTC))


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_now_is_always_inside_today(now: datetime) -> None:
    for zone in ("America/Sao_Paulo", "Europe/Moscow", "Pacific/Chatham", "UTC"):
        start, end = day_window(now, zone)
        assert start <= now < end
        assert timedelta(hours=22) <= end - start <= timedelta(hours=26)


def test_overdue_needs_the_scheduled_state() -> None:
    past = make(scheduled_at=NOW - timedelta(hours=1))
    assert past.is_overdue(NOW)
    assert not complete(past, None, actor=ALICE, now=NOW).is_overdue(NOW)
    assert not replace(past, state=CANCELLED).is_overdue(NOW)
