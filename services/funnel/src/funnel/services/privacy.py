"""funnel's answers to data subject requests: its part of an export, its erasure (docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contracts import Event
from kit import privacy
from kit.messaging import Handler
from kit.objects import ObjectStore


def handlers(store: Callable[[], ObjectStore]) -> dict[type[Event], Handler]:
    """The privacy consumer's handlers (kit.privacy.answers over `uow.privacy`, funnel.repository.privacy); the
    store receives the export and loses the erased valuation photos."""

    def records(uow: Any) -> privacy.SubjectRecords:  # funnel's unit of work (FunnelUnitOfWork)
        return uow.privacy.using(store())  # type: ignore[no-any-return]

    return privacy.answers("funnel", records, store)
