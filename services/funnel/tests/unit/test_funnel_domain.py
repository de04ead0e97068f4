"""Stage rules: the stage is a function of the facts, whatever the order or repetition of the events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnel.domain import (
    LOST_AFTER,
    Appointment,
    Fact,
    Facts,
    InvalidFunnel,
    ItemFact,
    Plan,
    PlanItem,
    Visit,
    arrived_stage,
    clean_color,
    clean_due,
    clean_items,
    clean_percent,
    record,
    request_stage,
    task_counts,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
H = timedelta(hours=1)
D = timedelta(days=1)
PROC = "proc-implant"


def _fold(facts: list[Fact]) -> Facts:
    out = Facts()
    for f in facts:
        out = record(out, f)
    return out


def _story() -> list[Fact]:
    """The e2e story as facts: arrived, plan signed, a service done, next visit booked then cancelled."""
    plan = Plan("p1", created_at=T0 + H, items=(ItemFact(PROC, 2),))
    return [
        T0,
        Appointment("a1", starts_at=T0, starts_version=T0 - D),
        Appointment("a1", done_at=T0),
        plan,
        Plan("p1", created_at=T0 + H, signed_at=T0 + 2 * H, items=plan.items),
        Visit("a2", T0 + 3 * D, (PROC,)),
        Appointment("a2", starts_at=T0 + 3 * D, starts_version=T0 + D),
        Appointment("a2", done_at=T0 + 3 * D),
        Appointment("a3", starts_at=T0 + 10 * D, starts_version=T0 + 3 * D),
        Appointment("a3", starts_at=T0 + 12 * D, starts_version=T0 + 4 * D),
    ]


def test_the_story_moves_through_the_stages() -> None:
    facts = _story()
    assert arrived_stage(_fold(facts[:1]), T0) == "new"
    assert arrived_stage(_fold(facts[:5]), T0 + 2 * H) == "plan_signed"
    assert arrived_stage(_fold(facts), T0 + 4 * D) == "in_treatment"
    cancelled = [*facts, Appointment("a3", cancelled_at=T0 + 5 * D)]
    assert arrived_stage(_fold(cancelled), T0 + 5 * D) == "interrupted"
    assert arrived_stage(_fold(cancelled), T0 + 5 * D + LOST_AFTER - H) == "interrupted"
    assert arrived_stage(_fold(cancelled), T0 + 5 * D + LOST_AFTER) == "lost"
    rebooked = [*cancelled, Appointment("a4", starts_at=T0 + 300 * D, starts_version=T0 + 200 * D)]
    assert arrived_stage(_fold(rebooked), T0 + 200 * D) == "in_treatment"
    done = [*rebooked, Visit("a4", T0 + 300 * D, (PROC,))]
    assert arrived_stage(_fold(done), T0 + 300 * D) == "completed"


def test_an_unsigned_plan_does_not_move_the_deal() -> None:
    facts = [T0, Plan("p1", created_at=T0, items=(ItemFact(PROC, 1),))]
    assert arrived_stage(_fold(facts), T0 + H) == "new"


def test_the_latest_reschedule_wins_in_any_order() -> None:
    a = Appointment("a", starts_at=T0 + 9 * D, starts_version=T0)
    b = Appointment("a", starts_at=T0 + 2 * D, starts_version=T0 + H)
    assert _fold([a, b]).appointments == _fold([b, a]).appointments
    assert _fold([b, a]).appointments[0].starts_at == T0 + 2 * D


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_order_and_duplicates_do_not_change_the_stage(data: st.DataObject) -> None:
    facts = _story()
    facts += data.draw(st.lists(st.sampled_from([Appointment("a3", cancelled_at=T0 + 5 * D), T0 + D]), max_size=2))
    shuffled = data.draw(st.permutations(facts))
    duplicated = shuffled + data.draw(st.lists(st.sampled_from(facts), max_size=6))
    now = data.draw(st.sampled_from([T0 + 4 * D, T0 + 6 * D, T0 + 400 * D]))
    assert arrived_stage(_fold(duplicated), now) == arrived_stage(_fold(facts), now)
    assert _fold(duplicated) == _fold(facts)


def test_request_deals_reach_booked_by_themselves_only() -> None:
    assert request_stage("new", True) == "booked"
    assert request_stage("contacted", False) == "contacted"
    assert request_stage("lost", True) == "lost"


@pytest.mark.parametrize("value", [Decimal(-1), Decimal("100.01")])
def test_percentages_are_0_to_100(value: Decimal) -> None:
    with pytest.raises(InvalidFunnel) as caught:
        clean_percent(value, field_name="general_percent")
    assert caught.value.field == "general_percent"


def test_input_rules() -> None:
    assert clean_color("#AABBCC") == "#aabbcc"
    with pytest.raises(InvalidFunnel):
        clean_color("red")
    with pytest.raises(InvalidFunnel) as caught:
        clean_due(T0 - H, T0)
    assert caught.value.field == "due_at"
    with pytest.raises(InvalidFunnel) as caught:
        clean_items([PlanItem("Implant", 0, Decimal(10))])
    assert caught.value.field == "items[0].quantity"
    assert PlanItem("Implant", 2, Decimal("100"), Decimal("10")).total == Decimal("180.00")
    counts = task_counts([T0 - H, T0 + H, T0 + D], T0)
    assert (counts.green, counts.red) == (2, 1)


def test_a_clinics_own_pipeline_its_stages_name_and_removal() -> None:
    from funnel.domain import Conflict, InvalidFunnel, StageSpec, clean_pipeline_name, clean_stages, removable

    cleaned = clean_stages(
        [StageSpec(" First Call ", "First call", "#ABCDEF"), StageSpec("w", "Won", "#000000", "won")]
    )
    assert cleaned == [StageSpec("first_call", "First call", "#abcdef"), StageSpec("w", "Won", "#000000", "won")]
    bad = {
        "stages": [[], [StageSpec("w", "W", "#000000", "won"), StageSpec("l", "L", "#000000", "lost")]],
        "stages.1.key": [[StageSpec("a", "A", "#000000"), StageSpec(" A ", "B", "#000000")]],
        "stages.0.color": [[StageSpec("a", "A", "red")]],
        "stages.2.outcome": [[StageSpec("a", "A", "#000000"), *[StageSpec(k, k, "#000000", "lost") for k in "bc"]]],
        "stages.0.name": [[StageSpec("a", " ", "#000000")]],
    }
    for field, cases in bad.items():
        for stages in cases:
            with pytest.raises(InvalidFunnel) as caught:
                clean_stages(stages)
            assert caught.value.field == field
    assert clean_pipeline_name("  Implants  2027 ", ["Requests and contacts"]) == "Implants 2027"
    with pytest.raises(Conflict) as taken:
        clean_pipeline_name("IMPLANTS", ["implants"])
    assert taken.value.field == "name"
    assert (removable("custom", 0, 0), removable("custom", 0, 3)) == ("deleted", "archived")
    for kind, open_deals in (("requests", 0), ("arrived", 0), ("custom", 1)):
        with pytest.raises(Conflict) as kept:
            removable(kind, open_deals, open_deals)
        assert kept.value.field == "pipeline_id"
