"""funnel: pipelines of the clinic's own: pipelines.archived_at (removed while holding closed deals) and one live
pipeline per name in a clinic (uq_pipelines_name; names the clinic gave twice get a number first)

Revision ID: 9c3e51f2a7d0
Revises: 5a1c0e7d9b42
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9c3e51f2a7d0"
down_revision: str | None = "5a1c0e7d9b42"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pipelines", sa.Column("archived_at", sa.DateTime(timezone=True)))
    # A clinic that renamed one built-in pipeline as the other: the later one becomes "<name> (2)".
    op.execute(
        """
        UPDATE pipelines p SET name = p.name || ' (' || d.n || ')'
        FROM (SELECT id, row_number() OVER (PARTITION BY tenant_id, lower(name) ORDER BY position, id) AS n
              FROM pipelines) d
        WHERE d.id = p.id AND d.n > 1
        """
    )
    op.create_index(
        "uq_pipelines_name", "pipelines", ["tenant_id", sa.text("lower(name)")], unique=True,
        postgresql_where=sa.text("archived_at IS NULL"),
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index("uq_pipelines_name", "pipelines")
    op.drop_column("pipelines", "archived_at")
