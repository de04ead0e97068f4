"""Brazilian CPF with `validate-docbr`: stored as its 11 digits."""

from __future__ import annotations

import re

from validate_docbr import CPF

from leads.domain.errors import InvalidLead

_cpf = CPF()


def clean_cpf(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    digits = re.sub(r"\D", "", raw)
    if len(digits) != 11 or not _cpf.validate(digits):
        raise InvalidLead(f"{raw!r} is not a valid CPF (check digits do not match).", field="cpf")
    return digits
