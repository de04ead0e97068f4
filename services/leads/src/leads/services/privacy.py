"""leads' answers to data subject requests: its part of an export, its erasure; and privacy's retention rules,
kept for the `lost_leads` timer (leads.services.retention; docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Callable

from contracts import Event
from contracts.privacy import RetentionSetV1
from kit import privacy
from kit.messaging import Handler
from kit.objects import ObjectStore
from leads.repository.privacy import PrivacyRepository
from leads.services import retention


def handlers(
    store: Callable[[], ObjectStore],
) -> dict[type[Event], Handler]:
    """The privacy consumer's handlers (kit.privacy.answers over this service's PrivacyRepository, and the
    clinic's retention rules)."""
    return {
        **privacy.answers("leads", lambda uow: PrivacyRepository(uow.session), store),
        RetentionSetV1: retention.remember_rule,
    }
