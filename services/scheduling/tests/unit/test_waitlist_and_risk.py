"""Who gets a freed slot from the waitlist, and the explained no-show risk."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from scheduling.domain.appointments import Person
from scheduling.domain.waitlist import WAITING, WaitlistEntry, first_taker, no_show_risk

T0 = datetime(2027, 3, 1, 12, tzinfo=UTC)


def entry(n: int, **extra: object) -> WaitlistEntry:
    values: dict[str, object] = {
        "id": f"e{n}",
        "tenant_id": "t",
        "person": Person(name=f"P{n}", phone="+5511900000000"),
        "branch_id": "b",
        "procedure_id": "p",
        "professional_id": None,
        "not_before": None,
        "not_after": None,
        "status": WAITING,
        "created_at": T0 + timedelta(minutes=n),
    } | extra
    return WaitlistEntry(**values)  # type: ignore[arg-type]


def test_the_longest_waiting_person_who_wants_it_gets_the_offer() -> None:
    entries = [
        entry(3),
        entry(1, professional_id="other"),
        entry(2, not_after=date(2027, 3, 4)),
        entry(0, status="offered"),
    ]
    assert first_taker(entries, professional_id="d", local_day=date(2027, 3, 5)) == entries[0]
    assert first_taker(entries, professional_id="d", local_day=date(2027, 3, 3)) == entries[2]
    assert first_taker(entries, professional_id="other", local_day=date(2027, 3, 3)) == entries[1]
    assert first_taker([entry(1, not_before=date(2027, 4, 1))], professional_id="d", local_day=date(2027, 3, 3)) is None


def test_risk_explains_every_point() -> None:
    start = T0 + timedelta(days=20)
    risky = no_show_risk(
        no_shows=2,
        attended=0,
        booked_at=T0,
        starts_at=start,
        now=start - timedelta(hours=3),
        confirmed=False,
        known_person=False,
    )
    assert (risky.score, risky.level) == (90, "high")
    assert sum(int(r["points"]) for r in risky.reasons) == 90  # type: ignore[call-overload]
    assert {r["factor"] for r in risky.reasons} == {"base", "history", "lead_time", "confirmation", "person"}
    safe = no_show_risk(
        no_shows=0,
        attended=4,
        booked_at=T0,
        starts_at=T0 + timedelta(days=2),
        now=T0,
        confirmed=True,
        known_person=True,
    )
    assert (safe.score, safe.level) == (0, "low")
