"""questionnaires: changed (updated_at) and removed by archiving (archived_at): links already sent still open an
archived questionnaire; signed forms keep their own copy of the questions

Revision ID: 7f2a9c41d6b3
Revises: 8196d89a505f
Create Date: 2026-12-02 17:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7f2a9c41d6b3"
down_revision: str | None = "8196d89a505f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("questionnaires", sa.Column("updated_at", sa.DateTime(timezone=True)))
    op.add_column("questionnaires", sa.Column("archived_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("questionnaires", "archived_at")
    op.drop_column("questionnaires", "updated_at")
