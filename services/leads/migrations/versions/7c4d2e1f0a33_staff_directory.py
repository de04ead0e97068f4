"""staff directory from the gateway's identity events

Revision ID: 7c4d2e1f0a33
Revises: e32a2b0a18a5
Create Date: 2026-12-01 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '7c4d2e1f0a33'
down_revision: str | None = 'e32a2b0a18a5'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('staff',
    sa.Column('user_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('roles', postgresql.ARRAY(sa.Text()), server_default='{}', nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id')
    )
    op.create_index('ix_staff_tenant', 'staff', ['tenant_id', 'full_name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_staff_tenant', table_name='staff')
    op.drop_table('staff')
