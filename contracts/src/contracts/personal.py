"""Which event fields carry a person's personal data (docs/privacy.md, "Encryption of personal fields").

A field typed `Annotated[str, PERSONAL]` (or `CONTACT` for a phone, e-mail or channel address) travels
encrypted with the person's key when the producer has a key store (kit.personal): on the wire it is a string
`enc:v1:<key id>:<nonce and ciphertext>`, so its type stays `str` and old and golden payloads keep decoding.
Ids, amounts, statuses, sources and times are never marked: every count and total is computed without keys
and stays right after a person's key is shredded.

Whose key: the event's `lead_id`, else `patient_id`, else those of its `person`, else the phone in the field
`PERSON_PHONE` names (a call or message from someone no lead yet). An event that names nobody stays clear.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cache
from typing import Any

import msgspec


@dataclass(frozen=True, slots=True)
class Personal:
    """Marks a personal field. `erased` is what a consumer reads once the person's key is shredded."""

    erased: str = "[erased]"


#: Names, free text (notes, comments, reasons, what the person wrote), CPF.
PERSONAL = Personal()
#: Phones, e-mails, channel addresses: read as "" once erased, so nobody is written to at "[erased]".
CONTACT = Personal(erased="")


@cache
def marked_fields(struct: type[msgspec.Struct]) -> dict[str, tuple[Personal | None, Any]]:
    """Each field that is personal or holds a struct with personal fields: (its marker, or None for a nested
    struct; the field's type without the marker)."""
    hints = typing.get_type_hints(struct, include_extras=True)
    found: dict[str, tuple[Personal | None, Any]] = {}
    for name in struct.__struct_fields__:
        hint = hints[name]
        if typing.get_origin(hint) is typing.Annotated:
            marker = next((m for m in hint.__metadata__ if isinstance(m, Personal)), None)
            hint = hint.__origin__
            if marker is not None:
                found[name] = (marker, hint)
                continue
        nested = nested_struct(hint)
        if nested is not None and marked_fields(nested):
            found[name] = (None, nested)
    return found


def alternatives(hint: Any) -> tuple[Any, ...]:
    """The members of `X | Y` (and Optional), else the type itself."""
    return typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, _UNION_TYPE) else (hint,)


def nested_struct(hint: Any) -> type[msgspec.Struct] | None:
    return next((t for t in alternatives(hint) if isinstance(t, type) and issubclass(t, msgspec.Struct)), None)


_UNION_TYPE = type(int | None)
