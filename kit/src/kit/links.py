"""Signed, expiring, single-purpose patient links.

A link token is an HS256 JWT whose audience names its purpose, so a payment link can never
open a booking page. Tokens carry a `jti`; a page that must be used once records it.
The purposes are the services' own words: each service declares the ones it mints and verifies
(e.g. payments `PAY = "pay"`, scheduling `BOOK = "book"`, `CONFIRM = "confirm"`); kit only checks
that a purpose is a short lower-case word, so a typo cannot silently mint a link no page accepts.
"""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import msgspec

from kit.context import new_id

_PURPOSE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
_ISSUER = "clinicflow"


def _check_purpose(purpose: str) -> None:
    if not _PURPOSE.match(purpose):
        raise ValueError(f"a link purpose is a short lower-case word, not {purpose!r}")


class LinkError(Exception):
    """The link is forged, expired, or made for another purpose."""


class PatientLink(msgspec.Struct, frozen=True, kw_only=True):
    purpose: str
    subject: str
    tenant_id: str
    link_id: str
    expires_at: int
    data: dict[str, Any] = {}


def mint(
    secret: str, *, purpose: str, subject: str, tenant_id: str, ttl_seconds: int, data: dict[str, Any] | None = None
) -> str:
    _check_purpose(purpose)
    if len(secret) < 32:
        raise ValueError("the link secret must be at least 32 characters")
    now = int(time.time())
    claims = {
        "iss": _ISSUER,
        "aud": f"patient-link:{purpose}",
        "sub": subject,
        "tid": tenant_id,
        "jti": new_id(),
        "iat": now,
        "exp": now + ttl_seconds,
        "data": data or {},
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify(secret: str, token: str, *, purpose: str) -> PatientLink:
    _check_purpose(purpose)
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=f"patient-link:{purpose}",
            issuer=_ISSUER,
            options={"require": ["exp", "sub", "jti", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise LinkError("this link has expired") from exc
    except jwt.InvalidAudienceError as exc:
        raise LinkError("this link is not valid for this page") from exc
    except jwt.PyJWTError as exc:
        raise LinkError("this link is not valid") from exc
    return PatientLink(
        purpose=purpose,
        subject=claims["sub"],
        tenant_id=claims["tid"],
        link_id=claims["jti"],
        expires_at=claims["exp"],
        data=claims.get("data", {}),
    )
