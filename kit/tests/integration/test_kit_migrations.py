"""kit.migrations.create_kit_tables on a real PostgreSQL: the same schema as the outbox, inbox and webhook
receipts blocks the services' first revisions spelled out by hand (copied below as the reference), so a
revision may use the helper without changing what it creates."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text
from sqlalchemy.engine import Connection

from devkit.infra import Infra
from kit import migrations
from kit.context import new_id
from kit.db import make_engine

pytestmark = pytest.mark.integration


def hand_written(op: Any) -> None:
    """What services/telephony/migrations/versions/0001_initial.py (and the others) create for kit."""
    op.create_table(
        "webhook_receipts",
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("event_id", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("provider", "scope", "event_id"),
    )
    op.create_index("ix_webhook_receipts_received_at", "webhook_receipts", ["received_at"], unique=False)
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id"),
    )
    op.create_index("ix_inbox_handled_at", "inbox", ["handled_at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.UUID(as_uuid=False), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(
        "ix_outbox_published_at",
        "outbox",
        ["published_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NOT NULL"),
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], unique=False, postgresql_where=sa.text("published_at IS NULL")
    )


_SCHEMA = {
    "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
    "WHERE table_schema = 'public' ORDER BY 1, 2",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
    "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
    "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
    "sequences": "SELECT sequence_name, data_type FROM information_schema.sequences ORDER BY 1",
}


async def schema_after(infra: Infra, migrate: Any) -> dict[str, list[tuple[Any, ...]]]:
    name = f"test_kitmig_{new_id().replace('-', '')[:16]}"
    await migrations.ensure_database(infra.postgres_url, name)
    engine = make_engine(migrations.database_url(infra.postgres_url, name))

    def run(conn: Connection) -> None:
        operations = Operations(MigrationContext.configure(conn))
        with Operations.context(operations.migration_context):
            migrate(operations)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
        async with engine.connect() as conn:
            return {k: [tuple(r) for r in await conn.execute(text(q))] for k, q in _SCHEMA.items()}
    finally:
        await engine.dispose()


async def test_the_helper_makes_the_schema_the_revisions_spelled_out(infra: Infra) -> None:
    by_hand = await schema_after(infra, hand_written)
    by_helper = await schema_after(infra, lambda _: migrations.create_kit_tables(receipts=True))
    assert by_helper == by_hand
    assert {r[0] for r in by_helper["columns"]} == {"outbox", "inbox", "webhook_receipts"}
    assert len(by_helper["indexes"]) == 8  # 3 primary keys, outbox.event_id unique, the 4 named indexes


async def test_the_tables_a_service_leaves_out_are_not_made(infra: Infra) -> None:
    only = await schema_after(infra, lambda _: migrations.create_kit_tables(inbox=False))
    assert {r[0] for r in only["columns"]} == {"outbox"}
