"""The charge state machine, money and the discount arithmetic (plain Python, no IO)."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.domain import charges as rules
from payments.domain.charges import Charge
from payments.domain.discounts import FIXED, PERCENTAGE, DiscountRule, apply_best, check_rule
from payments.domain.documents import clean_cpf
from payments.domain.errors import Conflict, InvalidInput
from payments.domain.money import check_currency, fmt, from_cents, parse_amount, to_cents

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _charge(**over: object) -> Charge:
    base = Charge(
        id="0193a0d0-2222-7b00-8c00-0000000000b2",
        tenant_id="t1",
        status=rules.PENDING,
        amount=Decimal("350.00"),
        amount_before_discount=Decimal("350.00"),
        currency="BRL",
        description="Limpeza de pele",
        methods=("pix", "credit"),
        provider="mercadopago",
        expires_at=NOW + timedelta(hours=1),
        created_by="u1",
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(base, **over)  # type: ignore[arg-type]


# --- money ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "expected"), [("350", "350.00"), ("350.5", "350.50"), ("0.01", "0.01"), (12, "12.00")])
def test_amounts_are_two_place_decimals(raw: str, expected: str) -> None:
    assert fmt(parse_amount(raw)) == expected


@pytest.mark.parametrize("raw", ["0", "-1", "1.005", "abc", "NaN", "Infinity", "1e9", "10000000"])
def test_bad_amounts_name_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_amount(raw)
    assert caught.value.field == "amount"


def test_trailing_zeros_beyond_two_places_are_fine() -> None:
    assert parse_amount(Decimal("10.500")) == Decimal("10.50")


def test_currency_is_checked() -> None:
    assert check_currency("brl") == "BRL"
    with pytest.raises(InvalidInput) as caught:
        check_currency("XXX")
    assert caught.value.field == "currency"


@settings(deadline=None)
@given(st.integers(min_value=1, max_value=100_000_000))
def test_cents_round_trip(cents: int) -> None:
    assert to_cents(from_cents(cents)) == cents


# --- methods and expiry ------------------------------------------------------------------------------
def test_methods_are_checked_and_ordered() -> None:
    assert rules.check_methods(["debit", "pix", "pix"]) == ["pix", "debit"]
    for bad in ([], ["boleto"]):
        with pytest.raises(InvalidInput) as caught:
            rules.check_methods(bad)
        assert caught.value.field == "methods"


@pytest.mark.parametrize(
    "expires_at",
    [NOW - timedelta(seconds=1), NOW + timedelta(seconds=30), NOW + timedelta(days=31), datetime(2026, 12, 2, 12, 0)],
)
def test_bad_expiry_is_refused(expires_at: datetime) -> None:
    with pytest.raises(InvalidInput) as caught:
        rules.check_expiry(expires_at, NOW)
    assert caught.value.field == "expires_at"


# --- the state machine ---------------------------------------------------------------------------------
def test_pending_to_paid_once() -> None:
    first = rules.confirm(
        _charge(), provider_payment_id="p1", method="pix", amount=Decimal("350.00"), paid_at=NOW, now=NOW
    )
    assert first.event == "confirmed"
    assert first.charge.status == rules.PAID
    assert first.charge.late is False
    again = rules.confirm(
        first.charge, provider_payment_id="p1", method="pix", amount=Decimal("350.00"), paid_at=NOW, now=NOW
    )
    assert again.event is None
    assert again.charge == first.charge


def test_failed_link_can_still_be_paid_but_a_late_failure_changes_nothing() -> None:
    failed = rules.fail(_charge(), reason="cc_rejected", method="credit", now=NOW)
    assert (failed.event, failed.charge.status) == ("failed", rules.FAILED)
    paid = rules.confirm(
        failed.charge, provider_payment_id="p2", method="pix", amount=Decimal("350.00"), paid_at=NOW, now=NOW
    )
    assert paid.charge.status == rules.PAID
    # An older refusal delivered after the money (out of order) is ignored.
    assert rules.fail(paid.charge, reason="old", method="credit", now=NOW).event is None


@pytest.mark.parametrize("closed", [rules.EXPIRED, rules.CANCELLED])
def test_money_after_expiry_or_cancel_is_recorded_and_flagged(closed: str) -> None:
    outcome = rules.confirm(
        _charge(status=closed), provider_payment_id="p3", method="pix", amount=Decimal("350.00"), paid_at=NOW, now=NOW
    )
    assert outcome.event == "confirmed"
    assert outcome.charge.status == rules.PAID
    assert outcome.charge.late is True


def test_expiry_only_after_the_time_and_only_when_open() -> None:
    charge = _charge()
    assert rules.expire(charge, NOW).event is None
    later = NOW + timedelta(hours=2)
    expired = rules.expire(charge, later)
    assert (expired.event, expired.charge.status) == ("expired", rules.EXPIRED)
    assert rules.expire(expired.charge, later).event is None
    assert rules.expire(_charge(status=rules.PAID), later).event is None


def test_cancel_only_open_links() -> None:
    assert rules.cancel(_charge(), by="u2", now=NOW).status == rules.CANCELLED
    with pytest.raises(Conflict):
        rules.cancel(_charge(status=rules.PAID), by="u2", now=NOW)


def test_partial_then_full_refund() -> None:
    paid = _charge(status=rules.PAID, paid_amount=Decimal("350.00"), provider_payment_id="p1", paid_at=NOW)
    part, value = rules.refund(paid, Decimal("100.00"), NOW)
    assert (part.status, value, part.refundable) == (rules.PARTIALLY_REFUNDED, Decimal("100.00"), Decimal("250.00"))
    with pytest.raises(InvalidInput) as caught:
        rules.refund(part, Decimal("250.01"), NOW)
    assert caught.value.field == "amount"
    full, rest = rules.refund(part, None, NOW)
    assert (full.status, rest, full.refunded_amount) == (rules.REFUNDED, Decimal("250.00"), Decimal("350.00"))
    with pytest.raises(Conflict):
        rules.refund(full, Decimal("1.00"), NOW)
    with pytest.raises(Conflict):
        rules.refund(_charge(), None, NOW)


_steps = st.lists(
    st.one_of(
        st.tuples(st.just("confirm"), st.sampled_from(["pix", "credit", "debit"])),
        st.tuples(st.just("fail"), st.just("refused")),
        st.tuples(st.just("expire"), st.just("")),
        st.tuples(st.just("cancel"), st.just("")),
        st.tuples(st.just("refund"), st.sampled_from(["10.00", "100.00", "all"])),
    ),
    max_size=12,
)


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_any_sequence_of_reports_keeps_the_books_right(steps: list[tuple[str, str]]) -> None:
    """Whatever order reports arrive in: money is confirmed at most once, refunds never exceed it,
    and once money arrived the charge never goes back to an unpaid state."""
    charge = _charge()
    confirmations = 0
    now = NOW
    for kind, arg in steps:
        now += timedelta(minutes=30)
        before = charge
        if kind == "confirm":
            out = rules.confirm(charge, provider_payment_id="p", method=arg, amount=charge.amount, paid_at=now, now=now)
            confirmations += out.event == "confirmed"
            charge = out.charge
        elif kind == "fail":
            charge = rules.fail(charge, reason=arg, method=None, now=now).charge
        elif kind == "expire":
            charge = rules.expire(charge, now).charge
        elif kind == "cancel":
            try:
                charge = rules.cancel(charge, by="u", now=now)
            except Conflict:
                assert charge.status not in rules.OPEN
        else:
            with contextlib.suppress(Conflict, InvalidInput):
                charge, _ = rules.refund(charge, None if arg == "all" else Decimal(arg), now)
        if before.status in rules.SETTLED:
            assert charge.status in rules.SETTLED
        assert charge.refunded_amount <= (charge.paid_amount or Decimal(0))
        assert charge.status in rules.STATUSES
    assert confirmations <= 1
    if charge.status in rules.SETTLED:
        assert confirmations == 1


# --- discounts --------------------------------------------------------------------------------------------
def _rule(kind: str, value: str, **over: object) -> DiscountRule:
    rule = DiscountRule(
        id=f"r-{kind}-{value}",
        tenant_id="t1",
        name="Promo",
        kind=kind,
        value=Decimal(value),
        procedure_id=None,
        valid_from=None,
        valid_until=None,
    )
    return replace(rule, **over)  # type: ignore[arg-type]


def test_percentage_and_fixed_discounts() -> None:
    today = date(2026, 12, 1)
    assert apply_best(Decimal("350.00"), [_rule(PERCENTAGE, "10")], None, today).after == Decimal("315.00")
    assert apply_best(Decimal("350.00"), [_rule(FIXED, "50")], None, today).after == Decimal("300.00")
    best = apply_best(Decimal("350.00"), [_rule(PERCENTAGE, "10"), _rule(FIXED, "50")], None, today)
    assert (best.after, best.discount and best.discount.kind) == (Decimal("300.00"), FIXED)


def test_percentage_rounds_half_up_to_the_cent() -> None:
    assert apply_best(Decimal("0.05"), [_rule(PERCENTAGE, "50")], None, date(2026, 1, 1)).after == Decimal("0.02")


def test_rules_apply_only_within_dates_and_to_their_procedure() -> None:
    rule = _rule(PERCENTAGE, "20", procedure_id="proc-1", valid_from=date(2026, 12, 1), valid_until=date(2026, 12, 31))
    amount = Decimal("100.00")
    assert apply_best(amount, [rule], "proc-1", date(2026, 12, 15)).after == Decimal("80.00")
    assert apply_best(amount, [rule], "proc-2", date(2026, 12, 15)).discount is None
    assert apply_best(amount, [rule], "proc-1", date(2026, 11, 30)).discount is None
    assert apply_best(amount, [rule], "proc-1", date(2027, 1, 1)).discount is None
    assert apply_best(amount, [replace(rule, active=False)], "proc-1", date(2026, 12, 15)).discount is None


@pytest.mark.parametrize(
    ("kind", "value", "field"),
    [("bogus", "1", "kind"), (PERCENTAGE, "0", "value"), (PERCENTAGE, "101", "value"), (FIXED, "-5", "value")],
)
def test_bad_rules_name_the_field(kind: str, value: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_rule(kind, Decimal(value), None, None)
    assert caught.value.field == field


def test_rule_dates_in_order() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_rule(FIXED, Decimal("1"), date(2026, 12, 2), date(2026, 12, 1))
    assert caught.value.field == "valid_until"


@settings(deadline=None)
@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2),
    percent=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2),
    fixed=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("200000"), places=2),
)
def test_discounted_amounts_stay_between_zero_and_the_price(amount: Decimal, percent: Decimal, fixed: Decimal) -> None:
    priced = apply_best(amount, [_rule(PERCENTAGE, str(percent)), _rule(FIXED, str(fixed))], None, date(2026, 1, 1))
    assert Decimal(0) <= priced.after <= amount
    assert priced.after == priced.after.quantize(Decimal("0.01"))
    assert priced.before == amount
    if priced.discount is not None:
        assert priced.after == max(amount - priced.discount.reduction(amount), Decimal(0))


def test_a_refund_made_at_the_provider_is_recorded_once() -> None:
    paid = _charge(status=rules.PAID, paid_amount=Decimal("350.00"), provider_payment_id="p1", paid_at=NOW)
    found = rules.refunded_at_provider(paid, Decimal("100.00"), NOW)
    assert found is not None
    part, value = found
    assert (part.status, value, part.refunded_amount) == (
        rules.PARTIALLY_REFUNDED,
        Decimal("100.00"),
        Decimal("100.00"),
    )
    # The same total reported again (a redelivery, or our own refund coming back) records nothing more.
    assert rules.refunded_at_provider(part, Decimal("100.00"), NOW) is None
    assert rules.refunded_at_provider(part, Decimal("50.00"), NOW) is None  # an older view
    full, rest = rules.refunded_at_provider(part, Decimal("400.00"), NOW) or (part, Decimal(0))  # never past paid
    assert (full.status, rest) == (rules.REFUNDED, Decimal("250.00"))
    assert rules.refunded_at_provider(_charge(), Decimal("10.00"), NOW) is None  # unpaid: nothing to give back


@pytest.mark.parametrize(("raw", "digits"), [("529.982.247-25", "52998224725"), (" 52998224725 ", "52998224725")])
def test_cpf_is_kept_as_its_digits(raw: str, digits: str) -> None:
    assert clean_cpf(raw) == digits


@pytest.mark.parametrize("raw", ["529.982.247-26", "111.111.111-11", "1234", "abc"])
def test_a_wrong_cpf_names_the_field(raw: str) -> None:
    with pytest.raises(InvalidInput) as err:
        clean_cpf(raw)
    assert err.value.field == "person.cpf"


def test_no_cpf_is_none() -> None:
    assert clean_cpf(None) is None
    assert clean_cpf("  ") is None
