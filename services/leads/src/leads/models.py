"""Tables of the leads database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

leads = Table(
    "leads",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("email", Text),
    Column("source", Text, nullable=False),
    Column("locale", Text),
    Column("status", Text, nullable=False),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_leads_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_leads_tenant_phone", "tenant_id", "phone"),
)
