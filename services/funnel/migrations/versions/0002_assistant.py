"""assistant: the pre-qualification assistant's settings, processes and history

Revision ID: 0002_assistant
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002_assistant"
down_revision: str | None = "c74a7365a228"  # after the valuation process (both branched from 0001)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = postgresql.UUID(as_uuid=False)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "assistant_settings",
        sa.Column("tenant_id", _ID, primary_key=True),
        sa.Column("enabled", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("procedures", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("regions", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("messages", postgresql.JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("default_locale", sa.Text, nullable=False, server_default=sa.text("'pt-BR'")),
        sa.Column("currency", sa.Text, nullable=False, server_default=sa.text("'BRL'")),
        sa.Column("reply_minutes", sa.Integer, nullable=False, server_default=sa.text("60")),
        sa.Column("handoff_minutes", sa.Integer, nullable=False, server_default=sa.text("120")),
        sa.Column("updated_by", sa.Text),
        sa.Column("updated_at", _TS),
    )
    op.create_table(
        "assistant_processes",
        sa.Column("id", _ID, primary_key=True),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("lead_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("locale", sa.Text, nullable=False),
        sa.Column("step", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("cpf", sa.Text),
        sa.Column("procedure_id", sa.Text),
        sa.Column("procedure", sa.Text),
        sa.Column("branch_id", sa.Text),
        sa.Column("region", sa.Text),
        sa.Column("payment_id", sa.Text),
        sa.Column("paid", sa.Boolean, nullable=False, server_default=sa.text("false")),
        sa.Column("appointment_id", sa.Text),
        sa.Column("due_at", _TS),
        sa.Column("nudges", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("last_reply_at", _TS),
        sa.Column("seen", postgresql.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("uq_assistant_lead", "assistant_processes", ["tenant_id", "lead_id"], unique=True)
    op.create_index("ix_assistant_address", "assistant_processes", ["tenant_id", "channel", "address"])
    op.create_index(
        "ix_assistant_due", "assistant_processes", ["due_at"],
        postgresql_where=sa.text("status = 'active' AND due_at IS NOT NULL"),
    )  # fmt: skip
    op.create_table(
        "assistant_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("process_id", _ID, nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("step", sa.Text, nullable=False),
    )
    op.create_index("ix_assistant_history_process", "assistant_history", ["process_id", "id"])


def downgrade() -> None:
    op.drop_table("assistant_history")
    op.drop_table("assistant_processes")
    op.drop_table("assistant_settings")
