"""Brazilian CPF check digits with `validate-docbr` (the assistant's CPF question, funnel.domain.assistant)."""

from __future__ import annotations

from validate_docbr import CPF

_cpf = CPF()


def cpf_valid(digits: str) -> bool:
    """True for 11 digits whose check digits match (and not one digit repeated, which validate-docbr refuses)."""
    return len(digits) == 11 and digits.isdigit() and bool(_cpf.validate(digits))
