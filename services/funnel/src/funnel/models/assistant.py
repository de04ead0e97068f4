"""Tables of the pre-qualification assistant (funnel.domain.assistant): the clinic's set-up, one process per
lead, and the history of every step with who or what took it."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from funnel.models import metadata

_ID = UUID(as_uuid=False)

assistant_settings = Table(
    "assistant_settings",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("enabled", Boolean, nullable=False, server_default=text("false")),
    #: [{"id", "title", "amount"}]: scheduling's procedure ids; regions: scheduling's branch ids.
    Column("procedures", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("regions", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    #: locale -> key -> text (the clinic's own; the built-in texts fill the rest).
    Column("messages", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("default_locale", Text, nullable=False, server_default=text("'pt-BR'")),
    Column("currency", Text, nullable=False, server_default=text("'BRL'")),
    Column("reply_minutes", Integer, nullable=False, server_default=text("60")),
    Column("handoff_minutes", Integer, nullable=False, server_default=text("120")),
    Column("updated_by", Text),
    Column("updated_at", DateTime(timezone=True)),
)

assistant_processes = Table(
    "assistant_processes",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("lead_id", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("step", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("name", Text),
    Column("cpf", Text),
    Column("procedure_id", Text),
    Column("procedure", Text),
    Column("branch_id", Text),
    Column("region", Text),
    Column("payment_id", Text),
    Column("paid", Boolean, nullable=False, server_default=text("false")),
    Column("appointment_id", Text),
    Column("due_at", DateTime(timezone=True)),
    Column("nudges", Integer, nullable=False, server_default=text("0")),
    Column("last_reply_at", DateTime(timezone=True)),
    #: The signals already handled (kind:id), so a redelivered one changes nothing.
    Column("seen", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # One assistant per lead, whatever the redeliveries.
    Index("uq_assistant_lead", "tenant_id", "lead_id", unique=True),
    Index("ix_assistant_address", "tenant_id", "channel", "address"),
    Index("ix_assistant_due", "due_at", postgresql_where=text("status = 'active' AND due_at IS NOT NULL")),
)

assistant_history = Table(
    "assistant_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", _ID, nullable=False),
    Column("process_id", _ID, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    #: assistant, patient, payments, scheduling, timer, agent:<user id>.
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("detail", Text, nullable=False, server_default=text("''")),
    Column("step", Text, nullable=False),
    Index("ix_assistant_history_process", "process_id", "id"),
)
