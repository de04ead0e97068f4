"""retention rules: leads' copy of privacy's rules (the lost_leads timer)

Revision ID: 5e1f0c7a9b42
Revises: 8dc004d2a058
Create Date: 2026-12-02 14:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '5e1f0c7a9b42'
down_revision: str | None = '8dc004d2a058'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('retention_rules',
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'kind')
    )


def downgrade() -> None:
    op.drop_table('retention_rules')
