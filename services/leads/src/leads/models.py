"""Tables of the leads database. Every row carries tenant_id; every query filters by it."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData()

_VISIBLE = text("visible")

leads = Table(
    "leads",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    #: Lower-case, accent-free name for trigram search (leads.domain.search_key).
    Column("name_search", Text, nullable=False, server_default=""),
    #: The words of name_search: whole-word search through a GIN index, whatever the order.
    Column("name_words", ARRAY(Text), nullable=False, server_default="{}"),
    Column("phone", Text, nullable=False),  # the primary phone, phones[1]
    Column("phones", ARRAY(Text), nullable=False, server_default="{}"),
    #: Telegram / Instagram addresses (leads.domain.leads.Lead.contacts); a lead with one may have no phone ("").
    Column("contacts", JSONB, nullable=False, server_default="{}"),
    Column("email", Text),
    Column("cpf", Text),
    Column("birth_date", Date),
    Column("city", Text),
    Column("source", Text, nullable=False),
    Column("locale", Text),
    Column("status", Text, nullable=False),
    Column("urgency", Text, nullable=False, server_default="normal"),
    Column("owner_id", UUID(as_uuid=False)),
    Column("next_follow_up", Date),
    Column("notes", Text),
    Column("consents", JSONB, nullable=False, server_default="{}"),
    Column("attribution", JSONB, nullable=False, server_default="{}"),
    Column("channel", Text, nullable=False, server_default="manual"),
    Column("patient_id", UUID(as_uuid=False)),
    Column("merged_into", UUID(as_uuid=False)),
    Column("deleted_at", DateTime(timezone=True)),
    #: False once deleted or merged away: lists, search and metrics see visible leads only.
    Column("visible", Boolean, nullable=False, server_default="true"),
    #: The clinic-local day the lead was created: its bucket in lead_stats.
    Column("stats_day", Date),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", UUID(as_uuid=False)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # The next appointment as scheduling's events last described it (no FK: another service's id).
    Column("next_appointment_id", Text),
    Column("next_appointment_at", DateTime(timezone=True)),
    Column("next_appointment_procedure", Text),
    Column("next_appointment_branch", Text),
    Index("ix_leads_tenant_created", "tenant_id", "created_at", "id"),
    Index("ix_leads_tenant_phone", "tenant_id", "phone"),
    Index("ix_leads_phones", "phones", postgresql_using="gin"),
    Index("ix_leads_contacts", "contacts", postgresql_using="gin", postgresql_ops={"contacts": "jsonb_path_ops"}),
    Index("ix_leads_tenant_email", "tenant_id", "email", postgresql_where=text("email IS NOT NULL")),
    Index("ix_leads_tenant_cpf", "tenant_id", "cpf", postgresql_where=text("cpf IS NOT NULL")),
    Index("ix_leads_patient", "patient_id", postgresql_where=text("patient_id IS NOT NULL")),
    Index("ix_leads_tenant_status_created", "tenant_id", "status", "created_at", postgresql_where=_VISIBLE),
    Index("ix_leads_tenant_owner_created", "tenant_id", "owner_id", "created_at", postgresql_where=_VISIBLE),
    Index("ix_leads_tenant_source_created", "tenant_id", "source", "created_at", postgresql_where=_VISIBLE),
    Index("ix_leads_tenant_follow_up", "tenant_id", "next_follow_up", postgresql_where=_VISIBLE),
    #: Overdue follow-ups of leads still being worked: counted from the index alone.
    Index(
        "ix_leads_tenant_open_follow_up",
        "tenant_id",
        "next_follow_up",
        postgresql_where=text("visible AND status NOT IN ('NOT_INTERESTED', 'VISIT_COMPLETED')"),
    ),
    Index("ix_leads_tenant_urgency_created", "tenant_id", "urgency", "created_at", postgresql_where=_VISIBLE),
    #: Lists sorted by name or by last change walk these in order and stop at the page's end.
    Index("ix_leads_tenant_name", "tenant_id", "name_search", "id", postgresql_where=_VISIBLE),
    Index("ix_leads_tenant_updated", "tenant_id", "updated_at", "id", postgresql_where=_VISIBLE),
)
#: Names sorting next to a key read backwards: names that differ only towards their start (matching).
Index(
    "ix_leads_tenant_name_reversed",
    leads.c.tenant_id,
    func.reverse(leads.c.name_search),
    leads.c.id,
    postgresql_where=_VISIBLE,
)
#: Newest first with the name at hand: a common name or fragment fills its page from the index alone.
Index(
    "ix_leads_tenant_created_names",
    leads.c.tenant_id,
    leads.c.created_at,
    leads.c.id,
    postgresql_include=["name_search"],
    postgresql_where=_VISIBLE,
)
#: Whole words of the name, any order (search and matching).
Index("ix_leads_name_words", leads.c.name_words, postgresql_using="gin")
#: Fragments of a name (someone still typing): `name_search ILIKE '%…%'`.
Index("ix_leads_name_gin", leads.c.name_search, postgresql_using="gin", postgresql_ops={"name_search": "gin_trgm_ops"})

lead_status_changes = Table(
    "lead_status_changes",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False), ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("comment", Text),
    Column("changed_by", UUID(as_uuid=False), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_status_changes_lead", "lead_id", "changed_at"),
)

lead_requests = Table(
    "lead_requests",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False), ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("treatment", Text),
    Column("group", Text),
    Column("channel", Text),
    Column("reason", Text),
    Column("handled", Boolean, nullable=False, server_default="false"),
    Column("status", Text),
    #: How it arrived: manual, web_form, tilda, call, message.
    Column("intake", Text, nullable=False, server_default="manual"),
    Column("created_by", UUID(as_uuid=False)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_requests_lead", "lead_id", "created_at"),
    Index("ix_requests_tenant_created", "tenant_id", "created_at"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False), ForeignKey("leads.id", ondelete="CASCADE"), nullable=False),
    Column("type", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("notes", Text),
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("responsible_id", UUID(as_uuid=False), nullable=False),
    Column("state", Text, nullable=False),
    Column("result", Text),
    Column("private", Boolean, nullable=False, server_default="false"),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_by", UUID(as_uuid=False)),
    Column("completed_at", DateTime(timezone=True)),
    Index("ix_activities_tenant_responsible_state", "tenant_id", "responsible_id", "state", "scheduled_at"),
    Index("ix_activities_tenant_scheduled", "tenant_id", "scheduled_at"),
    Index("ix_activities_lead", "lead_id", "scheduled_at"),
)

list_items = Table(
    "list_items",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("kind", Text, nullable=False),
    Column("slug", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("color", Text),
    Column("position", Integer, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "kind", "slug", name="uq_list_items_slug"),
    Index("ix_list_items_kind", "tenant_id", "kind", "position"),
)

#: The clinic's colour, order and own name of each lead status (absent: the defaults, leads.domain.statuses).
lead_statuses = Table(
    "lead_statuses",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("status", Text, primary_key=True),
    Column("label", Text),
    Column("color", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: The clinic's retention rules, copied from privacy's `retention.set` (docs/privacy.md, "How long"); the worker's
#: retention timer applies the `lost_leads` one.
retention_rules = Table(
    "retention_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("days", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

patients = Table(
    "patients",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("name_search", Text, nullable=False, server_default=""),
    Column("phones", ARRAY(Text), nullable=False, server_default="{}"),
    Column("email", Text),
    Column("cpf", Text),
    Column("birth_date", Date),
    Column("city", Text),
    Column("locale", Text),
    Column("lead_id", UUID(as_uuid=False)),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_patients_phones", "phones", postgresql_using="gin"),
    Index("ix_patients_tenant_email", "tenant_id", "email", postgresql_where=text("email IS NOT NULL")),
    #: One patient record per CPF in a clinic.
    Index("ux_patients_tenant_cpf", "tenant_id", "cpf", unique=True, postgresql_where=text("cpf IS NOT NULL")),
    Index(
        "ix_patients_name_trgm",
        "tenant_id",
        "name_search",
        postgresql_using="gist",
        postgresql_ops={"name_search": "gist_trgm_ops"},
    ),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", UUID(as_uuid=False), nullable=False),
    #: The lead the entry belongs to, so a lead's trail includes its requests and activities.
    Column("lead_id", UUID(as_uuid=False)),
    Column("action", Text, nullable=False),
    Column("actor_id", UUID(as_uuid=False)),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("changes", JSONB, nullable=False, server_default="{}"),
    Index("ix_audit_tenant_lead", "tenant_id", "lead_id", "id"),
    Index("ix_audit_tenant_entity", "tenant_id", "entity", "entity_id"),
)

forms = Table(
    "forms",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    #: Public, in the form's URL; unguessable.
    Column("key", Text, nullable=False, unique=True),
    Column("kind", Text, nullable=False),  # web | tilda
    Column("name", Text, nullable=False),
    #: sha256 of the secret a Tilda webhook must present; the secret itself is shown once.
    Column("secret_hash", Text),
    Column("source", Text, nullable=False),
    Column("treatment", Text),
    #: The clinic's country (phones) and time zone (statistics day), copied from the creator's token.
    Column("country", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_forms_tenant", "tenant_id"),
)

intake_receipts = Table(
    "intake_receipts",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("channel", Text, nullable=False),
    #: The provider's id for the submission (Tilda's tranid); duplicates are answered and dropped.
    Column("external_id", Text, nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("request_id", UUID(as_uuid=False)),
    Column("payload", JSONB, nullable=False, server_default="{}"),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "channel", "external_id"),
)

#: Leads created per clinic day, counted per dimension (status, source, urgency) and value. One small row per
#: day and value keeps metrics over years at a few thousand rows, whatever the number of leads.
lead_stats = Table(
    "lead_stats",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("day", Date, nullable=False),
    Column("dimension", Text, nullable=False),
    Column("value", Text, nullable=False),
    Column("n", Integer, nullable=False),
    PrimaryKeyConstraint("tenant_id", "day", "dimension", "value"),
)

settings = Table(
    "settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    #: An intake whose phone or e-mail matches an open lead seen within this many days adds a request to it.
    Column("dedupe_window_days", Integer, nullable=False, server_default="30"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: The clinic's staff directory as the gateway announces it (clinicflow.identity.events, latest per member):
#: owners and responsible people must be active members of the lead's clinic.
staff = Table(
    "staff",
    metadata,
    Column("user_id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("full_name", Text, nullable=False),
    Column("email", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False, server_default="{}"),
    Column("active", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Index("ix_staff_tenant", "tenant_id", "full_name"),
)
