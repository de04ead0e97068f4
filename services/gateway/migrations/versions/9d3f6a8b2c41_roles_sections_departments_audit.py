"""roles, sections and departments, identity audit log; built-in roles seeded for every clinic

Revision ID: 9d3f6a8b2c41
Revises: 5b1e7c2d9a10
Create Date: 2026-12-01 15:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


revision: str = '9d3f6a8b2c41'
down_revision: str | None = '5b1e7c2d9a10'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('users', sa.Column('section_ids', postgresql.ARRAY(sa.UUID(as_uuid=False)), server_default='{}', nullable=False))
    op.add_column('users', sa.Column('department_ids', postgresql.ARRAY(sa.UUID(as_uuid=False)), server_default='{}', nullable=False))
    op.create_table('roles',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('permissions', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('builtin', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tenant_id', 'name', name='ux_roles_tenant_name')
    )
    op.create_table('units',
    sa.Column('id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ux_units_tenant_kind_name', 'units', ['tenant_id', 'kind', sa.literal_column('lower(name)')], unique=True)
    op.create_table('audit_log',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('entity', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('actor_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('changes', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_tenant_at', 'audit_log', ['tenant_id', 'at'], unique=False)
    # Clinics opened before roles were theirs get the built-in ones (new clinics get them when opened).
    op.execute("""
    INSERT INTO roles (id, tenant_id, name, description, permissions, builtin, updated_at)
    SELECT gen_random_uuid(), t.id, r.name, '', r.permissions, true, now()
    FROM tenants t CROSS JOIN (VALUES
        ('admin', ARRAY['crm:read', 'crm:write', 'crm:admin', 'crm:responsible', 'finance:read']::text[]),
        ('manager', ARRAY['crm:read', 'crm:write', 'crm:responsible', 'finance:read']::text[]),
        ('sales_agent', ARRAY['crm:read', 'crm:write']::text[]),
        ('reception', ARRAY['crm:read', 'crm:write']::text[]),
        ('professional', ARRAY['crm:read']::text[]),
        ('diagnostic_doctor', ARRAY['crm:read']::text[]),
        ('finance', ARRAY['crm:read', 'finance:read']::text[])
    ) AS r(name, permissions)
    """)


def downgrade() -> None:
    op.drop_index('ix_audit_tenant_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ux_units_tenant_kind_name', table_name='units')
    op.drop_table('units')
    op.drop_table('roles')
    op.drop_column('users', 'department_ids')
    op.drop_column('users', 'section_ids')
