"""Signed, expiring, single-purpose patient links (pay, book, confirm, anamnesis).

A link token is an HS256 JWT whose audience names its purpose, so a payment link can never
open a booking page. Tokens carry a `jti`; a page that must be used once records it.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import msgspec

from kit.context import new_id

PURPOSES = frozenset({"pay", "book", "confirm", "reschedule", "anamnesis", "calendar"})
_ISSUER = "clinicflow"


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
    if purpose not in PURPOSES:
        raise ValueError(f"unknown link purpose {purpose!r}")
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
