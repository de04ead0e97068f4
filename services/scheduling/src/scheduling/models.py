"""Tables of the scheduling database.

`appointments.during` carries the exclusion constraint that makes double booking impossible: no two rows
of one professional whose status occupies time (holds included) may overlap, whatever the API does.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

ACTIVE_STATUSES_SQL = "status IN ('held', 'booked', 'confirmed', 'arrived', 'in_service')"

clinic_policies = Table(
    "clinic_policies",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("country", Text, nullable=False),
    Column("reminder_offsets", JSONB, nullable=False),
    Column("refund_cutoff_hours", Integer, nullable=False),
    Column("hold_minutes", Integer, nullable=False),
    Column("slot_step_minutes", Integer, nullable=False),
    Column("min_lead_minutes", Integer, nullable=False),
    Column("anamnesis_questionnaire_id", UUID(as_uuid=False)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

branches = Table(
    "branches",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("address", Text),
    Column("timezone", Text, nullable=False),
    Column("open_on_holidays", Boolean, nullable=False),
    Column("subdivision", Text),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_branches_tenant", "tenant_id", "name"),
)

professionals = Table(
    "professionals",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("specialties", JSONB, nullable=False),
    Column("branch_ids", JSONB, nullable=False),
    #: [{"weekday": 0, "start": "09:00", "end": "18:00", "branch_id": "..."}]
    Column("hours", JSONB, nullable=False),
    Column("breaks", JSONB, nullable=False),
    Column("days_off", JSONB, nullable=False),
    Column("user_id", UUID(as_uuid=False)),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_professionals_tenant", "tenant_id", "name"),
)

procedures = Table(
    "procedures",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("specialty", Text),
    Column("price_reference", Text),
    Column("currency", Text, nullable=False),
    Column("prepayment_required", Boolean, nullable=False),
    Column("branch_ids", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_procedures_tenant", "tenant_id", "name"),
)

appointments = Table(
    "appointments",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("branch_id", UUID(as_uuid=False), nullable=False),
    Column("professional_id", UUID(as_uuid=False), nullable=False),
    Column("procedure_id", UUID(as_uuid=False), nullable=False),
    Column("starts_at", DateTime(timezone=True), nullable=False),
    Column("ends_at", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False),
    Column("source", Text, nullable=False),
    #: contracts.people.Person as JSON: lead_id, patient_id, name, phone, email, locale.
    Column("person", JSONB, nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("payment_id", Text),
    Column("hold_expires_at", DateTime(timezone=True)),
    Column("return_of", UUID(as_uuid=False)),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("confirmed_via", Text),
    Column("arrived_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
    Column("completed_at", DateTime(timezone=True)),
    Column("return_needed", Boolean, nullable=False),
    Column("return_in_days", Integer),
    Column("procedures_done", JSONB, nullable=False),
    Column("return_booked_id", UUID(as_uuid=False)),
    Column("cancel_reason", Text),
    Column("booked_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_appointments_branch_time", "tenant_id", "branch_id", "starts_at"),
    Index("ix_appointments_professional_time", "tenant_id", "professional_id", "starts_at"),
    Index("ix_appointments_lead", "tenant_id", "lead_id"),
    Index("ix_appointments_patient", "tenant_id", "patient_id"),
    Index("ix_appointments_holds", "hold_expires_at", postgresql_where=text("status = 'held'")),
    Index(
        "ix_appointments_returns",
        "tenant_id",
        "completed_at",
        postgresql_where=text("return_needed AND return_booked_id IS NULL"),
    ),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("appointment_id", UUID(as_uuid=False), nullable=False),
    Column("offset_minutes", Integer, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    #: pending, sent
    Column("status", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_reminders_due", "due_at", postgresql_where=text("status = 'pending'")),
    Index("ix_reminders_appointment", "appointment_id"),
)

#: Confirmed prepayments (payment.confirmed) per person and procedure; `used_by` is the appointment it paid.
entitlements = Table(
    "entitlements",
    metadata,
    Column("payment_id", Text, nullable=False),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("procedure_id", UUID(as_uuid=False)),
    Column("appointment_id", UUID(as_uuid=False)),
    Column("amount", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("paid_at", DateTime(timezone=True), nullable=False),
    Column("used_by", UUID(as_uuid=False)),
    Column("refunded", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "payment_id"),
    Index("ix_entitlements_lead", "tenant_id", "lead_id", "procedure_id"),
    Index("ix_entitlements_patient", "tenant_id", "patient_id", "procedure_id"),
)

questionnaires = Table(
    "questionnaires",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("sections", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True)),
    #: Removed by the clinic: gone from its lists and choices; links already sent still open it.
    Column("archived_at", DateTime(timezone=True)),
    Index("ix_questionnaires_tenant", "tenant_id", "name"),
)

#: Signed forms are immutable: a trigger refuses UPDATE and DELETE (migration).
anamnesis_submissions = Table(
    "anamnesis_submissions",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("appointment_id", UUID(as_uuid=False), nullable=False),
    Column("questionnaire_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    #: Exactly the bytes that were signed (canonical JSON) and their SHA-256.
    Column("signed_document", Text, nullable=False),
    Column("sha256", Text, nullable=False),
    Column("signature_kind", Text, nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("ip", Text, nullable=False),
    Column("user_agent", Text, nullable=False),
    UniqueConstraint("appointment_id", "questionnaire_id", name="uq_anamnesis_once"),
    Index("ix_anamnesis_person", "tenant_id", "lead_id"),
)

#: The answers a patient has given so far, before signing: another phone (or the same one after its storage was
#: cleared) opens the link where they stopped. Removed when the form is signed.
anamnesis_drafts = Table(
    "anamnesis_drafts",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("appointment_id", UUID(as_uuid=False), primary_key=True),
    Column("questionnaire_id", UUID(as_uuid=False), primary_key=True),
    Column("answers", JSONB, nullable=False),
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

#: The clinics' staff as the gateway's directory events tell them: who may be linked to a professional.
staff = Table(
    "staff",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("user_id", UUID(as_uuid=False), primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
)

waitlist_entries = Table(
    "waitlist_entries",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("person", JSONB, nullable=False),
    Column("branch_id", UUID(as_uuid=False), nullable=False),
    Column("procedure_id", UUID(as_uuid=False), nullable=False),
    Column("professional_id", UUID(as_uuid=False)),
    Column("not_before", Date),
    Column("not_after", Date),
    #: waiting, offered, booked, expired
    Column("status", Text, nullable=False),
    Column("hold_id", UUID(as_uuid=False)),
    Column("offered_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_waitlist_waiting", "tenant_id", "branch_id", "procedure_id", "created_at"),
    Index("ix_waitlist_hold", "hold_id"),
)
