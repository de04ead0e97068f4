"""inbound_messages.media: the photos, voice notes and documents a person sent (our copy's object key)

Revision ID: 441add70078c
Revises: 1847b8ad5e21
Create Date: 2026-12-02 01:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "441add70078c"
down_revision: str | None = "1847b8ad5e21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "inbound_messages", sa.Column("media", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb"))
    )


def downgrade() -> None:
    op.drop_column("inbound_messages", "media")
