"""Many rows in one statement: each column as one array parameter, `INSERT ... SELECT FROM unnest(...)`.

A multi-row VALUES statement built by SQLAlchemy is compiled again for every batch (its text depends on the row
count), which cost seconds a batch; this text depends only on the table and columns, so it is compiled and
prepared once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from sqlalchemy import Boolean, Date, DateTime, Integer, Numeric, Table, TextClause, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession


def _array(column: Any) -> str:
    kind = column.type
    if isinstance(kind, JSONB):
        return "jsonb[]"
    if isinstance(kind, DateTime):
        return "timestamptz[]"
    if isinstance(kind, Date):
        return "date[]"
    if isinstance(kind, Numeric):
        return "numeric[]"
    if isinstance(kind, Boolean):
        return "boolean[]"
    if isinstance(kind, Integer):
        return "bigint[]"
    return "text[]"


def _param(column: Any, n: int) -> str:
    array = _array(column)
    if array == "jsonb[]":  # sent as text, so the driver's JSON codec is not involved
        return f"CAST(CAST(:p{n} AS text[]) AS jsonb[])"
    return f"CAST(:p{n} AS {array})"


@lru_cache(maxsize=256)
def _statement(
    table: Table, columns: tuple[str, ...], conflict: tuple[str, ...], update: str, returning: bool
) -> TextClause:
    params = ", ".join(_param(table.c[c], n) for n, c in enumerate(columns))
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT * FROM unnest({params})"
    sql += f" ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {update}"
    clause = text(sql)
    if returning:
        names = ", ".join(c.name for c in table.c)  # named, in the order the typed columns are matched
        clause = text(f"{sql} RETURNING {names}").columns(*table.c)  # type: ignore[assignment]
    return clause


def _value(column: Any, value: Any) -> Any:
    if value is not None and isinstance(column.type, JSONB):
        return json.dumps(value, sort_keys=True, default=str)
    return value


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: str | None = None,
    returning: bool = False,
) -> list[dict[str, Any]]:
    """Insert `rows` (all naming the same columns); on a conflict run `update` (an SQL SET list; by default every
    other column takes the new value). With `returning`, the rows as stored, typed."""
    if not rows:
        return []
    columns = tuple(rows[0].keys())
    if update is None:
        others = [c for c in columns if c not in conflict]
        update = ", ".join(f"{c} = EXCLUDED.{c}" for c in others) or f"{conflict[0]} = EXCLUDED.{conflict[0]}"
    statement = _statement(table, columns, tuple(conflict), update, returning)
    params = {f"p{n}": [_value(table.c[c], r[c]) for r in rows] for n, c in enumerate(columns)}
    result = await session.execute(statement, params)
    return [dict(r) for r in result.mappings().all()] if returning else []
