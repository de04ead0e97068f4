"""Phone numbers to E.164 with `phonenumbers`, the clinic's country as the default region."""

from __future__ import annotations

import phonenumbers

from leads.domain import InvalidLead


def to_e164(raw: str, region: str) -> str:
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException as exc:
        raise InvalidLead(f"{raw!r} is not a phone number: {exc}.", field="phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidLead(f"{raw!r} is not a valid phone number for region {region}.", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
