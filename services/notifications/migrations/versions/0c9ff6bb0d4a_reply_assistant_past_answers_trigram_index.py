"""the reply assistant's examples: a trigram index over what people wrote (pg_trgm), to find the clinic's past
answers to messages like the one being answered

Revision ID: 0c9ff6bb0d4a
Revises: 441add70078c
Create Date: 2026-12-02 04:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0c9ff6bb0d4a"
down_revision: str | None = "441add70078c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_inbound_text_trgm ON inbound_messages USING gin (lower(text) gin_trgm_ops) "
        "WHERE text IS NOT NULL"
    )
    op.create_index("ix_inbound_tenant_received", "inbound_messages", ["tenant_id", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_inbound_tenant_received", table_name="inbound_messages")
    op.execute("DROP INDEX ix_inbound_text_trgm")
