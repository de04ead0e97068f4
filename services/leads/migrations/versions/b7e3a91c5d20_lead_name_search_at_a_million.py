"""lead name search at a million: the reversed-name b-tree instead of the GiST trigram index

Revision ID: b7e3a91c5d20
Revises: 32249462ffbe
Create Date: 2026-12-01 17:40:00.000000

Matching walked the GiST trigram index nearest-first, which takes seconds at a million leads when no name is
near; it now reads names next to the key from either end (this b-tree and ix_leads_tenant_name) and leads sharing
the key's words (ix_leads_name_words). Fragments use the GIN trigram index, which the planner skipped for the
GiST one; a common name or fragment fills a newest-first page from ix_leads_tenant_created_names alone.
Patients keep their GiST index.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "b7e3a91c5d20"
down_revision: str | None = "32249462ffbe"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_leads_tenant_name_reversed ON leads (tenant_id, reverse(name_search), id) WHERE visible"
    )
    op.execute(
        "CREATE INDEX ix_leads_tenant_created_names ON leads (tenant_id, created_at, id) INCLUDE (name_search) "
        "WHERE visible"
    )
    op.drop_index("ix_leads_name_trgm", table_name="leads", postgresql_using="gist")


def downgrade() -> None:
    op.create_index(
        "ix_leads_name_trgm",
        "leads",
        ["tenant_id", "name_search"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={"name_search": "gist_trgm_ops"},
    )
    op.drop_index("ix_leads_tenant_created_names", table_name="leads")
    op.drop_index("ix_leads_tenant_name_reversed", table_name="leads")
