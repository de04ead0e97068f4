"""The payer's Brazilian CPF: some providers (Asaas) will not create a charge without it, and Mercado Pago
shows it on the checkout. Kept as its 11 digits; the check digits with `validate-docbr`."""

from __future__ import annotations

import re

from validate_docbr import CPF

from payments.domain.errors import InvalidInput

_cpf = CPF()


def clean_cpf(raw: str | None, *, field: str = "person.cpf") -> str | None:
    """`"529.982.247-25"` -> `"52998224725"`; empty -> None; wrong check digits -> a 422 naming `field`."""
    if raw is None or not raw.strip():
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) != 11 or not _cpf.validate(digits):
        raise InvalidInput(f"{raw!r} is not a valid CPF (its check digits do not match).", field=field)
    return digits
