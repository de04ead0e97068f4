"""Tables of the privacy database (the outbox and inbox come from kit, see migrations/env.py)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, Table, Text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

items = Table(
    "items",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("title", Text, nullable=False),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_items_tenant_created", "tenant_id", "created_at"),
)
