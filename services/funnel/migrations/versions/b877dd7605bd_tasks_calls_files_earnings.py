"""funnel: automatic call tasks (missed calls, unconfirmed appointments), per-clinic settings, signed plan
files, the money ledger (payments, refunds, curators' earnings), messages sent, board filters

Revision ID: b877dd7605bd
Revises: 0002_assistant
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "b877dd7605bd"
down_revision: str | None = "0002_assistant"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = postgresql.UUID(as_uuid=False)
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("deals", sa.Column("owner_id", _ID))
    op.add_column("deals", sa.Column("plan_state", sa.Text, nullable=False, server_default=sa.text("'none'")))
    op.add_column("deals", sa.Column("last_activity_at", _TS))
    op.create_index("ix_deals_phone", "deals", ["tenant_id", "phone"])
    op.add_column("tasks", sa.Column("reason", sa.Text))
    op.add_column("tasks", sa.Column("ref", sa.Text))
    op.add_column("tasks", sa.Column("ref_at", _TS))
    op.add_column("tasks", sa.Column("phone", sa.Text))
    op.create_index(
        "ix_tasks_open_phone", "tasks", ["tenant_id", "phone"],
        postgresql_where=sa.text("completed_at IS NULL AND phone IS NOT NULL"),
    )  # fmt: skip
    op.create_index(
        "ix_tasks_queue", "tasks", ["tenant_id", "due_at"],
        postgresql_where=sa.text("completed_at IS NULL AND responsible_id IS NULL"),
    )  # fmt: skip
    op.add_column("appointments", sa.Column("confirmed_at", _TS))
    op.add_column("appointments", sa.Column("confirm_task_at", _TS))
    op.create_index(
        "ix_appointments_unconfirmed", "appointments", ["starts_at"],
        postgresql_where=sa.text(
            "confirmed_at IS NULL AND cancelled_at IS NULL AND done_at IS NULL AND confirm_task_at IS NULL"
        ),
    )  # fmt: skip
    op.create_table(
        "calls",
        sa.Column("tenant_id", _ID, primary_key=True),
        sa.Column("call_id", sa.Text, primary_key=True),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("lead_id", sa.Text),
        sa.Column("missed_at", _TS),
        sa.Column("answered_at", _TS),
        sa.Column("task_id", _ID),
    )
    op.create_index("ix_calls_phone", "calls", ["tenant_id", "phone"])
    op.create_table(
        "funnel_settings",
        sa.Column("tenant_id", _ID, primary_key=True),
        sa.Column("confirm_call_hours", sa.Integer, nullable=False, server_default=sa.text("24")),
        sa.Column("updated_at", _TS),
    )
    op.add_column("plans", sa.Column("file_key", sa.Text))
    op.add_column("plans", sa.Column("file_type", sa.Text))
    op.add_column("plans", sa.Column("file_size", sa.Integer))
    op.add_column("plans", sa.Column("file_sha256", sa.Text))
    op.create_table(
        "money",
        sa.Column("tenant_id", _ID, primary_key=True),
        #: payment id, or "<payment id>:refund:<total refunded>" for a refund.
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("payment_id", sa.Text, nullable=False),
        sa.Column("deal_id", _ID, sa.ForeignKey("deals.id")),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", sa.Numeric(14, 2), nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("procedure_id", sa.Text),
        sa.Column("curator_id", _ID),
        sa.Column("percent", sa.Numeric(5, 2)),
        sa.Column("earned", sa.Numeric(14, 2), nullable=False, server_default=sa.text("0")),
        sa.Column("at", _TS, nullable=False),
    )
    op.create_index("ix_money_deal", "money", ["deal_id", "at"])
    op.create_index("ix_money_curator", "money", ["tenant_id", "curator_id", "at"])
    op.create_table(
        "messages",
        sa.Column("tenant_id", _ID, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("lead_id", sa.Text),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("to", sa.Text, nullable=False),
        sa.Column("template", sa.Text, nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
    )
    op.create_index("ix_messages_lead", "messages", ["tenant_id", "lead_id"])
    op.create_index("ix_messages_to", "messages", ["tenant_id", "to"])


def downgrade() -> None:
    op.drop_table("messages")
    op.drop_table("money")
    for column in ("file_sha256", "file_size", "file_type", "file_key"):
        op.drop_column("plans", column)
    op.drop_table("funnel_settings")
    op.drop_table("calls")
    op.drop_index("ix_appointments_unconfirmed", "appointments")
    op.drop_column("appointments", "confirm_task_at")
    op.drop_column("appointments", "confirmed_at")
    op.drop_index("ix_tasks_queue", "tasks")
    op.drop_index("ix_tasks_open_phone", "tasks")
    for column in ("phone", "ref_at", "ref", "reason"):
        op.drop_column("tasks", column)
    op.drop_index("ix_deals_phone", "deals")
    for column in ("last_activity_at", "plan_state", "owner_id"):
        op.drop_column("deals", column)
