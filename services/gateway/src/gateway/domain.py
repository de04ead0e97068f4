"""Staff identity rules in plain Python: roles, permissions, accounts, refresh-token rotation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

#: scheduling:read (agenda, availability, waiting room), :book (book, confirm, reschedule, cancel, returns),
#: :checkin (arrival, no-show), :visit (start and finish visits), :admin (branches, professionals, procedures,
#: questionnaires, policy).
_SCHEDULING_ALL = frozenset(
    {"scheduling:read", "scheduling:book", "scheduling:checkin", "scheduling:visit", "scheduling:admin"}
)
_SCHEDULING_DESK = frozenset({"scheduling:read", "scheduling:book", "scheduling:checkin"})
_SCHEDULING_CLINICIAN = frozenset({"scheduling:read", "scheduling:visit"})

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"crm:read", "crm:write", "crm:admin", "crm:responsible", "finance:read"}) | _SCHEDULING_ALL,
    "manager": frozenset({"crm:read", "crm:write", "crm:responsible", "finance:read"}) | _SCHEDULING_DESK,
    "sales_agent": frozenset({"crm:read", "crm:write", "scheduling:read", "scheduling:book"}),
    "reception": frozenset({"crm:read", "crm:write"}) | _SCHEDULING_DESK,
    "professional": frozenset({"crm:read"}) | _SCHEDULING_CLINICIAN,
    "diagnostic_doctor": frozenset({"crm:read"}) | _SCHEDULING_CLINICIAN,
    "finance": frozenset({"crm:read", "finance:read", "scheduling:read"}),
}
#: Held by the operator account created on first start: may open new clinics.
PLATFORM_ADMIN = "platform:admin"

COUNTRIES = ("BR", "ES", "MX", "AR", "CO", "CL", "PE", "RU", "PT", "US")
LOCALES = ("pt-BR", "es", "ru", "en")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10


class GatewayError(Exception):
    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(GatewayError):
    pass


class InvalidCredentials(GatewayError):
    pass


class TooManyAttempts(GatewayError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} s.")
        self.retry_after = retry_after


class UpstreamUnavailable(GatewayError):
    """The service behind a route does not answer; the client may retry shortly."""

    def __init__(self, service: str, retry_after: int = 5) -> None:
        super().__init__(f"The {service} service is not answering right now; try again in a few seconds.")
        self.retry_after = retry_after


class Conflict(GatewayError):
    pass


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    country: str
    locale: str
    timezone: str
    created_at: datetime


@dataclass(frozen=True)
class User:
    id: str
    tenant_id: str
    email: str
    full_name: str
    password_hash: str
    roles: tuple[str, ...]
    extra_permissions: tuple[str, ...]
    active: bool
    created_at: datetime

    @property
    def permissions(self) -> frozenset[str]:
        granted: set[str] = set(self.extra_permissions)
        for role in self.roles:
            granted |= ROLE_PERMISSIONS.get(role, frozenset())
        return frozenset(granted)


@dataclass(frozen=True)
class RefreshToken:
    id: str
    user_id: str
    family_id: str
    token_hash: str
    expires_at: datetime
    revoked_at: datetime | None


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an e-mail address.", field="email")
    return email


def check_roles(roles: list[str]) -> tuple[str, ...]:
    unknown = [r for r in roles if r not in ROLE_PERMISSIONS]
    if unknown or not roles:
        raise InvalidInput(f"Roles must be among: {', '.join(ROLE_PERMISSIONS)}.", field="roles")
    return tuple(dict.fromkeys(roles))


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"The password needs at least {MIN_PASSWORD} characters.", field="password")


def check_clinic(country: str, locale: str) -> None:
    if country not in COUNTRIES:
        raise InvalidInput(f"Country must be one of {', '.join(COUNTRIES)}.", field="country")
    if locale not in LOCALES:
        raise InvalidInput(f"Locale must be one of {', '.join(LOCALES)}.", field="locale")


def refresh_usable(token: RefreshToken | None, now: datetime) -> RefreshToken:
    if token is None or token.expires_at <= now:
        raise InvalidCredentials("The refresh token is unknown or expired; log in again.")
    return token


def is_reuse(token: RefreshToken) -> bool:
    """A rotated-out token presented again means it leaked: the whole family is revoked."""
    return token.revoked_at is not None
