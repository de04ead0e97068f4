"""the privacy officer built-in role; admins get privacy:read and privacy:manage (docs/privacy.md)

Revision ID: 7cbd4c6b5b51
Revises: 9d3f6a8b2c41
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7cbd4c6b5b51"
down_revision: str | None = "9d3f6a8b2c41"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Clinics opened before the privacy service get its role (new clinics get it with the other built-in roles).
    op.execute("""
    INSERT INTO roles (id, tenant_id, name, description, permissions, builtin, updated_at)
    SELECT gen_random_uuid(), t.id, 'privacy_officer', '',
           ARRAY['crm:read', 'scheduling:read', 'privacy:read', 'privacy:manage']::text[], true, now()
    FROM tenants t
    ON CONFLICT (tenant_id, name) DO NOTHING
    """)
    op.execute("""
    UPDATE roles SET permissions = ARRAY(
        SELECT DISTINCT unnest(permissions || ARRAY['privacy:read', 'privacy:manage']::text[]) ORDER BY 1
    ), updated_at = now()
    WHERE name = 'admin' AND builtin
    """)


def downgrade() -> None:
    op.execute("DELETE FROM roles WHERE name = 'privacy_officer' AND builtin")
    op.execute("""
    UPDATE roles SET permissions = array_remove(array_remove(permissions, 'privacy:read'), 'privacy:manage')
    WHERE name = 'admin' AND builtin
    """)
