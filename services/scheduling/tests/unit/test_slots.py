"""Slot computation: property-based (no slot overlaps an appointment, a break, a holiday or leaves the hours)
and the DST days of a zone that has them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.domain.errors import Invalid
from scheduling.domain.setup import Branch, Busy, ClinicPolicy, Interval, Procedure, Professional, WorkingHours
from scheduling.domain.slots import (
    MAX_RANGE_DAYS,
    break_spans,
    check_bookable,
    closed_reason,
    free_slots,
    free_times,
    instant,
    local_days,
    window,
    working_spans,
)

ZONES = ["America/Sao_Paulo", "Europe/Madrid", "America/New_York", "Europe/Moscow", "UTC"]


def branch(zone: str = "America/Sao_Paulo", open_on_holidays: bool = False) -> Branch:
    return Branch(
        id="b1",
        tenant_id="t",
        name="Moema",
        address="Av. Ibirapuera 1",
        timezone=zone,
        open_on_holidays=open_on_holidays,
    )


def procedure(minutes: int = 30) -> Procedure:
    return Procedure(
        id="p1",
        tenant_id="t",
        name="Botox",
        duration_minutes=minutes,
        specialty="aesthetics",
        price_reference="350.00",
        currency="BRL",
        prepayment_required=False,
    )


def professional(
    hours: list[tuple[int, time, time]],
    breaks: list[tuple[int, time, time]] = (),  # type: ignore[assignment]
    days_off: tuple[date, ...] = (),
) -> Professional:
    return Professional(
        id="d1",
        tenant_id="t",
        name="Dra. Ana",
        kind="doctor",
        specialties=("aesthetics",),
        branch_ids=("b1",),
        hours=tuple(WorkingHours(weekday=w, start=s, end=e, branch_id="b1") for w, s, e in hours),
        breaks=tuple(Interval(weekday=w, start=s, end=e) for w, s, e in breaks),
        days_off=days_off,
    )


WEEK = [(d, time(9), time(18)) for d in range(6)]
LUNCH = [(d, time(12), time(13)) for d in range(6)]
EARLY = datetime(2020, 1, 1, tzinfo=UTC)


def within_hours(slot_start: datetime, slot_end: datetime, b: Branch, p: Professional) -> bool:
    day = slot_start.astimezone(b.zone).date()
    return any(
        instant(day, h.start, b.zone) <= slot_start and slot_end <= instant(day, h.end, b.zone)
        for h in p.hours
        if h.weekday == day.weekday()
    )


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, object]:
    zone = draw(st.sampled_from(ZONES))
    start = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 20)))
    days = local_days(start, start + timedelta(days=draw(st.integers(0, 6))))
    b = branch(zone)
    opening = draw(st.integers(6, 10))
    closing = draw(st.integers(opening + 2, 21))
    pause = draw(st.integers(opening, closing - 1))
    p = professional(
        [(d, time(opening), time(closing)) for d in range(7) if draw(st.booleans()) or d == 0],
        [(d, time(pause), time(pause, 45)) for d in range(7)],
        days_off=tuple(d for d in days if draw(st.integers(0, 9)) == 0),
    )
    busy = []
    for _ in range(draw(st.integers(0, 12))):
        day = draw(st.sampled_from(days))
        at = instant(day, time(draw(st.integers(0, 22)), draw(st.sampled_from([0, 10, 15, 30, 45]))), b.zone)
        busy.append(Busy("d1", at, at + timedelta(minutes=draw(st.integers(5, 180)))))
    holidays = {d: "holiday" for d in days if draw(st.integers(0, 6)) == 0}
    return {
        "branch": b,
        "professional": p,
        "days": days,
        "busy": busy,
        "holidays": holidays,
        "procedure": procedure(draw(st.sampled_from([15, 20, 30, 45, 60, 90]))),
        "step": draw(st.sampled_from([5, 10, 15, 30])),
    }


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_no_slot_overlaps_busy_time_breaks_holidays_or_leaves_the_hours(s: dict) -> None:  # type: ignore[type-arg]
    b, p, proc = s["branch"], s["professional"], s["procedure"]
    slots = free_slots(
        branch=b,
        procedure=proc,
        professionals=[p],
        busy=s["busy"],
        days=s["days"],
        policy=ClinicPolicy(slot_step_minutes=s["step"]),
        holidays=s["holidays"],
        now=EARLY,
    )
    for slot in slots:
        assert slot.ends_at - slot.starts_at == timedelta(minutes=proc.duration_minutes)
        assert within_hours(slot.starts_at, slot.ends_at, b, p)
        day = slot.starts_at.astimezone(b.zone).date()
        assert day not in s["holidays"]
        assert day not in p.days_off
        for br in p.breaks:
            if br.weekday == day.weekday():
                assert not (
                    slot.starts_at < instant(day, br.end, b.zone) and instant(day, br.start, b.zone) < slot.ends_at
                )
        for busy in s["busy"]:
            assert not (slot.starts_at < busy.ends_at and busy.starts_at < slot.ends_at)
    assert len({x.starts_at for x in slots}) == len(slots)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_every_free_slot_is_bookable(s: dict) -> None:  # type: ignore[type-arg]
    b, p, proc = s["branch"], s["professional"], s["procedure"]
    for slot in free_slots(
        branch=b,
        procedure=proc,
        professionals=[p],
        busy=s["busy"],
        days=s["days"],
        policy=ClinicPolicy(),
        holidays=s["holidays"],
        now=EARLY,
    )[:20]:
        assert (
            check_bookable(
                branch=b, procedure=proc, professional=p, starts_at=slot.starts_at, holidays=s["holidays"], now=EARLY
            )
            == slot.ends_at
        )


def test_a_clinic_open_on_holidays_offers_them() -> None:
    day = date(2026, 12, 25)  # a Friday
    p = professional(WEEK)
    args = {
        "procedure": procedure(),
        "professionals": [p],
        "busy": [],
        "days": [day],
        "policy": ClinicPolicy(),
        "holidays": {day: "Christmas"},
        "now": EARLY,
    }
    assert free_slots(branch=branch(), **args) == []  # type: ignore[arg-type]
    assert free_slots(branch=branch(open_on_holidays=True), **args)  # type: ignore[arg-type]


def test_past_slots_are_not_offered() -> None:
    day = date(2026, 12, 7)
    now = instant(day, time(14, 5), ZoneInfo("America/Sao_Paulo"))
    slots = free_slots(
        branch=branch(),
        procedure=procedure(),
        professionals=[professional(WEEK)],
        busy=[],
        days=[day],
        policy=ClinicPolicy(),
        holidays={},
        now=now,
    )
    assert slots[0].starts_at == instant(day, time(14, 15), ZoneInfo("America/Sao_Paulo"))


@pytest.mark.parametrize(
    ("day", "utc_open"),
    [
        (date(2026, 3, 7), datetime(2026, 3, 7, 14, 0, tzinfo=UTC)),  # Saturday before spring forward: EST
        (date(2026, 3, 9), datetime(2026, 3, 9, 13, 0, tzinfo=UTC)),  # Monday after: EDT
        (date(2026, 11, 2), datetime(2026, 11, 2, 14, 0, tzinfo=UTC)),  # Monday after fall back: EST again
    ],
)
def test_hours_stay_wall_clock_across_dst(day: date, utc_open: datetime) -> None:
    slots = free_slots(
        branch=branch("America/New_York"),
        procedure=procedure(),
        professionals=[professional(WEEK)],
        busy=[],
        days=[day],
        policy=ClinicPolicy(),
        holidays={},
        now=EARLY,
    )
    assert slots[0].starts_at == utc_open
    assert slots[-1].ends_at.astimezone(ZoneInfo("America/New_York")).time() == time(18)


def test_a_dst_night_keeps_every_slot_inside_hours() -> None:
    # Madrid springs forward at 02:00 on 29 March 2026: a night shift 00:00-06:00 has one real hour less.
    night = [(6, time(0), time(6))]  # Sunday
    p = professional(night)
    slots = free_slots(
        branch=branch("Europe/Madrid"),
        procedure=procedure(60),
        professionals=[p],
        busy=[],
        days=[date(2026, 3, 29)],
        policy=ClinicPolicy(slot_step_minutes=60),
        holidays={},
        now=EARLY,
    )
    assert len(slots) == 5
    for s in slots:
        assert within_hours(s.starts_at, s.ends_at, branch("Europe/Madrid"), p)


@pytest.mark.parametrize(
    ("local", "message"),
    [
        ("2026-12-07T08:30", "outside working hours"),
        ("2026-12-07T12:15", "break"),
        ("2026-12-07T17:45", "outside working hours"),
        ("2026-12-13T10:00", "outside working hours"),  # Sunday
        ("2026-12-25T10:00", "public holiday"),
        ("2026-12-08T10:00", "off"),
    ],
)
def test_check_bookable_names_the_reason(local: str, message: str) -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    at = datetime.fromisoformat(local).replace(tzinfo=zone)
    with pytest.raises(Invalid, match=message) as caught:
        check_bookable(
            branch=branch(),
            procedure=procedure(),
            professional=professional(WEEK, LUNCH, days_off=(date(2026, 12, 8),)),
            starts_at=at,
            holidays={date(2026, 12, 25): "Christmas"},
            now=EARLY,
        )
    assert caught.value.field == "starts_at"


def test_check_bookable_refuses_the_past_and_naive_times() -> None:
    at = datetime(2026, 12, 7, 10, tzinfo=ZoneInfo("America/Sao_Paulo"))
    with pytest.raises(Invalid, match="past"):
        check_bookable(
            branch=branch(),
            procedure=procedure(),
            professional=professional(WEEK),
            starts_at=at,
            holidays={},
            now=at + timedelta(minutes=1),
        )
    with pytest.raises(Invalid, match="time zone"):
        check_bookable(
            branch=branch(),
            procedure=procedure(),
            professional=professional(WEEK),
            starts_at=at.replace(tzinfo=None),
            holidays={},
            now=EARLY,
        )


def test_range_is_bounded() -> None:
    with pytest.raises(Invalid):
        local_days(date(2026, 1, 10), date(2026, 1, 1))
    with pytest.raises(Invalid):
        local_days(date(2026, 1, 1), date(2026, 6, 1))
    assert len(local_days(date(2026, 1, 1), date(2026, 1, MAX_RANGE_DAYS))) == MAX_RANGE_DAYS
    with pytest.raises(Invalid):
        local_days(date(2026, 1, 1), date(2026, 2, 1))


def test_the_window_defaults_to_the_coming_week() -> None:
    today = date(2027, 3, 1)
    assert window(None, None, today) == (today, date(2027, 3, 7))
    assert window(date(2027, 3, 10), None, today) == (date(2027, 3, 10), date(2027, 3, 16))
    assert window(None, date(2027, 3, 2), today) == (today, date(2027, 3, 2))
    with pytest.raises(Invalid) as caught:
        window(date(9999, 12, 31), None, today)
    assert caught.value.field == "from"


def brute_force(s: dict, now: datetime, lead: int) -> list[datetime]:  # type: ignore[type-arg]
    """Every candidate tested one by one: the reference the gap walk must equal."""
    b, p, proc = s["branch"], s["professional"], s["procedure"]
    duration, step = timedelta(minutes=proc.duration_minutes), timedelta(minutes=s["step"])
    out = []
    for day in s["days"]:
        if closed_reason(b, p, day, s["holidays"]):
            continue
        pauses = break_spans(b, p, day)
        for start, stop in working_spans(b, p, day):
            at = start
            while at + duration <= stop:
                end = at + duration
                clear = not any(at < e and st_ < end for st_, e in pauses) and not any(
                    at < x.ends_at and x.starts_at < end for x in s["busy"]
                )
                if clear and at >= now + timedelta(minutes=lead):
                    out.append(at)
                at += step
    return sorted(set(out))


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.integers(-3, 8), st.sampled_from([0, 0, 60, 180]))
def test_the_gap_walk_finds_exactly_what_testing_every_candidate_finds(
    s: dict,  # type: ignore[type-arg]
    now_day: int,
    lead: int,
) -> None:
    now = instant(s["days"][0] + timedelta(days=now_day // 2), time(11 if now_day % 2 else 8, 7), s["branch"].zone)
    found = free_times(
        branch=s["branch"],
        procedure=s["procedure"],
        professionals=[s["professional"]],
        busy=s["busy"],
        days=s["days"],
        policy=ClinicPolicy(slot_step_minutes=s["step"], min_lead_minutes=lead),
        holidays=s["holidays"],
        now=now,
    )
    starts = [datetime.fromtimestamp(at, UTC) for f in found for d in f.days for at in d.starts]
    assert starts == brute_force(s, now, lead)
    # the compact encoding spells every start exactly: {date}T{time}:00{utc_offset}
    spelled = [
        datetime.fromisoformat(f"{d.day.isoformat()}T{t}:00{d.utc_offset}")
        for f in found
        for d in f.days
        for t in d.local_times()
    ]
    assert spelled == starts


def test_a_dst_change_inside_the_hours_splits_the_day_by_offset() -> None:
    # Madrid springs forward at 02:00 -> 03:00 on 2026-03-29 (a Sunday); a night shift 00:00-06:00 spans it.
    day = date(2026, 3, 29)
    found = free_times(
        branch=branch("Europe/Madrid"),
        procedure=procedure(60),
        professionals=[professional([(6, time(0), time(6))])],
        days=[day],
        policy=ClinicPolicy(slot_step_minutes=60),
        holidays={},
        now=EARLY,
    )
    groups = [(d.utc_offset, d.local_times()) for d in found[0].days]
    # 00:00 CET (23:00 UTC) to 06:00 CEST (04:00 UTC) is five real hours: starts at 23, 00, 01, 02, 03 UTC
    assert groups == [("+01:00", ["00:00", "01:00"]), ("+02:00", ["03:00", "04:00", "05:00"])]
