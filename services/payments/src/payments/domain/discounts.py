"""Procedure prices and discount rules (percentage or fixed, valid between two dates)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from payments.domain.errors import InvalidInput
from payments.domain.money import CENT

PERCENTAGE, FIXED = "percentage", "fixed"
KINDS = (PERCENTAGE, FIXED)


@dataclass(frozen=True)
class ProcedurePrice:
    tenant_id: str
    procedure_id: str
    name: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class DiscountRule:
    id: str
    tenant_id: str
    name: str
    kind: str
    #: Percent (0 < v <= 100) for percentage rules, money for fixed ones.
    value: Decimal
    #: None: every procedure (and charges without one).
    procedure_id: str | None
    valid_from: date | None
    valid_until: date | None
    active: bool = True

    def applies(self, procedure_id: str | None, today: date) -> bool:
        if not self.active:
            return False
        if self.procedure_id is not None and self.procedure_id != procedure_id:
            return False
        if self.valid_from is not None and today < self.valid_from:
            return False
        return not (self.valid_until is not None and today > self.valid_until)

    def reduction(self, amount: Decimal) -> Decimal:
        """What the rule takes off `amount`, never more than the amount itself."""
        if self.kind == PERCENTAGE:
            off = (amount * self.value / 100).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            off = self.value
        return min(off, amount)


def check_rule(kind: str, value: Decimal, valid_from: date | None, valid_until: date | None) -> None:
    if kind not in KINDS:
        raise InvalidInput(f"Unknown discount kind {kind!r}; use {' or '.join(KINDS)}.", field="kind")
    if value <= 0:
        raise InvalidInput("A discount must be positive.", field="value")
    if kind == PERCENTAGE and value > 100:
        raise InvalidInput("A percentage discount is at most 100.", field="value")
    if valid_from and valid_until and valid_until < valid_from:
        raise InvalidInput("valid_until is before valid_from.", field="valid_until")


@dataclass(frozen=True)
class Priced:
    before: Decimal
    after: Decimal
    discount: DiscountRule | None


def apply_best(amount: Decimal, rules: list[DiscountRule], procedure_id: str | None, today: date) -> Priced:
    """The single applicable rule that saves the patient the most (rules never stack); ties: the first."""
    best: DiscountRule | None = None
    best_off = Decimal(0)
    for rule in rules:
        if rule.applies(procedure_id, today):
            off = rule.reduction(amount)
            if off > best_off:
                best, best_off = rule, off
    after = max(amount - best_off, Decimal(0))
    return Priced(before=amount, after=after.quantize(CENT), discount=best)
