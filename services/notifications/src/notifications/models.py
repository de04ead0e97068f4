"""Tables of the notifications database."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

messages = Table(
    "messages",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("channel", Text, nullable=False),
    Column("to", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("provider", Text),
    Column("provider_message_id", Text),
    Column("correlation_id", Text),
    Column("causation_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_messages_tenant_lead", "tenant_id", "lead_id", "created_at"),
    Index("ix_messages_due", "next_attempt_at", postgresql_where=text("status IN ('queued', 'sending')")),
)

templates = Table(
    "templates",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "name", "locale", "channel"),
)
