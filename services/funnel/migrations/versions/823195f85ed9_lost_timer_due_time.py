"""funnel: the Lost timer reads only the Interrupted deals whose time came (deals.lost_due_at), instead of the
first 200 Interrupted deals every round (which never reached the others)

Revision ID: 823195f85ed9
Revises: 9c3e51f2a7d0
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "823195f85ed9"
down_revision: str | None = "9c3e51f2a7d0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deals", sa.Column("lost_due_at", sa.DateTime(timezone=True)))
    # Every deal Interrupted now is due at once: the next rounds re-evaluate each (oldest first), which
    # moves it to Lost or writes its real due time.
    op.execute("UPDATE deals SET lost_due_at = stage_since WHERE kind = 'arrived' AND stage_key = 'interrupted'")
    op.create_index(
        "ix_deals_lost_due", "deals", ["lost_due_at"], postgresql_where=sa.text("lost_due_at IS NOT NULL")
    )


def downgrade() -> None:
    op.drop_index("ix_deals_lost_due", "deals")
    op.drop_column("deals", "lost_due_at")
