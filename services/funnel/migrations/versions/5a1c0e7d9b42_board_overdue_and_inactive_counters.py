"""funnel: the overdue and inactive filters read counters too: deals.overdue and deals.inactive (flags kept with
next_due_at / last_activity_at and flipped by the worker as time passes, like deals.booked), keys of deal_counts

Revision ID: 5a1c0e7d9b42
Revises: 4884f418f86f
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1c0e7d9b42"
down_revision: str | None = "4884f418f86f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: As funnel.models.BOARD_COLUMNS / BOARD_RANGES at this revision.
_BOARD = (
    "stage_id", "amount", "curator_id", "plan_state", "booked", "next_due_at", "next_booking_at", "last_activity_at",
    "overdue", "inactive",
)  # fmt: skip
_OLD = (
    ("next_due_at", ["next_due_at"]),
    ("next_booking_at", ["booked", "next_booking_at"]),
    ("last_activity_at", ["last_activity_at"]),
)
_NEW = (
    ("next_due_at", ["overdue", "next_due_at"]),
    ("next_booking_at", ["booked", "next_booking_at"]),
    ("last_activity_at", ["inactive", "last_activity_at"]),
)
#: funnel.domain.ACTIVE_DAYS at this revision.
_ACTIVE_DAYS = 90
_KEY = "tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, overdue, inactive"


def _indexes(ranges: tuple[tuple[str, list[str]], ...], board: tuple[str, ...]) -> None:
    for column, keys in ranges:
        op.drop_index(f"ix_deals_board_{column}", "deals")
        op.create_index(
            f"ix_deals_board_{column}", "deals", ["tenant_id", "pipeline_id", *keys],
            postgresql_include=[c for c in board if c not in keys],
        )  # fmt: skip


def upgrade() -> None:
    op.add_column("deals", sa.Column("overdue", sa.Boolean, nullable=False, server_default=sa.text("false")))
    op.add_column("deals", sa.Column("inactive", sa.Boolean, nullable=False, server_default=sa.text("true")))
    op.execute("UPDATE deals SET overdue = true WHERE next_due_at < now()")
    op.execute(f"UPDATE deals SET inactive = false WHERE last_activity_at >= now() - interval '{_ACTIVE_DAYS} days'")
    _indexes(_NEW, _BOARD)
    op.create_index(
        "ix_deals_overdue_passing", "deals", ["next_due_at"],
        postgresql_where=sa.text("NOT overdue AND next_due_at IS NOT NULL"),
    )  # fmt: skip
    op.create_index("ix_deals_inactive_passing", "deals", ["last_activity_at"], postgresql_where=sa.text("NOT inactive"))
    for name in ("overdue", "inactive"):
        op.add_column(
            "deal_counts", sa.Column(name, sa.Boolean, nullable=False, server_default=sa.text("false"))
        )
    op.drop_index("ix_deal_counts_board", "deal_counts")
    op.create_index(
        "ix_deal_counts_board", "deal_counts", ["tenant_id", "pipeline_id", "stage_id"],
        postgresql_include=["curator_id", "plan_state", "booked", "overdue", "inactive", "deals", "amount"],
    )  # fmt: skip
    op.execute("LOCK TABLE deal_counts IN EXCLUSIVE MODE")
    op.execute("DELETE FROM deal_counts")
    op.execute(
        f"INSERT INTO deal_counts ({_KEY}, deals, amount, pending) SELECT {_KEY}, count(*), sum(amount), false "
        f"FROM deals GROUP BY {_KEY}"
    )


def downgrade() -> None:
    key = "tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked"
    op.execute("DELETE FROM deal_counts")
    op.drop_index("ix_deal_counts_board", "deal_counts")
    op.drop_column("deal_counts", "inactive")
    op.drop_column("deal_counts", "overdue")
    op.create_index(
        "ix_deal_counts_board", "deal_counts", ["tenant_id", "pipeline_id", "stage_id"],
        postgresql_include=["curator_id", "plan_state", "booked", "deals", "amount"],
    )  # fmt: skip
    op.execute(
        f"INSERT INTO deal_counts ({key}, deals, amount, pending) SELECT {key}, count(*), sum(amount), false "
        f"FROM deals GROUP BY {key}"
    )
    op.drop_index("ix_deals_inactive_passing", "deals")
    op.drop_index("ix_deals_overdue_passing", "deals")
    _indexes(_OLD, _BOARD[:-2])
    op.drop_column("deals", "inactive")
    op.drop_column("deals", "overdue")
