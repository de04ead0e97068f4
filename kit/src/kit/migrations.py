"""Alembic per service: `run_env` for each service's migrations/env.py, `upgrade` for the tools."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command, context, op
from alembic.config import Config
from sqlalchemy import Index, MetaData, Table, pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from kit.db import async_url
from kit.outbox import inbox_table, outbox_table, plain_dsn
from kit.outbox import metadata as outbox_metadata
from kit.webhooks import receipts_table


def alembic_config(service_root: Path, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(service_root / "migrations"))
    cfg.set_main_option("sqlalchemy.url", async_url(url).replace("%", "%%"))
    return cfg


def upgrade(service_root: Path, url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service_root, url), revision)


def run_env(target_metadata: MetaData, *, with_outbox: bool = True, extra: Sequence[MetaData] = ()) -> None:
    """Body of every service's migrations/env.py: online, async, one transaction.

    `extra` adds kit tables a service opts into, e.g. `kit.webhooks.metadata` (webhook_receipts).
    """
    targets = [target_metadata, outbox_metadata] if with_outbox else [target_metadata]
    targets += list(extra)
    url = context.config.get_main_option("sqlalchemy.url")
    assert url

    def run(connection: Connection) -> None:
        context.configure(connection=connection, target_metadata=targets, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(url, poolclass=pool.NullPool)
        async with engine.connect() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(main())


# --- kit's tables in a service's migrations ---------------------------------------------------------------
def _kit_tables(*, outbox: bool, inbox: bool, receipts: bool) -> list[Table]:
    return [t for t, wanted in ((receipts_table, receipts), (inbox_table, inbox), (outbox_table, outbox)) if wanted]


def _index_options(index: Index) -> dict[str, Any]:
    where = index.dialect_options["postgresql"].get("where")
    return {"postgresql_where": where} if where is not None else {}


def create_kit_tables(*, outbox: bool = True, inbox: bool = True, receipts: bool = False) -> None:
    """In a revision's `upgrade()`: kit's outbox and inbox (and `webhook_receipts` for a service with webhook
    ingress, kit.webhooks) with their indexes, exactly as kit defines them, so no service's first migration
    spells them out again. The schema is the one the hand-written revisions made (tested)."""
    for table in _kit_tables(outbox=outbox, inbox=inbox, receipts=receipts):
        op.create_table(table.name, *(column._copy() for column in table.columns))
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            assert index.name is not None
            op.create_index(index.name, table.name, [c.name for c in index.columns], **_index_options(index))


def drop_kit_tables(*, outbox: bool = True, inbox: bool = True, receipts: bool = False) -> None:
    """In `downgrade()`: the tables create_kit_tables made."""
    for table in reversed(_kit_tables(outbox=outbox, inbox=inbox, receipts=receipts)):
        op.drop_table(table.name)


async def ensure_database(server_url: str, name: str) -> None:
    """CREATE DATABASE if missing (one database per service)."""
    conn = await asyncpg.connect(plain_dsn(server_url))
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server that `server_url` points at."""
    base, _, query = server_url.partition("?")
    scheme_host = base.rsplit("/", 1)[0] if base.count("/") > 2 else base
    return f"{scheme_host}/{name}" + (f"?{query}" if query else "")
