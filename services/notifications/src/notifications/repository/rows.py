"""Table rows <-> domain objects: messages and the plain dict of a row."""

from typing import Any

from sqlalchemy import bindparam, update

from notifications.domain import Message
from notifications.models import (
    messages,
)

#: Column keys of `messages`, each a field of `Message` (iterating `messages.c` would yield Column objects).
_FIELDS: tuple[str, ...] = tuple(messages.c.keys())
_TUPLES = ("channels", "cancel_on")


def _row(row: Any) -> dict[str, Any]:
    """A result row as a plain dict (column names are str subclasses msgspec does not take as keys)."""
    return {str(k): v for k, v in row._mapping.items()}


def _to_message(row: Any) -> Message:
    values = {c: getattr(row, c) for c in _FIELDS}
    for name in _TUPLES:
        values[name] = tuple(values[name] or ())
    values["addresses"] = dict(values["addresses"] or {})
    values["renders"] = dict(values["renders"] or {})
    return Message(**values)


def _values(message: Message) -> dict[str, Any]:
    values = {c: getattr(message, c) for c in _FIELDS}
    for name in _TUPLES:
        values[name] = list(values[name])
    values["addresses"] = dict(message.addresses)
    values["renders"] = {k: dict(v) for k, v in message.renders.items()}
    return values


_MUTABLE = tuple(c for c in _FIELDS if c not in ("id", "tenant_id"))
_SAVE = update(messages).where(messages.c.id == bindparam("b_id")).values({c: bindparam(f"b_{c}") for c in _MUTABLE})
