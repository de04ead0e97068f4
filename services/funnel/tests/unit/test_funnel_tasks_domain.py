"""The call-back rule of missed calls and the confirmation-call window: pure functions, any event order."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.domain import (
    CONFIRM_CALL_WINDOW,
    InvalidFunnel,
    call_back,
    call_back_due,
    clean_confirm_hours,
    clean_period,
    commission_percent,
    confirm_call_due,
    earned,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
M = timedelta(minutes=1)

# A call of the phone: (call id, minute, answered?) - a missed call, or an answered one.
calls = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 120), st.booleans()), min_size=1, max_size=12, unique_by=lambda c: c[0]
)


def _play(events: list[tuple[int, int, bool]]) -> tuple[bool, set[str]]:
    """What funnel.services._call_back does with the database, in memory: (task open?, calls it covers)."""
    missed: dict[str, datetime] = {}
    answered: list[datetime] = []
    covered: set[str] = set()
    open_ref: datetime | None = None
    for call_id, minute, was_answered in events:
        at = T0 + minute * M
        if was_answered:
            answered.append(at)
        else:
            missed[f"c{call_id}"] = at
        decided = call_back([(c, t, c in covered) for c, t in missed.items()], answered, open_ref)
        if decided.close:
            open_ref = None
        if decided.cover and decided.ref_at is not None:
            covered |= set(decided.cover)
            open_ref = decided.ref_at
    return open_ref is not None, covered


@settings(max_examples=300, deadline=None)
@given(calls, st.randoms())
def test_the_task_is_open_exactly_when_a_missed_call_came_after_the_last_answered_one(
    events: list[tuple[int, int, bool]], rng: object
) -> None:
    shuffled = list(events)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    last_missed = max((m for _, m, a in events if not a), default=None)
    last_answered = max((m for _, m, a in events if a), default=None)
    expected = last_missed is not None and (last_answered is None or last_answered <= last_missed)
    assert _play(events)[0] == expected
    assert _play(shuffled)[0] == expected
    # A redelivery (the same call told again) changes nothing.
    assert _play(shuffled + shuffled)[0] == expected


def test_a_later_answered_call_closes_the_task_an_earlier_one_does_not() -> None:
    first = call_back([("a", T0, False)], [], None)
    assert (first.close, first.cover, first.ref_at) == (False, ("a",), T0)
    assert call_back([("a", T0, True)], [T0 - M], T0).close is False  # answered before the missed call
    assert call_back([("a", T0, True)], [T0 + M], T0).close is True
    again = call_back([("a", T0, True), ("b", T0 + 2 * M, False)], [], T0)
    assert (again.close, again.cover, again.ref_at) == (False, ("b",), T0 + 2 * M)  # the open task covers it
    assert call_back_due(T0, [T0]) is True  # the same instant is not "later"


def test_the_confirmation_call_window() -> None:
    assert confirm_call_due(T0 + 10 * CONFIRM_CALL_WINDOW, T0) == T0 + CONFIRM_CALL_WINDOW
    assert confirm_call_due(T0 + M, T0) == T0 + M  # never after the appointment itself
    assert clean_confirm_hours(1) == 1
    assert clean_confirm_hours(168) == 168
    for bad in (0, -3, 169):
        with pytest.raises(InvalidFunnel) as caught:
            clean_confirm_hours(bad)
        assert caught.value.field == "confirm_call_hours"


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=0, max_value=100_000, places=2),
    st.decimals(min_value=0, max_value=100, places=2),
    st.decimals(min_value=0, max_value=1, places=2),
)
def test_a_commission_stays_within_the_payment_and_a_full_refund_takes_it_all_back(
    amount: Decimal, percent: Decimal, share: Decimal
) -> None:
    got = earned(amount, percent)
    assert Decimal(0) <= got <= amount
    assert earned(-amount, percent) == -got
    refund = (amount * share).quantize(Decimal("0.01"))
    # After a partial refund the curator keeps the commission on what stays paid (to a cent of rounding).
    assert abs(earned(amount, percent) + earned(-refund, percent) - earned(amount - refund, percent)) <= Decimal("0.01")


def test_the_service_percentage_wins_over_the_general_one_and_periods_are_checked() -> None:
    per_service = {"implant": Decimal("20")}
    assert commission_percent(Decimal("10"), per_service, "implant") == Decimal("20")
    assert commission_percent(Decimal("10"), per_service, "cleaning") == Decimal("10")
    assert commission_percent(Decimal("10"), per_service, None) == Decimal("10")
    assert earned(Decimal("999.99"), Decimal("12.5")) == Decimal("125.00")
    day = date(2026, 12, 1)
    assert clean_period(day, day) == (day, day)
    with pytest.raises(InvalidFunnel) as caught:
        clean_period(day, day - timedelta(days=1))
    assert caught.value.field == "to"
    with pytest.raises(InvalidFunnel):
        clean_period(day, day + timedelta(days=400))
