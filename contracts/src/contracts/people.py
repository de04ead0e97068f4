"""Who an event is about, as the producer knew them when it happened.

Patient-facing events (payment links, bookings, reminders) carry the person's contact data, so that
notifications can address them without calling another service: each context keeps its own copy.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from contracts.personal import CONTACT, PERSONAL


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """A prospect (lead) and/or a registered patient; at least one of the two ids is set."""

    lead_id: str | None = None
    patient_id: str | None = None
    name: Annotated[str | None, PERSONAL] = None
    #: E.164, e.g. +5511987654321.
    phone: Annotated[str | None, CONTACT] = None
    email: Annotated[str | None, CONTACT] = None
    #: BCP 47 tag (pt-BR, es, ru, en); None: the clinic's default.
    locale: str | None = None
