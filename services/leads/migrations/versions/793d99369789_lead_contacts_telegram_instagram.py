"""lead contacts: Telegram / Instagram addresses, so a lead first heard of there needs no phone

Revision ID: 793d99369789
Revises: b7e3a91c5d20
Create Date: 2026-12-02 04:00:00.000000

`contacts` maps a channel to the person's address on it ({"telegram": chat id, "instagram": user id}); a GIN
index (jsonb_path_ops) finds the open lead of a sender by containment. Such a lead's `phone` is "" until staff
or the patient give one.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "793d99369789"
down_revision: str | None = "b7e3a91c5d20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("leads", sa.Column("contacts", postgresql.JSONB(), nullable=False, server_default="{}"))
    op.create_index(
        "ix_leads_contacts", "leads", ["contacts"], postgresql_using="gin", postgresql_ops={"contacts": "jsonb_path_ops"}
    )


def downgrade() -> None:
    op.drop_index("ix_leads_contacts", table_name="leads")
    op.drop_column("leads", "contacts")
