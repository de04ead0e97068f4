"""channels, rules, consent, conversations, in-app notifications, webhook receipts

Revision ID: 2b7d4c1e9a30
Revises: 833cf805b145
Create Date: 2026-12-01 14:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "2b7d4c1e9a30"
down_revision: str | None = "833cf805b145"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UUID = sa.UUID(as_uuid=False)
TS = sa.DateTime(timezone=True)
JSONB = postgresql.JSONB(astext_type=sa.Text())


def upgrade() -> None:
    for column in (
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("conversation_id", UUID, nullable=True),
        sa.Column("rule_key", sa.Text(), server_default="manual", nullable=False),
        sa.Column("recipient", sa.Text(), server_default="person", nullable=False),
        sa.Column("event_type", sa.Text(), nullable=True),
        sa.Column("dedupe_key", sa.Text(), nullable=True),
        sa.Column("channels", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("step", sa.Integer(), server_default="0", nullable=False),
        sa.Column("addresses", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("renders", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("cancel_key", sa.Text(), nullable=True),
        sa.Column("cancel_on", JSONB, server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("read_at", TS, nullable=True),
    ):
        op.add_column("messages", column)
    # Messages of the welcome-only days were WhatsApp-only: give them their plan and address.
    op.execute(
        "UPDATE messages SET channels = jsonb_build_array(channel), addresses = jsonb_build_object(channel, \"to\"), "
        "rule_key = 'welcome', event_type = 'lead.created'"
    )
    op.create_index(
        "ux_messages_dedupe",
        "messages",
        ["tenant_id", "dedupe_key"],
        unique=True,
        postgresql_where=sa.text("dedupe_key IS NOT NULL"),
    )
    op.create_index(
        "ix_messages_provider_id",
        "messages",
        ["provider_message_id"],
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    op.create_index(
        "ix_messages_cancel", "messages", ["tenant_id", "cancel_key"], postgresql_where=sa.text("status = 'queued'")
    )
    op.create_index("ix_messages_conversation", "messages", ["conversation_id", "created_at"])
    op.add_column("templates", sa.Column("subject", sa.Text(), nullable=True))
    op.add_column("templates", sa.Column("wa_template", sa.Text(), nullable=True))

    op.create_table(
        "rules",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("channels", JSONB, nullable=False),
        sa.Column("recipient", sa.Text(), nullable=False),
        sa.Column("conditions", JSONB, nullable=False),
        sa.Column("delay_seconds", sa.Integer(), nullable=False),
        sa.Column("quiet_hours", sa.Boolean(), nullable=False),
        sa.Column("cancel_on", JSONB, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", UUID, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key"),
    )
    op.create_table(
        "clinic_settings",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), nullable=False),
        sa.Column("quiet_start", sa.Text(), nullable=True),
        sa.Column("quiet_end", sa.Text(), nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id"),
    )
    op.create_table(
        "opt_outs",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "channel", "address"),
    )
    op.create_table(
        "contacts",
        sa.Column("lead_id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("locale", sa.Text(), nullable=True),
        sa.Column("owner_id", UUID, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("lead_id"),
    )
    op.create_table(
        "conversations",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("lead_id", UUID, nullable=True),
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("last_message_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_conversations_lead", "conversations", ["tenant_id", "lead_id"])
    op.create_index("ix_conversations_patient", "conversations", ["tenant_id", "patient_id"])
    op.create_table(
        "conversation_addresses",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("conversation_id", UUID, nullable=False),
        sa.Column("last_inbound_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "channel", "address"),
    )
    op.create_index("ix_conversation_addresses_conversation", "conversation_addresses", ["conversation_id"])
    op.create_table(
        "inbound_messages",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("conversation_id", UUID, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("sender_name", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("button_id", sa.Text(), nullable=True),
        sa.Column("reply_to_message_id", UUID, nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_message_id", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_inbound_provider_id", "inbound_messages", ["provider", "provider_message_id"], unique=True)
    op.create_index("ix_inbound_conversation", "inbound_messages", ["conversation_id", "received_at"])
    op.create_table(
        "channel_accounts",
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("channel", "account_id"),
    )
    op.create_table(
        "inapp_notifications",
        sa.Column("id", UUID, nullable=False),
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("lead_id", UUID, nullable=True),
        sa.Column("patient_id", UUID, nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_inapp_tenant_audience", "inapp_notifications", ["tenant_id", "audience", "created_at"])
    op.create_table(
        "inapp_reads",
        sa.Column("notification_id", UUID, nullable=False),
        sa.Column("user_id", UUID, nullable=False),
        sa.Column("read_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("notification_id", "user_id"),
    )
    op.create_table(
        "webhook_receipts",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("provider", "event_id"),
    )
    op.create_table(
        "confirmations",
        sa.Column("tenant_id", UUID, nullable=False),
        sa.Column("appointment_id", UUID, nullable=False),
        sa.Column("via", sa.Text(), nullable=False),
        sa.Column("rule_key", sa.Text(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=True),
        sa.Column("confirmed_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "appointment_id"),
    )


def downgrade() -> None:
    for table in (
        "confirmations",
        "webhook_receipts",
        "inapp_reads",
        "inapp_notifications",
        "channel_accounts",
        "inbound_messages",
        "conversation_addresses",
        "conversations",
        "contacts",
        "opt_outs",
        "clinic_settings",
        "rules",
    ):
        op.drop_table(table)
    op.drop_column("templates", "wa_template")
    op.drop_column("templates", "subject")
    for index in ("ix_messages_conversation", "ix_messages_cancel", "ix_messages_provider_id", "ux_messages_dedupe"):
        op.drop_index(index, table_name="messages")
    for column in (
        "read_at",
        "delivered_at",
        "cancel_on",
        "cancel_key",
        "subject",
        "renders",
        "addresses",
        "step",
        "channels",
        "dedupe_key",
        "event_type",
        "recipient",
        "rule_key",
        "conversation_id",
        "patient_id",
    ):
        op.drop_column("messages", column)
