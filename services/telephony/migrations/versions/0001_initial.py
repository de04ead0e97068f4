"""provider accounts, tracking numbers, calls, the contacts read model, webhook receipts, outbox, inbox

Revision ID: 0001
Revises:
Create Date: scaffolded by scripts/new_service.py
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables, drop_kit_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "provider_accounts",
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("country", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "provider"),
    )
    op.create_table(
        "tracking_numbers",
        sa.Column("id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_tracking_numbers_tenant_number", "tracking_numbers", ["tenant_id", "number"], unique=True)
    op.create_table(
        "calls",
        sa.Column("id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_call_id", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("caller", sa.Text(), nullable=False),
        sa.Column("tracking_number", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("lead_id", sa.UUID(as_uuid=False), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=False),
        sa.Column("disposition", sa.Text(), nullable=True),
        sa.Column("recording_ref", sa.Text(), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("announced", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_calls_provider_call", "calls", ["tenant_id", "provider", "provider_call_id"], unique=True)
    op.create_index("ix_calls_tenant_started", "calls", ["tenant_id", "started_at"], unique=False)
    op.create_table(
        "contacts",
        sa.Column("tenant_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("phone", sa.Text(), nullable=False),
        sa.Column("lead_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "phone"),
    )
    op.create_index("ix_contacts_lead", "contacts", ["tenant_id", "lead_id"], unique=False)
    create_kit_tables(receipts=True)  # outbox, inbox, webhook_receipts (kit.migrations)


def downgrade() -> None:
    drop_kit_tables(receipts=True)
    op.drop_table("contacts")
    op.drop_table("calls")
    op.drop_table("tracking_numbers")
    op.drop_table("provider_accounts")
