"""Tables of the telephony database (the outbox, inbox and webhook receipts come from kit, see migrations/env.py)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import UUID

metadata = MetaData()

#: A clinic's connection to a provider (its webhook secret).
accounts = Table(
    "provider_accounts",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("provider", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("api_key", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    #: The provider API's address when it is the clinic's own (Asterisk ARI) or overridden; '' = the default.
    Column("api_url", Text, nullable=False, server_default=""),
    PrimaryKeyConstraint("tenant_id", "provider"),
)

tracking_numbers = Table(
    "tracking_numbers",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("number", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("label", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ux_tracking_numbers_tenant_number", "tenant_id", "number", unique=True),
)

calls = Table(
    "calls",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_call_id", Text, nullable=False),
    Column("direction", Text, nullable=False),
    Column("caller", Text, nullable=False),
    Column("tracking_number", Text, nullable=False),
    Column("source", Text),
    Column("lead_id", UUID(as_uuid=False)),
    Column("state", Text, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    Column("ended_at", DateTime(timezone=True)),
    Column("talk_seconds", Integer, nullable=False),
    Column("duration_seconds", Integer, nullable=False),
    Column("disposition", Text),
    Column("recording_ref", Text),
    Column("last_seq", Integer, nullable=False),
    #: Every stored provider event of the call: the record is folded from them (domain.fold).
    Column("events", JSON, nullable=False),
    #: Which of call.started/answered/ended/missed were published already.
    Column("announced", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ux_calls_provider_call", "tenant_id", "provider", "provider_call_id", unique=True),
    Index("ix_calls_tenant_started", "tenant_id", "started_at"),
)

#: The leads read model (from clinicflow.leads.events): phone -> lead, for the call card.
contacts = Table(
    "contacts",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("phone", Text, nullable=False),
    Column("lead_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "phone"),
    Index("ix_contacts_lead", "tenant_id", "lead_id"),
)

#: A call's recording: pending (to fetch from the provider) -> stored (in the object store) | linked (the
#: provider's reference only) | failed; deleted by retention.
recordings = Table(
    "recordings",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("call_id", UUID(as_uuid=False), nullable=False),
    Column("provider", Text, nullable=False),
    Column("provider_ref", Text, nullable=False),
    Column("state", Text, nullable=False),
    Column("object_key", Text),
    Column("content_type", Text),
    Column("size", BigInteger),
    Column("sha256", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("stored_at", DateTime(timezone=True)),
    Column("deleted_at", DateTime(timezone=True)),
    Index("ux_recordings_call", "tenant_id", "call_id", unique=True),
    Index("ix_recordings_due", "state", "next_attempt_at"),
    Index("ix_recordings_tenant_stored", "tenant_id", "stored_at"),
)

#: Who opened which recording: a playback link minted (staff) or the recording played through it.
recording_access = Table(
    "recording_access",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("recording_id", UUID(as_uuid=False), nullable=False),
    Column("call_id", UUID(as_uuid=False), nullable=False),
    Column("action", Text, nullable=False),
    Column("user_id", Text),
    Column("link_id", Text),
    Column("client", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_recording_access_tenant_at", "tenant_id", "at"),
)

recording_retention = Table(
    "recording_retention",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("days", Integer, nullable=False),
    #: Recordings younger than this many days are kept when their person's data is erased (a clinic's rule or a
    #: law, e.g. customer-service recordings kept 90 days); 0: an erasure deletes them all.
    Column("hold_on_erasure_days", Integer, nullable=False, server_default="0"),
    Column("updated_by", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
