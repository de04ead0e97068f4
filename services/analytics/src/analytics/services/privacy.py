"""analytics' answers to data subject requests: its part of an export, its erasure (docs/privacy.md).

The handlers run on the worker's unit of work (analytics.services.work), so the records are `uow.privacy`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from analytics.services.work import AnalyticsWork
from contracts import Event
from kit import privacy
from kit.messaging import Handler
from kit.objects import ObjectStore

SERVICE = "analytics"


def handlers(store: Callable[[], ObjectStore]) -> dict[type[Event], Handler]:
    """The privacy consumer's handlers (kit.privacy.answers over analytics' PrivacyRepository)."""
    return privacy.answers(SERVICE, lambda uow: cast(AnalyticsWork, uow).privacy, store)
