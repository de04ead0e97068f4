"""funnel: the board at scale: per-stage counters (deal_counts, deltas folded by the worker), deals.next_due_at
(the earliest open task's due time), deals.booked and the board's covering indexes

Revision ID: 4884f418f86f
Revises: bd46f1b0c260
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4884f418f86f"
down_revision: str | None = "bd46f1b0c260"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = postgresql.UUID(as_uuid=False)
#: As funnel.models.BOARD_COLUMNS at this revision.
_BOARD = (
    "stage_id", "amount", "curator_id", "plan_state", "booked", "next_due_at", "next_booking_at", "last_activity_at",
)  # fmt: skip
_INDEXED = (
    ("next_due_at", ["next_due_at"]),
    ("next_booking_at", ["booked", "next_booking_at"]),
    ("last_activity_at", ["last_activity_at"]),
)


def upgrade() -> None:
    op.add_column("deals", sa.Column("next_due_at", sa.DateTime(timezone=True)))
    op.execute(
        "UPDATE deals d SET next_due_at = t.due FROM "
        "(SELECT deal_id, min(due_at) AS due FROM tasks WHERE completed_at IS NULL GROUP BY deal_id) t "
        "WHERE t.deal_id = d.id"
    )
    op.add_column("deals", sa.Column("booked", sa.Boolean, nullable=False, server_default=sa.text("false")))
    op.execute("UPDATE deals SET booked = true WHERE next_booking_at > now()")
    op.create_index(
        "ix_deals_curator_recent", "deals", ["tenant_id", "pipeline_id", "curator_id", "stage_id", "updated_at"]
    )
    for column, keys in _INDEXED:
        op.create_index(
            f"ix_deals_board_{column}", "deals", ["tenant_id", "pipeline_id", *keys],
            postgresql_include=[c for c in _BOARD if c not in keys],
        )  # fmt: skip
    op.create_index("ix_deals_booked_passing", "deals", ["next_booking_at"], postgresql_where=sa.text("booked"))
    op.create_table(
        "deal_counts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("pipeline_id", _ID, nullable=False),
        sa.Column("stage_id", _ID, nullable=False),
        sa.Column("curator_id", _ID),
        sa.Column("plan_state", sa.Text, nullable=False),
        sa.Column("booked", sa.Boolean, nullable=False),
        sa.Column("deals", sa.BigInteger, nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.Column("pending", sa.Boolean, nullable=False, server_default=sa.text("true")),
    )
    op.create_index(
        "ix_deal_counts_board", "deal_counts", ["tenant_id", "pipeline_id", "stage_id"],
        postgresql_include=["curator_id", "plan_state", "booked", "deals", "amount"],
    )  # fmt: skip
    op.create_index("ix_deal_counts_pending", "deal_counts", ["id"], postgresql_where=sa.text("pending"))
    op.execute(
        "INSERT INTO deal_counts (tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, deals, amount, "
        "pending) SELECT tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, count(*), sum(amount), "
        "false FROM deals GROUP BY tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked"
    )


def downgrade() -> None:
    op.drop_table("deal_counts")
    op.drop_index("ix_deals_booked_passing", "deals")
    for column, _ in _INDEXED:
        op.drop_index(f"ix_deals_board_{column}", "deals")
    op.drop_index("ix_deals_curator_recent", "deals")
    op.drop_column("deals", "booked")
    op.drop_column("deals", "next_due_at")
