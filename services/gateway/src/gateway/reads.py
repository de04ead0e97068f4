"""Which proxied GETs open a personal record, for the read audit (docs/privacy.md, "Who read what").

Plain rules, no framework: the path (and for anamnesis the `lead_id` query) names the record; the forwarder
records a read when the owning service answered 2xx.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

_ID = r"(?P<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})"
#: (record kind, path pattern). The record id is the path's id.
_RECORDS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("lead", re.compile(rf"^/api/v1/leads/{_ID}$")),
    ("patient", re.compile(rf"^/api/v1/leads/patients/{_ID}$")),
    ("appointment", re.compile(rf"^/api/v1/scheduling/appointments/{_ID}$")),
    ("conversation", re.compile(rf"^/api/v1/notifications/conversations/{_ID}$")),
    ("recording", re.compile(rf"^/api/v1/telephony/recordings/{_ID}/link$")),
)
_ANAMNESIS = "/api/v1/scheduling/anamnesis"
MAX_PURPOSE = 200


def record_of(path: str, query: str) -> tuple[str, str] | None:
    """(kind, id) of the personal record a GET of `path` opens, or None."""
    if path == _ANAMNESIS:
        lead = parse_qs(query).get("lead_id", [""])[0]
        return ("anamnesis", lead) if re.fullmatch(_ID, lead) else None
    for kind, pattern in _RECORDS:
        found = pattern.match(path)
        if found:
            return kind, found.group("id").lower()
    return None


def clean_purpose(raw: str | None) -> str | None:
    value = " ".join((raw or "").split())[:MAX_PURPOSE]
    return value or None
