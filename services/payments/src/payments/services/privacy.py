"""payments' answers to data subject requests: its part of an export, its erasure (docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Callable

from contracts import Event
from kit import privacy
from kit.messaging import Handler
from kit.objects import ObjectStore
from payments.privacy_repository import PrivacyRepository


def handlers(
    store: Callable[[], ObjectStore],
) -> dict[type[Event], Handler]:
    """The privacy consumer's handlers (kit.privacy.answers over this service's PrivacyRepository)."""
    return privacy.answers("payments", lambda uow: PrivacyRepository(uow.session), store)
