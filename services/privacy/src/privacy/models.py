"""Tables of the privacy database (the outbox and inbox come from kit, see migrations/env.py)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, MetaData, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

#: Each clinic's country, data residency region and days to answer a request.
clinics = Table(
    "clinics",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("country", Text, nullable=False),
    Column("region", Text, nullable=False),
    Column("response_days", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: The people leads' events describe (lead id -> patient id, phones, e-mail): requests name a known person.
people = Table(
    "people",
    metadata,
    Column("lead_id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("patient_id", UUID(as_uuid=False)),
    Column("phones", ARRAY(Text), nullable=False, server_default="{}"),
    Column("email", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_people_tenant_patient", "tenant_id", "patient_id"),
    Index("ix_people_phones", "phones", postgresql_using="gin"),
)

#: The consent ledger: append-only; a person's consent is the latest entry per purpose and channel.
consents = Table(
    "consents",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("person_key", Text, nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("phone", Text),
    Column("email", Text),
    Column("purpose", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("source", Text, nullable=False),
    Column("text", Text),
    Column("recorded_by", UUID(as_uuid=False)),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_consents_person", "tenant_id", "person_key", "at"),
    Index("ix_consents_lead", "tenant_id", "lead_id"),
)

subject_requests = Table(
    "subject_requests",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("kind", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("subject", JSONB, nullable=False),
    Column("details", Text),
    Column("corrections", JSONB, nullable=False, server_default="{}"),
    Column("requested_by", UUID(as_uuid=False), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("archive_key", Text),
    Column("archive_sha256", Text),
    Column("resolution", Text),
    Index("ix_requests_tenant_requested", "tenant_id", "requested_at"),
)

#: Each answering service's progress on a request.
request_parts = Table(
    "request_parts",
    metadata,
    Column("request_id", UUID(as_uuid=False), nullable=False),
    Column("service", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("object_key", Text),
    Column("counts", JSONB, nullable=False, server_default="{}"),
    Column("retained", JSONB, nullable=False, server_default="{}"),
    Column("at", DateTime(timezone=True)),
    PrimaryKeyConstraint("request_id", "service"),
)

#: Export download links: signed (the token), expiring and used once (used_at).
export_links = Table(
    "export_links",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("request_id", UUID(as_uuid=False), nullable=False),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("used_at", DateTime(timezone=True)),
)

#: Who opened which personal record, when and why.
read_audit = Table(
    "read_audit",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("actor_id", UUID(as_uuid=False), nullable=False),
    Column("record_kind", Text, nullable=False),
    Column("record_id", Text, nullable=False),
    Column("purpose", Text),
    Column("path", Text, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_read_audit_tenant_at", "tenant_id", "at"),
    Index("ix_read_audit_record", "tenant_id", "record_kind", "record_id"),
)

retention_rules = Table(
    "retention_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("kind", Text, nullable=False),
    Column("days", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind"),
)

#: What each retention round removed, per clinic and kind.
retention_runs = Table(
    "retention_runs",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("kind", Text, nullable=False),
    Column("removed", Integer, nullable=False),
    Column("cutoff", DateTime(timezone=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_retention_runs_tenant_at", "tenant_id", "at"),
)

#: The key store of crypto-shredding (kit.personal): one data key per person (the ledger's person keys), sealed
#: at rest with the installation's SEALING_KEYS; shredding clears `wrapped_key` and sets `shredded_at`.
person_keys = Table(
    "person_keys",
    metadata,
    Column("key_id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("person_key", Text, nullable=False),
    Column("wrapped_key", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("shredded_at", DateTime(timezone=True)),
    # One live key per person; a person erased and heard of again gets a new one (the old events stay shut).
    Index(
        "ux_person_keys_live",
        "tenant_id",
        "person_key",
        unique=True,
        postgresql_where=text("shredded_at IS NULL"),
    ),
)
