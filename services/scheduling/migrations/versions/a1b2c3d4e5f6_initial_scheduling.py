"""initial scheduling: set-up, appointments with the no-overlap constraint, reminders, entitlements,
anamnesis, outbox and inbox

Revision ID: a1b2c3d4e5f6
Revises:
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a1b2c3d4e5f6"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = sa.UUID(as_uuid=False)
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB()


def upgrade() -> None:
    # btree_gist lets one GiST exclusion constraint mix equality (tenant, professional) and range overlap.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "clinic_policies",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("reminder_offsets", JSONB, nullable=False),
        sa.Column("refund_cutoff_hours", sa.Integer(), nullable=False),
        sa.Column("hold_minutes", sa.Integer(), nullable=False),
        sa.Column("slot_step_minutes", sa.Integer(), nullable=False),
        sa.Column("min_lead_minutes", sa.Integer(), nullable=False),
        sa.Column("anamnesis_questionnaire_id", UUID, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "branches",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("open_on_holidays", sa.Boolean(), nullable=False),
        sa.Column("subdivision", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_branches_tenant", "branches", ["tenant_id", "name"])
    op.create_table(
        "professionals",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("specialties", JSONB, nullable=False),
        sa.Column("branch_ids", JSONB, nullable=False),
        sa.Column("hours", JSONB, nullable=False),
        sa.Column("breaks", JSONB, nullable=False),
        sa.Column("days_off", JSONB, nullable=False),
        sa.Column("user_id", UUID, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_professionals_tenant", "professionals", ["tenant_id", "name"])
    op.create_table(
        "procedures",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("specialty", sa.Text(), nullable=True),
        sa.Column("price_reference", sa.Text(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("prepayment_required", sa.Boolean(), nullable=False),
        sa.Column("branch_ids", JSONB, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_procedures_tenant", "procedures", ["tenant_id", "name"])
    op.create_table(
        "appointments",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("branch_id", UUID, nullable=False),
        sa.Column("professional_id", UUID, nullable=False),
        sa.Column("procedure_id", UUID, nullable=False),
        sa.Column("starts_at", TS, nullable=False),
        sa.Column("ends_at", TS, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("person", JSONB, nullable=False),
        sa.Column("lead_id", UUID, nullable=True),
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("payment_id", sa.Text(), nullable=True),
        sa.Column("hold_expires_at", TS, nullable=True),
        sa.Column("return_of", UUID, nullable=True),
        sa.Column("confirmed_at", TS, nullable=True),
        sa.Column("confirmed_via", sa.Text(), nullable=True),
        sa.Column("arrived_at", TS, nullable=True),
        sa.Column("started_at", TS, nullable=True),
        sa.Column("completed_at", TS, nullable=True),
        sa.Column("return_needed", sa.Boolean(), nullable=False),
        sa.Column("return_in_days", sa.Integer(), nullable=True),
        sa.Column("procedures_done", JSONB, nullable=False),
        sa.Column("return_booked_id", UUID, nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("booked_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint("starts_at < ends_at", name="ck_appointments_span"),
    )
    # The rule against double booking lives here: overlapping active rows of one professional are refused
    # by PostgreSQL (SQLSTATE 23P01), so two concurrent bookings of one slot cannot both commit.
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_overlap EXCLUDE USING gist "
        "(tenant_id WITH =, professional_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status IN ('held', 'booked', 'confirmed', 'arrived', 'in_service'))"
    )
    op.create_index("ix_appointments_branch_time", "appointments", ["tenant_id", "branch_id", "starts_at"])
    op.create_index("ix_appointments_professional_time", "appointments", ["tenant_id", "professional_id", "starts_at"])
    op.create_index("ix_appointments_lead", "appointments", ["tenant_id", "lead_id"])
    op.create_index("ix_appointments_patient", "appointments", ["tenant_id", "patient_id"])
    op.create_index(
        "ix_appointments_holds", "appointments", ["hold_expires_at"], postgresql_where=sa.text("status = 'held'")
    )
    op.create_index(
        "ix_appointments_returns",
        "appointments",
        ["tenant_id", "completed_at"],
        postgresql_where=sa.text("return_needed AND return_booked_id IS NULL"),
    )
    op.create_table(
        "reminders",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("appointment_id", UUID, nullable=False),
        sa.Column("offset_minutes", sa.Integer(), nullable=False),
        sa.Column("due_at", TS, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reminders_due", "reminders", ["due_at"], postgresql_where=sa.text("status = 'pending'"))
    op.create_index("ix_reminders_appointment", "reminders", ["appointment_id"])
    op.create_table(
        "entitlements",
        sa.Column("payment_id", sa.Text(), nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("lead_id", UUID, nullable=True),
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("procedure_id", UUID, nullable=True),
        sa.Column("appointment_id", UUID, nullable=True),
        sa.Column("amount", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("paid_at", TS, nullable=False),
        sa.Column("used_by", UUID, nullable=True),
        sa.Column("refunded", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "payment_id"),
    )
    op.create_index("ix_entitlements_lead", "entitlements", ["tenant_id", "lead_id", "procedure_id"])
    op.create_index("ix_entitlements_patient", "entitlements", ["tenant_id", "patient_id", "procedure_id"])
    op.create_table(
        "questionnaires",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("sections", JSONB, nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_questionnaires_tenant", "questionnaires", ["tenant_id", "name"])
    op.create_table(
        "anamnesis_submissions",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("appointment_id", UUID, nullable=False),
        sa.Column("questionnaire_id", UUID, nullable=False),
        sa.Column("lead_id", UUID, nullable=True),
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("signed_document", sa.Text(), nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("signature_kind", sa.Text(), nullable=False),
        sa.Column("signed_at", TS, nullable=False),
        sa.Column("ip", sa.Text(), nullable=False),
        sa.Column("user_agent", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("appointment_id", "questionnaire_id", name="uq_anamnesis_once"),
    )
    op.create_index("ix_anamnesis_person", "anamnesis_submissions", ["tenant_id", "lead_id"])
    # A signed form never changes: not by the application, not by a stray UPDATE.
    op.execute(
        "CREATE FUNCTION anamnesis_immutable() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'signed anamnesis forms are immutable'; END $$"
    )
    op.execute(
        "CREATE TRIGGER anamnesis_no_change BEFORE UPDATE OR DELETE ON anamnesis_submissions "
        "FOR EACH ROW EXECUTE FUNCTION anamnesis_immutable()"
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("handled_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", UUID, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TS, server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(
        "ix_outbox_published_at", "outbox", ["published_at"], postgresql_where=sa.text("published_at IS NOT NULL")
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["id"], postgresql_where=sa.text("published_at IS NULL"))


def downgrade() -> None:
    for table in (
        "outbox",
        "inbox",
        "anamnesis_submissions",
        "questionnaires",
        "entitlements",
        "reminders",
        "appointments",
        "procedures",
        "professionals",
        "branches",
        "clinic_policies",
    ):
        op.drop_table(table)
    op.execute("DROP FUNCTION IF EXISTS anamnesis_immutable()")
