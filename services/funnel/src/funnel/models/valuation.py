"""Tables of the valuation → quote process (docs/quotes.md); registered on funnel's metadata.

The process row holds its state and its timers (`reminder_due_at`, `answer_due_at`); the worker's rounds claim
due rows with FOR UPDATE SKIP LOCKED, so a timer fires once whichever worker sees it, and a restart loses nothing.
Photos are objects in the object store (kit.objects); the rows here say which slot each one fills.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, Numeric, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB, UUID

from funnel.models import metadata

_ID = UUID(as_uuid=False)

valuations = Table(
    "valuations",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("lead_id", Text),
    Column("name", Text),
    Column("phone", Text),
    Column("email", Text),
    Column("locale", Text),
    #: The prospect's sales agent.
    Column("agent_id", _ID),
    #: funnel.domain.valuation.STATES.
    Column("state", Text, nullable=False),
    Column("doctor_id", _ID),
    #: The quote sent last (the one the prospect answers) and the prospect's answer to it.
    Column("quote_id", _ID),
    Column("answer", Text),
    Column("reminders", Integer, nullable=False, server_default=text("0")),
    Column("reminder_due_at", DateTime(timezone=True)),
    Column("waiting_for", Text),
    Column("waiting_since", DateTime(timezone=True)),
    Column("answer_due_at", DateTime(timezone=True)),
    Column("summary", Text),
    Column("grafts", Integer),
    Column("notes", Text),
    Column("recorded_at", DateTime(timezone=True)),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    #: The lead's request (leads' request.created) the process was opened for by itself; one process per request.
    Column("request_id", Text),
    Index("ix_valuations_state", "tenant_id", "state", "created_at"),
    Index(
        "uq_valuations_request", "tenant_id", "request_id", unique=True, postgresql_where=text("request_id IS NOT NULL")
    ),
    Index("ix_valuations_doctor", "tenant_id", "doctor_id", "state"),
    Index("ix_valuations_phone", "tenant_id", "phone"),
    Index("ix_valuations_lead", "tenant_id", "lead_id"),
    Index("ix_valuations_reminder_due", "reminder_due_at", postgresql_where=text("reminder_due_at IS NOT NULL")),
    Index("ix_valuations_answer_due", "answer_due_at", postgresql_where=text("answer_due_at IS NOT NULL")),
)

valuation_photos = Table(
    "valuation_photos",
    metadata,
    Column("valuation_id", _ID, ForeignKey("valuations.id", ondelete="CASCADE"), primary_key=True),
    Column("slot", Text, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("object_key", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", Text, nullable=False),
    #: upload, whatsapp.
    Column("source", Text, nullable=False),
    #: The inbound message a WhatsApp photo came in (a redelivered message never fills a second slot).
    Column("message_id", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Index("uq_valuation_photos_message", "tenant_id", "message_id", unique=True),
)

valuation_history = Table(
    "valuation_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", _ID, nullable=False),
    Column("valuation_id", _ID, ForeignKey("valuations.id", ondelete="CASCADE"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("kind", Text, nullable=False),
    #: A staff user id, "prospect", or "funnel" (a rule or a timer).
    Column("by", Text, nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_valuation_history", "valuation_id", "id"),
)

#: The clinics' staff as the gateway's directory events tell them (who is a diagnostic doctor).
valuation_staff = Table(
    "valuation_staff",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("user_id", _ID, primary_key=True),
    Column("full_name", Text, nullable=False),
    Column("roles", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    #: When the member last got or finished a valuation (ties go to the one idle longest).
    Column("last_active_at", DateTime(timezone=True)),
)

#: When each agent's next digest of incomplete profiles is due.
valuation_digests = Table(
    "valuation_digests",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("agent_id", _ID, primary_key=True),
    Column("next_at", DateTime(timezone=True), nullable=False),
)

quote_costs = Table(
    "quote_costs",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("name", Text, nullable=False),
    Column("price", Numeric(14, 2), nullable=False),
    Column("currency", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_quote_costs", "tenant_id", "name"),
)

quote_discounts = Table(
    "quote_discounts",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("name", Text, nullable=False),
    Column("percent", Numeric(5, 2), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_quote_discounts", "tenant_id", "name"),
)

quotes = Table(
    "quotes",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("valuation_id", _ID, ForeignKey("valuations.id", ondelete="CASCADE"), nullable=False),
    #: draft (saved to send later), sent, superseded (a newer quote was sent).
    Column("status", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("subtotal", Numeric(14, 2), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("items", JSONB, nullable=False),
    Column("note", Text),
    Column("created_by", _ID, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_by", _ID),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_quotes_valuation", "valuation_id", "created_at"),
    Index("uq_quotes_draft", "valuation_id", unique=True, postgresql_where=text("status = 'draft'")),
)

#: Which of the clinic's lead requests open a valuation by themselves (docs/quotes.md, "Opened by a request").
valuation_settings = Table(
    "valuation_settings",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    #: leads' treatment slugs (the clinic's "treatment" list) that need a valuation, e.g. hair_transplant.
    Column("treatments", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    #: The sales agent of a prospect whose lead has no owner (None: the process waits without one).
    Column("agent_id", _ID),
    Column("updated_by", _ID, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: The leads' contact details as leads' events tell them: a request opens the process with them.
valuation_leads = Table(
    "valuation_leads",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("lead_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("locale", Text),
    Column("owner_id", _ID),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
