"""Staff identity rules in plain Python: roles, permissions, sections and departments, accounts, refresh-token
rotation."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

#: Every permission a role may grant, and what it allows. Services check these names in the token, never roles.
PERMISSIONS: dict[str, str] = {
    "crm:read": "see leads, patients, activities and messages",
    "crm:write": "create and edit leads, statuses, requests, activities; match, merge, convert",
    "crm:admin": "configure the clinic: staff, roles, sections, departments, lists, forms, templates; delete leads",
    "crm:responsible": "see everyone's private activities",
    "finance:read": "see payments and financial reports",
    "payments:write": "create and cancel payment links",
    "payments:refund": "refund payments",
    "scheduling:read": "see the agenda, availability and the waiting room",
    "scheduling:book": "book, confirm, reschedule and cancel appointments; book returns",
    "scheduling:checkin": "check patients in, mark no-shows",
    "scheduling:visit": "start and finish visits",
    "scheduling:admin": "configure branches, professionals, procedures, questionnaires and the booking policy",
    "funnel:read": "see the funnel board and deal cards (without funnel:admin: unassigned deals and one's own)",
    "funnel:write": "work deals: tasks, treatment plans, curators, moving deals by hand in manual mode",
    "funnel:admin": "configure pipelines and stages; see every curator's deals",
    "analytics:read": "see the reports and the dashboard (without analytics:all: one's own leads, contacts, patients)",
    "analytics:all": "see the whole clinic's figures in the reports and the dashboard",
    "analytics:write": "correct a request's source; record campaign spend and the curators' commission rates",
    "privacy:read": "see the consent ledger, data subject requests, the read audit and retention reports",
    "privacy:manage": "record consent; open, answer and download export, correction and erasure requests; retention",
}
_ANALYTICS_ALL = frozenset({"analytics:read", "analytics:all", "analytics:write"})
_ANALYTICS_OWN = frozenset({"analytics:read"})
_FUNNEL_ALL = frozenset({"funnel:read", "funnel:write", "funnel:admin"})
_FUNNEL_WORK = frozenset({"funnel:read", "funnel:write"})
_SCHEDULING_ALL = frozenset(
    {"scheduling:read", "scheduling:book", "scheduling:checkin", "scheduling:visit", "scheduling:admin"}
)
_SCHEDULING_DESK = frozenset({"scheduling:read", "scheduling:book", "scheduling:checkin"})
_SCHEDULING_CLINICIAN = frozenset({"scheduling:read", "scheduling:visit"})
_PRIVACY = frozenset({"privacy:read", "privacy:manage"})

#: The roles every clinic starts with (seeded, then the clinic's to edit).
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {"crm:read", "crm:write", "crm:admin", "crm:responsible", "finance:read", "payments:write", "payments:refund"}
    )
    | _SCHEDULING_ALL
    | _FUNNEL_ALL
    | _ANALYTICS_ALL
    | _PRIVACY,
    "manager": frozenset({"crm:read", "crm:write", "crm:responsible", "finance:read", "payments:write"})
    | _SCHEDULING_DESK
    | _FUNNEL_ALL
    | _ANALYTICS_ALL,
    "sales_agent": frozenset({"crm:read", "crm:write", "payments:write", "scheduling:read", "scheduling:book"})
    | _FUNNEL_WORK
    | _ANALYTICS_OWN,
    #: Follows arrived patients through their treatment (docs/funnel.md, "Curators").
    "curator": frozenset({"crm:read", "scheduling:read"}) | _FUNNEL_WORK | _ANALYTICS_OWN,
    "reception": frozenset({"crm:read", "crm:write", "payments:write"}) | _SCHEDULING_DESK | _ANALYTICS_OWN,
    "professional": frozenset({"crm:read"}) | _SCHEDULING_CLINICIAN,
    "diagnostic_doctor": frozenset({"crm:read"}) | _SCHEDULING_CLINICIAN,
    "finance": frozenset(
        {"crm:read", "finance:read", "payments:refund", "scheduling:read", "analytics:read", "analytics:all"}
    ),
    #: The clinic's data protection officer (LGPD encarregado, GDPR DPO): answers data subject requests.
    "privacy_officer": frozenset({"crm:read", "scheduling:read"}) | _PRIVACY,
}
BUILTIN_ROLES = ROLE_PERMISSIONS
#: The role that configures the clinic; it keeps crm:admin so a clinic cannot lock itself out.
ADMIN_ROLE = "admin"
#: Held by the operator account created on first start: may open new clinics.
PLATFORM_ADMIN = "platform:admin"
_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
UNIT_KINDS = ("section", "department")

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


class NotFound(GatewayError):
    pass


class InvalidPath(GatewayError):
    """A path the proxy cannot forward (a control character in it)."""

    def __init__(self) -> None:
        super().__init__("The path contains a character that cannot be forwarded.", field="path")


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
    section_ids: tuple[str, ...] = ()
    department_ids: tuple[str, ...] = ()

    @property
    def permissions(self) -> frozenset[str]:
        """With the built-in roles' permissions; a clinic's own are `permissions_with(its roles)`."""
        return self.permissions_with(ROLE_PERMISSIONS)

    def permissions_with(self, roles: Mapping[str, frozenset[str]]) -> frozenset[str]:
        granted: set[str] = set(self.extra_permissions)
        for role in self.roles:
            granted |= roles.get(role, frozenset())
        return frozenset(granted)


@dataclass(frozen=True)
class Role:
    """A named set of permissions, the clinic's own; the built-in ones are seeded and editable."""

    id: str
    tenant_id: str
    name: str
    description: str
    permissions: frozenset[str]
    builtin: bool
    updated_at: datetime


@dataclass(frozen=True)
class Unit:
    """A section or department staff belong to (routing, reports)."""

    id: str
    tenant_id: str
    kind: str
    name: str
    active: bool
    updated_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    entity: str
    entity_id: str
    action: str
    actor_id: str | None
    changes: dict[str, list[object]] = field(default_factory=dict)
    at: datetime | None = None


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


def check_roles(roles: list[str], known: Mapping[str, object] = ROLE_PERMISSIONS) -> tuple[str, ...]:
    """At least one role, each one of the clinic's (`known`: its roles by name)."""
    unknown = [r for r in roles if r not in known]
    if unknown or not roles:
        raise InvalidInput(f"Roles must be among: {', '.join(known)}.", field="roles")
    return tuple(dict.fromkeys(roles))


def check_role_name(name: str) -> str:
    if not _ROLE_NAME.match(name):
        raise InvalidInput(
            "A role name is 2-40 lower-case letters, digits or '_', starting with a letter.", field="name"
        )
    return name


def check_permissions(permissions: list[str], *, role: str) -> frozenset[str]:
    unknown = sorted(set(permissions) - PERMISSIONS.keys())
    if unknown:
        raise InvalidInput(
            f"Unknown permission {unknown[0]!r}; use those of GET /api/v1/identity/permissions.", field="permissions"
        )
    if role == ADMIN_ROLE and "crm:admin" not in permissions:
        raise InvalidInput(
            "The admin role keeps crm:admin, so the clinic can always be configured.", field="permissions"
        )
    return frozenset(permissions)


def check_unit_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not 1 <= len(cleaned) <= 120:
        raise InvalidInput("A name has 1-120 characters.", field="name")
    return cleaned


def check_units(ids: list[str], known: Mapping[str, Unit], *, kind: str, field_name: str) -> tuple[str, ...]:
    """Ids of the clinic's active sections (or departments); anything else is a 422 naming the field."""
    for unit_id in ids:
        unit = known.get(unit_id)
        if unit is None or unit.kind != kind or not unit.active:
            raise InvalidInput(f"{unit_id} is not an active {kind} of this clinic.", field=field_name)
    return tuple(dict.fromkeys(ids))


def diff(before: Mapping[str, object], after: Mapping[str, object]) -> dict[str, list[object]]:
    """field -> [before, after] for the fields that changed (for the audit log)."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


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
