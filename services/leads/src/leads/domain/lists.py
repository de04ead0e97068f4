"""Clinic-configurable lists: sources, groups, treatments, channels, request statuses, contact methods."""

from __future__ import annotations

import re
from dataclasses import dataclass

from leads.domain.errors import InvalidLead
from leads.domain.leads import search_key

KINDS = ("source", "group", "treatment", "channel", "request_status", "contact_method")

#: Seeds for a new clinic; each clinic edits its own copy.
DEFAULTS: dict[str, list[tuple[str, str, str | None]]] = {
    "source": [
        ("medical_recommendation", "Medical recommendation", None),
        ("family_recommendation", "Family recommendation", None),
        ("google_search", "Google search", None),
        ("social_media_ads", "Social media ads", None),
        ("facebook", "Facebook", None),
        ("instagram", "Instagram", None),
        ("tiktok", "TikTok", None),
        ("phone_call", "Phone call", None),
        ("whatsapp", "WhatsApp", None),
        ("telegram", "Telegram", None),
        ("website_form", "Website form", None),
        ("walk_in", "Walk-in", None),
    ],
    "group": [
        ("aesthetics", "Aesthetics", None),
        ("dental", "Dental", None),
        ("hair", "Hair", None),
        ("general", "General practice", None),
    ],
    "treatment": [("first_consultation", "First consultation", None), ("evaluation", "Evaluation", None)],
    "channel": [("in_person", "In person", None), ("video", "Video call", None), ("phone", "Phone", None)],
    "request_status": [
        ("new", "New", "#3B82F6"),
        ("in_progress", "In progress", "#F59E0B"),
        ("answered", "Answered", "#10B981"),
        ("lost", "Lost", "#6B7280"),
    ],
    "contact_method": [
        ("phone", "Phone", None),
        ("whatsapp", "WhatsApp", None),
        ("email", "E-mail", None),
        ("sms", "SMS", None),
        ("telegram", "Telegram", None),
    ],
}

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_]{0,62}$")
_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class ListItem:
    id: str
    tenant_id: str
    kind: str
    slug: str
    label: str
    color: str | None
    position: int
    active: bool


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise InvalidLead(f"Unknown list {kind!r}; lists are: {', '.join(KINDS)}.", field="kind")
    return kind


def check_slug(slug: str) -> str:
    if not _SLUG.match(slug):
        raise InvalidLead(
            "A key is 1-63 lower-case letters, digits or '_', starting with a letter or digit.", field="slug"
        )
    return slug


def check_label(label: str) -> str:
    cleaned = " ".join(label.split())
    if not cleaned or len(cleaned) > 120:
        raise InvalidLead("A label is 1-120 characters.", field="label")
    return cleaned


def check_color(color: str | None) -> str | None:
    if color is None:
        return None
    if not _COLOUR.match(color):
        raise InvalidLead("A colour is written #RRGGBB.", field="color")
    return color.upper()


def slug_from(label: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", search_key(label)).strip("_")[:63]
    return check_slug(slug or "item")


#: Intake matching looks for the same person among leads touched in the last N days (0: matching off).
MAX_DEDUPE_WINDOW_DAYS = 365


def check_dedupe_window(days: int) -> int:
    if not 0 <= days <= MAX_DEDUPE_WINDOW_DAYS:
        raise InvalidLead(
            f"The window is 0 to {MAX_DEDUPE_WINDOW_DAYS} days (0 turns matching on intake off).",
            field="dedupe_window_days",
        )
    return days
