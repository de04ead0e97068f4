"""Events published by the leads context on `clinicflow.leads.events`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.envelope import Event
from contracts.topics import LEADS


class LeadCreatedV1(Event, frozen=True, kw_only=True):
    """A new lead (prospect) was registered by staff, a form, a call or a message."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.created.v1"
    TOPIC: ClassVar[str] = LEADS.name
    AGGREGATE: ClassVar[str] = "lead_id"

    lead_id: str
    name: str
    phone: str
    email: str | None = None
    source: str
    #: BCP 47 tag of the language the person prefers (pt-BR, es, ru, en); None: clinic default.
    locale: str | None = None
    created_at: datetime
