"""Money as Decimal with two places, never float; currencies the clinic may charge in."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from payments.domain.errors import InvalidInput

CENT = Decimal("0.01")
#: ISO 4217 currencies with two minor units that the supported providers accept.
CURRENCIES = frozenset({"BRL", "USD", "EUR", "MXN", "ARS", "PEN", "RUB"})
DEFAULT_CURRENCY = "BRL"
#: A charge above this is a typo, not a procedure price.
MAX_AMOUNT = Decimal("1000000.00")


def parse_amount(value: str | int | Decimal, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A positive amount with at most two decimals ("350", "350.5", "350.50"); anything else is refused."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise InvalidInput(f"{value!r} is not an amount; write it like 350.00.", field=field) from exc
    if not amount.is_finite():
        raise InvalidInput("The amount must be a finite number.", field=field)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and amount != amount.quantize(CENT):
        raise InvalidInput("An amount has at most two decimal places.", field=field)
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidInput("The amount must be positive.", field=field)
    if amount > MAX_AMOUNT:
        raise InvalidInput(f"The amount may not exceed {MAX_AMOUNT}.", field=field)
    return amount.quantize(CENT)


def check_currency(currency: str, *, field: str = "currency") -> str:
    code = currency.strip().upper()
    if code not in CURRENCIES:
        raise InvalidInput(f"Unknown currency {currency!r}; use one of {', '.join(sorted(CURRENCIES))}.", field=field)
    return code


def fmt(amount: Decimal) -> str:
    """The wire form of events and bodies: "350.00"."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def to_cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal(1)))


def from_cents(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(CENT)
