"""HTTP request and response bodies (msgspec; never ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from leads.domain import Lead


class CreateLead(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["Maria Souza"])]
    phone: Annotated[str, msgspec.Meta(min_length=3, max_length=40, examples=["(11) 98765-4321"])]
    source: Annotated[str, msgspec.Meta(examples=["instagram"])]
    email: str | None = None
    locale: Annotated[str | None, msgspec.Meta(examples=["pt-BR"])] = None


class LeadOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    phone: str
    email: str | None
    source: str
    locale: str | None
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        return cls(
            id=lead.id,
            name=lead.name,
            phone=lead.phone,
            email=lead.email,
            source=lead.source,
            locale=lead.locale,
            status=lead.status,
            created_by=lead.created_by,
            created_at=lead.created_at,
            updated_at=lead.updated_at,
        )


class LeadPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[LeadOut]
    total: int
    limit: int
    offset: int
