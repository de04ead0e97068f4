"""One collection envelope for every list endpoint, and comma-list query parameters.

A list endpoint answers `Page[ItemOut]`: `{"items": [...], "total": 1234, "limit": 50, "offset": 0,
"next": null}`. Offset lists fill `offset` and `total`; keyset lists (cursor paging, where a total would
cost a count) fill `next` with the opaque cursor for the following page and leave `total` null; a complete
list (a clinic's pipelines, roles, forms: never paged) is `Page.all(items)`, one page with everything; an
offset window whose count is not worth a query (an audit trail) is `Page.window(items, limit=, offset=)`
with `total` null.
(docs/architecture.md, "List endpoints").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Annotated, Generic, TypeVar

import msgspec
from litestar.exceptions import ValidationException
from litestar.params import Parameter

from kit.web import Limit, Offset

T = TypeVar("T")

__all__ = ["CommaList", "Limit", "Offset", "Page", "comma_list"]

#: A comma-separated query parameter (`?status=new,contacted`); parse it with `comma_list`.
CommaList = Annotated[str | None, Parameter(description="comma-separated values")]


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    limit: int
    total: int | None = None
    offset: int | None = None
    #: Keyset lists: pass it back as `cursor` for the next page; null on the last page.
    next: str | None = None

    @classmethod
    def of(cls, items: Sequence[T], *, total: int, limit: int, offset: int) -> Page[T]:
        """An offset page."""
        return cls(items=list(items), total=total, limit=limit, offset=offset)

    @classmethod
    def all(cls, items: Iterable[T]) -> Page[T]:
        """A complete list in one page: `total` and `limit` are its length, `offset` 0."""
        listed = list(items)
        return cls(items=listed, total=len(listed), limit=len(listed), offset=0)

    @classmethod
    def window(cls, items: Iterable[T], *, limit: int, offset: int) -> Page[T]:
        """An offset page without a count (`total` null): fewer than `limit` items means the last page."""
        return cls(items=list(items), limit=limit, offset=offset)

    @classmethod
    def keyset(cls, items: Sequence[T], *, limit: int, next: str | None) -> Page[T]:
        """A cursor page."""
        return cls(items=list(items), limit=limit, next=next)


def comma_list(
    value: str | Sequence[str] | None, *, field: str, allowed: Collection[str] | None = None, max_items: int = 50
) -> list[str]:
    """`"a, b,,a"` -> `["a", "b"]` (trimmed, empties and repeats dropped, order kept). A repeated parameter
    (`?status=a&status=b,c`, typed `list[str] | None`) is flattened the same way.

    A value outside `allowed`, or more than `max_items`, is a 400 problem naming `field`.
    """
    if not value:
        return []
    raw = [value] if isinstance(value, str) else list(value)
    items = list(dict.fromkeys(v.strip() for part in raw for v in part.split(",") if v.strip()))
    if len(items) > max_items:
        raise _invalid(field, f"at most {max_items} values")
    if allowed is not None:
        unknown = [v for v in items if v not in allowed]
        if unknown:
            raise _invalid(field, f"unknown value {unknown[0]!r}; expected one of {', '.join(sorted(allowed))}")
    return items


def _invalid(field: str, message: str) -> ValidationException:
    return ValidationException(f"{field}: {message}", extra=[{"key": field, "message": message}])
