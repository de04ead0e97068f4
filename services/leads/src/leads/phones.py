"""Phone numbers to E.164 with `phonenumbers`, the clinic's country as the default region.

One rule for every entry point (staff, patients, match, forms, Tilda): an old 8-digit Brazilian mobile
('(81) 8182-0370') is no valid number any more, but people still write it and records still carry it; it is
accepted when adding the ninth digit makes it valid, and stored in that form.
"""

from __future__ import annotations

import phonenumbers

from leads.domain import InvalidLead
from leads.domain.matching import with_ninth_digit


def _parse(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region.upper())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def to_e164(raw: str, region: str, *, field: str = "phone") -> str:
    e164 = _parse(raw, region)
    if e164 is None:
        restored = with_ninth_digit(raw, region)
        e164 = _parse(restored, region) if restored else None
    if e164 is None:
        try:
            phonenumbers.parse(raw, region.upper())
        except phonenumbers.NumberParseException as exc:
            raise InvalidLead(f"{raw!r} is not a phone number: {exc}.", field=field) from exc
        raise InvalidLead(f"{raw!r} is not a valid phone number for region {region}.", field=field)
    return e164
