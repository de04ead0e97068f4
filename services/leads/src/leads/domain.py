"""Leads domain rules in plain Python (DESIGN §5: standard library only)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

LOCALES = ("pt-BR", "es", "ru", "en")

#: Seed of the clinic-configurable source list (slug: label).
DEFAULT_SOURCES = {
    "medical_recommendation": "Medical recommendation",
    "family_recommendation": "Family recommendation",
    "google_search": "Google search",
    "social_media_ads": "Social media ads",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "phone_call": "Phone call",
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "website_form": "Website form",
    "walk_in": "Walk-in",
}

STATUSES = (
    "PENDING_CONTACT",
    "CONTACTED_NO_RESPONSE",
    "CONTACTED_CALL_LATER",
    "RESCHEDULED",
    "REQUIRES_FOLLOW_UP",
    "NOT_INTERESTED",
    "APPOINTMENT_CANCELED",
    "INTERESTED_SCHEDULE_APPOINTMENT",
    "APPOINTMENT_SCHEDULED",
    "VISIT_COMPLETED",
)
INITIAL_STATUS = "PENDING_CONTACT"

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class LeadsError(Exception):
    """Base of every rule violation in this context."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLead(LeadsError):
    """Input that breaks a rule; `field` names the offending field."""


class LeadNotFound(LeadsError):
    pass


@dataclass(frozen=True)
class Lead:
    id: str
    tenant_id: str
    name: str
    phone: str
    email: str | None
    source: str
    locale: str | None
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidLead("The name must not be empty.", field="name")
    if len(cleaned) > 200:
        raise InvalidLead("The name must be at most 200 characters.", field="name")
    return cleaned


def clean_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidLead(f"{email!r} is not an e-mail address.", field="email")
    return email


def check_source(source: str, known: dict[str, str] = DEFAULT_SOURCES) -> str:
    slug = source.strip().lower()
    if slug not in known:
        raise InvalidLead(f"Unknown source {source!r}; use one of: {', '.join(known)}.", field="source")
    return slug


def check_locale(locale: str | None) -> str | None:
    if locale is None:
        return None
    if locale not in LOCALES:
        raise InvalidLead(f"Unsupported language {locale!r}; use one of: {', '.join(LOCALES)}.", field="locale")
    return locale


def new_lead(
    *,
    lead_id: str,
    tenant_id: str,
    name: str,
    phone_e164: str,
    email: str | None,
    source: str,
    locale: str | None,
    created_by: str,
    now: datetime,
) -> Lead:
    return Lead(
        id=lead_id,
        tenant_id=tenant_id,
        name=clean_name(name),
        phone=phone_e164,
        email=clean_email(email),
        source=check_source(source),
        locale=check_locale(locale),
        status=INITIAL_STATUS,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
