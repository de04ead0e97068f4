"""The call record's fold, the missed-call rule, announcements and tracking numbers; no IO."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telephony.domain import (
    ANSWERED,
    COMPLETED,
    ENDED,
    IN_PROGRESS,
    INBOUND,
    OUTBOUND,
    RECORDED,
    RINGING,
    STARTED,
    CallEvent,
    InvalidTelephony,
    TrackingNumber,
    clean_source,
    due_announcements,
    fold,
    phone_variants,
    source_of,
)

T0 = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


def ev(stage: str, seq: int, at: timedelta, **kw: object) -> CallEvent:
    base: dict[str, object] = {
        "provider": "twilio",
        "provider_call_id": "CA1",
        "event_id": f"CA1:{seq}:{stage}",
        "seq": seq,
        "stage": stage,
        "at": T0 + at,
        "direction": INBOUND,
        "caller": "+5511987654321",
        "tracking_number": "+551130000001",
    }
    base.update(kw)
    return CallEvent(**base)  # type: ignore[arg-type]


ANSWERED_CALL = [
    ev(STARTED, 1, timedelta()),
    ev(ANSWERED, 2, timedelta(seconds=10)),
    ev(ENDED, 3, timedelta(seconds=190), disposition="answered", talk_seconds=180, duration_seconds=190),
    ev(RECORDED, 4, timedelta(seconds=200), recording_ref="RE1", caller=None, tracking_number=None),
]


def test_an_answered_call_folds_into_the_canonical_record() -> None:
    record = fold(ANSWERED_CALL)
    assert record.state == COMPLETED
    assert record.disposition == "answered"
    assert record.answered_at == T0 + timedelta(seconds=10)
    assert record.talk_seconds == 180
    assert record.recording_ref == "RE1"
    assert not record.missed
    assert due_announcements(record, []) == ["started", "answered", "ended"]
    assert due_announcements(record, ["started"]) == ["answered", "ended"]


def test_a_ringing_then_hung_up_call_is_missed_and_has_no_talk_time() -> None:
    record = fold([ev(STARTED, 1, timedelta()), ev(ENDED, 2, timedelta(seconds=25))])
    assert record.disposition == "missed"
    assert record.talk_seconds == 0
    assert record.duration_seconds == 25
    assert record.missed
    assert due_announcements(record, ["started"]) == ["ended", "missed"]


@pytest.mark.parametrize("disposition", ["busy", "failed", "missed"])
def test_every_unanswered_inbound_ending_is_missed(disposition: str) -> None:
    assert fold([ev(STARTED, 1, timedelta()), ev(ENDED, 2, timedelta(seconds=5), disposition=disposition)]).missed


def test_an_unanswered_outbound_call_is_not_a_missed_call() -> None:
    events = [ev(STARTED, 1, timedelta(), direction=OUTBOUND), ev(ENDED, 2, timedelta(seconds=5), disposition="busy")]
    assert not fold(events).missed


def test_states_follow_the_stages() -> None:
    assert fold(ANSWERED_CALL[:1]).state == RINGING
    assert fold(ANSWERED_CALL[:2]).state == IN_PROGRESS
    assert due_announcements(fold(ANSWERED_CALL[:1]), []) == ["started"]


def test_no_events_is_refused() -> None:
    with pytest.raises(InvalidTelephony):
        fold([])


@given(st.permutations(ANSWERED_CALL), st.lists(st.sampled_from(ANSWERED_CALL), max_size=6))
def test_order_and_duplicates_do_not_change_the_record(order: list[CallEvent], again: list[CallEvent]) -> None:
    assert fold([*order, *again]) == fold(ANSWERED_CALL)


@given(st.permutations([ev(STARTED, 1, timedelta()), ev(ENDED, 2, timedelta(seconds=30))]))
def test_a_missed_call_is_missed_in_any_order(order: list[CallEvent]) -> None:
    assert fold(order).missed


@given(st.lists(st.sampled_from(ANSWERED_CALL), min_size=1, max_size=8))
def test_announcements_never_repeat_and_start_first(seen: list[CallEvent]) -> None:
    """Whatever prefix arrived, announcing what is due then folding everything announces each event once."""
    first = due_announcements(fold(seen), [])
    assert first[0] == "started"
    rest = due_announcements(fold(ANSWERED_CALL), first)
    assert not set(first) & set(rest)
    assert sorted([*first, *rest]) == sorted(["started", "answered", "ended"])


def test_tracking_numbers_name_the_source() -> None:
    numbers = [TrackingNumber("1", "t", "+551130000001", "google_ads", "Google", T0)]
    assert source_of("+551130000001", numbers) == "google_ads"
    assert source_of("+551130000009", numbers) is None
    assert clean_source(" Flyer_2026 ") == "flyer_2026"
    with pytest.raises(InvalidTelephony) as caught:
        clean_source("no spaces!")
    assert caught.value.field == "source"


def test_brazilian_mobiles_match_with_and_without_the_ninth_digit() -> None:
    assert phone_variants("+5511987654321") == ["+5511987654321", "+551187654321"]
    assert phone_variants("+551187654321") == ["+551187654321", "+5511987654321"]
    assert phone_variants("+14155550100") == ["+14155550100"]
