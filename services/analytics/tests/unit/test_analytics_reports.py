"""Report rules, no IO: periods in the clinic's days, groupings and sorting, the funnel's drops, spend and
commissions, the channel of a lead, and bad input naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from analytics.domain import InvalidAnalytics, channel_of
from analytics.domain import reports as rules


def test_a_period_is_the_clinic_s_days_as_instants() -> None:
    span = rules.period(date(2026, 11, 1), date(2026, 11, 30), "America/Sao_Paulo", date(2026, 12, 1))
    assert span.start == datetime(2026, 11, 1, 3, tzinfo=UTC)
    assert span.end == datetime(2026, 12, 1, 3, tzinfo=UTC)
    default = rules.period(None, None, "America/Sao_Paulo", date(2026, 12, 1))
    assert (default.first, default.last) == (date(2026, 11, 2), date(2026, 12, 1))


@pytest.mark.parametrize(
    ("first", "last", "field"),
    [
        (date(2026, 11, 5), date(2026, 11, 1), "to"),
        (date(2020, 1, 1), date(2026, 1, 1), "to"),
        (date(1, 1, 1), None, "from"),
        (None, date(9999, 12, 31), "to"),
    ],
)
def test_a_bad_period_names_the_field(first: date | None, last: date | None, field: str) -> None:
    with pytest.raises(InvalidAnalytics) as caught:
        rules.period(first, last, "UTC", date(2026, 12, 1))
    assert caught.value.field == field


def test_groupings_and_sorting() -> None:
    assert rules.dimensions(None, rules.LEAD_DIMENSIONS, ("channel",)) == ("channel",)
    assert rules.dimensions(["source", "channel", "source"], rules.LEAD_DIMENSIONS, ()) == ("source", "channel")
    with pytest.raises(InvalidAnalytics):
        rules.dimensions(["procedure"], rules.LEAD_DIMENSIONS, ())
    assert rules.sort_key("-revenue", ["revenue", "source"], "source") == ("revenue", True)
    with pytest.raises(InvalidAnalytics) as caught:
        rules.sort_key("nope", ["revenue"], "revenue")
    assert caught.value.field == "sort"
    rows = [{"s": "b"}, {"s": None}, {"s": "a"}]
    assert [r["s"] for r in rules.sort_rows(rows, "s", False)] == ["a", "b", None]
    assert [r["s"] for r in rules.sort_rows(rows, "s", True)] == ["b", "a", None]


def test_the_funnel_s_rates_and_drops() -> None:
    row = rules.funnel({"leads": 10, "booked": 6, "arrived": 3, "treated": 3, "paid": 1})
    assert (row["booked_rate"], row["booked_drop"], row["booked_drop_rate"]) == (60.0, 4, 40.0)
    assert (row["arrived_drop"], row["arrived_drop_rate"], row["treated_drop"]) == (3, 50.0, 0)
    assert (row["paid_rate"], row["paid_drop"]) == (10.0, 2)
    empty = rules.funnel({"leads": 0})
    assert empty["booked_rate"] is None


def test_spend_in_a_period_cost_per_lead_and_commission() -> None:
    nov = (datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))
    half = (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 12, 16, tzinfo=UTC))
    assert rules.prorated(Decimal(300), *nov, *nov) == Decimal(300)
    assert rules.money(rules.prorated(Decimal(300), *nov, *half)) == Decimal("150.00")
    assert rules.prorated(Decimal(300), *nov, datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)) == 0
    assert rules.cost_per_lead(Decimal(500), 3) == Decimal("166.67")
    assert rules.cost_per_lead(Decimal(500), 0) is None
    assert rules.commission(Decimal("250.00"), Decimal(10)) == Decimal("25.00")
    assert rules.commission(Decimal("250.00"), None) == Decimal("0.00")
    assert rules.percentile([30.0, 60.0], 50) == 30.0
    assert rules.percentile([30.0, 60.0], 90) == 60.0
    assert rules.percentile([], 90) is None


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), Decimal(-1), Decimal(101)])
def test_a_commission_is_a_percentage(value: Decimal) -> None:
    with pytest.raises(InvalidAnalytics) as caught:
        rules.clean_percent(value)
    assert caught.value.field == "percent"


@pytest.mark.parametrize(
    ("amount", "first", "last", "channel", "field"),
    [
        (Decimal("NaN"), date(2026, 11, 1), date(2026, 11, 30), None, "amount"),
        (Decimal(-5), date(2026, 11, 1), date(2026, 11, 30), None, "amount"),
        (Decimal(5), date(2026, 11, 30), date(2026, 11, 1), None, "to"),
        (Decimal(5), date(1, 1, 1), date(2026, 11, 1), None, "from"),
        (Decimal(5), date(2026, 11, 1), date(2026, 11, 30), "fax", "channel"),
    ],
)
def test_bad_spend_names_the_field(amount: Decimal, first: date, last: date, channel: str | None, field: str) -> None:
    with pytest.raises(InvalidAnalytics) as caught:
        rules.clean_spend(amount, first, last, channel)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("intake", "source", "messenger", "channel"),
    [
        ("call", "google", None, "call"),
        ("web_form", "instagram", None, "site_form"),
        ("tilda", "x", None, "tilda"),
        ("online_booking", "online_booking", None, "online_booking"),
        ("manual", "recommendation", "telegram", "manual"),
        ("message", "whatsapp", None, "whatsapp"),
        ("message", "sms", None, "sms"),
        ("message", "whatsapp", "instagram", "instagram"),
        (None, None, "telegram", "telegram"),
        (None, None, None, "manual"),
    ],
)
def test_the_channel_of_a_lead(intake: str | None, source: str | None, messenger: str | None, channel: str) -> None:
    assert channel_of(intake, source, messenger) == channel
