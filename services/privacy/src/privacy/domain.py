"""Rules of privacy: plain Python, no framework (an import contract keeps it so)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

MAX_TITLE = 200


class PrivacyError(Exception):
    """Base of the service's errors; `field` names the offending field in the problem document."""

    field: str | None = None


class InvalidPrivacy(PrivacyError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Item:
    id: str
    tenant_id: str
    title: str
    created_by: str
    created_at: datetime


def clean_title(title: str) -> str:
    """Trimmed, 1 to MAX_TITLE characters."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidPrivacy("The title must not be empty.", field="title")
    if len(cleaned) > MAX_TITLE:
        raise InvalidPrivacy(f"The title has at most {MAX_TITLE} characters.", field="title")
    return cleaned
