"""Merging a duplicate lead into the one that stays (the survivor): what is refused, what the survivor gains.

Nothing is lost: the other lead's requests, activities, status history and audit entries move to the
survivor (the repository does that), the other lead stays readable with `merged_into` set, and the survivor
only fills what it lacks — its own values always win.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from leads.domain.errors import Conflict, InvalidLead
from leads.domain.leads import MAX_NOTES, Lead
from leads.domain.matching import phone_variants

#: Filled on the survivor from the other lead when the survivor has none.
FILLED = ("email", "cpf", "birth_date", "city", "patient_id")
MAX_PHONES = 10


def check_merge(survivor: Lead, other: Lead) -> None:
    if survivor.id == other.id:
        raise InvalidLead("A lead cannot be merged into itself.", field="other_id")
    if survivor.merged_into is not None:
        raise Conflict(
            f"This lead was itself merged into {survivor.merged_into}; merge into that one.", field="lead_id"
        )
    if other.merged_into is not None:
        raise Conflict(f"The other lead was already merged into {other.merged_into}.", field="other_id")
    if survivor.cpf and other.cpf and survivor.cpf != other.cpf:
        raise Conflict("The two leads have different CPFs: they are two people, not a duplicate.", field="cpf")
    if survivor.patient_id and other.patient_id and survivor.patient_id != other.patient_id:
        raise Conflict(
            "The two leads are linked to different patients: they are two people, not a duplicate.",
            field="patient_id",
        )


def merged_phones(survivor: tuple[str, ...], other: tuple[str, ...]) -> tuple[str, ...]:
    """The survivor's phones (its primary first), then the other's that are not already there in any
    ninth-digit form; at most MAX_PHONES."""
    phones = list(survivor)
    known = {v for p in phones for v in phone_variants(p)}
    for phone in other:
        if not known & set(phone_variants(phone)):
            phones.append(phone)
            known.update(phone_variants(phone))
    return tuple(phones[:MAX_PHONES])


def merged_notes(survivor: Lead, other: Lead) -> str | None:
    if not other.notes:
        return survivor.notes
    if not survivor.notes:
        return other.notes[:MAX_NOTES]
    if other.notes in survivor.notes:
        return survivor.notes
    combined = f"{survivor.notes}\n\n--- merged from {other.name} ---\n{other.notes}"
    return combined[:MAX_NOTES]


def merged_consents(survivor: dict[str, bool], other: dict[str, bool]) -> dict[str, bool]:
    """A channel is consented to when either lead consented to it."""
    return {k: bool(survivor.get(k)) or bool(other.get(k)) for k in sorted({*survivor, *other})}


def merge(survivor: Lead, other: Lead, *, actor: str, now: datetime) -> tuple[Lead, dict[str, tuple[Any, Any]]]:
    """The survivor after taking `other` in, and what changed on it (field -> (before, after))."""
    check_merge(survivor, other)
    values: dict[str, Any] = {}
    phones = merged_phones(survivor.phones, other.phones)
    if phones != survivor.phones:
        values["phones"] = phones
    for name in FILLED:
        if getattr(survivor, name) is None and getattr(other, name) is not None:
            values[name] = getattr(other, name)
    notes = merged_notes(survivor, other)
    if notes != survivor.notes:
        values["notes"] = notes
    consents = merged_consents(survivor.consents, other.consents)
    if consents != survivor.consents:
        values["consents"] = consents
    diff = {k: (getattr(survivor, k), v) for k, v in values.items()}
    if not diff:
        return survivor, {}
    return replace(survivor, **values, updated_at=now, updated_by=actor), diff
