"""What a staff access token says: permission names, claim names, the clinic defaults.

The gateway issues tokens with these claims and every service checks permissions from them (never role
names), so they are a contract between services like the events are (docs/architecture.md, "Identity,
tokens and tenancy"). Add permissions; never rename one that tokens in flight may carry.
"""

from __future__ import annotations

from typing import Final

# --- permissions --------------------------------------------------------------------------------
CRM_READ: Final = "crm:read"
CRM_WRITE: Final = "crm:write"
CRM_ADMIN: Final = "crm:admin"
#: See private activities of others, be made responsible for leads.
CRM_RESPONSIBLE: Final = "crm:responsible"
FINANCE_READ: Final = "finance:read"
#: Create and cancel payment links; refund payments (docs/payments.md).
PAYMENTS_WRITE: Final = "payments:write"
PAYMENTS_REFUND: Final = "payments:refund"
#: The agenda and the waiting room; booking; check-in and no-shows; visits; the clinic's set-up (docs/scheduling.md).
SCHEDULING_READ: Final = "scheduling:read"
SCHEDULING_BOOK: Final = "scheduling:book"
SCHEDULING_CHECKIN: Final = "scheduling:checkin"
SCHEDULING_VISIT: Final = "scheduling:visit"
SCHEDULING_ADMIN: Final = "scheduling:admin"
#: The funnel (docs/funnel.md): see deals and the board; work deals (tasks, plans, curators, moves by hand);
#: configure the clinic's pipelines and stages and see every curator's deals.
FUNNEL_READ: Final = "funnel:read"
FUNNEL_WRITE: Final = "funnel:write"
FUNNEL_ADMIN: Final = "funnel:admin"
#: Analytics (docs/analytics.md): see reports and the dashboard (one's own figures); see the whole clinic's
#: figures; correct a request's source, record campaign spend and the curators' commission rates.
ANALYTICS_READ: Final = "analytics:read"
ANALYTICS_ALL: Final = "analytics:all"
ANALYTICS_WRITE: Final = "analytics:write"
#: Personal data (docs/privacy.md): see the consent ledger, subject requests and the read audit; record consent,
#: open export / correction / erasure requests, download exports, set retention rules.
PRIVACY_READ: Final = "privacy:read"
PRIVACY_MANAGE: Final = "privacy:manage"
#: Open new clinics (the account made on first start).
PLATFORM_ADMIN: Final = "platform:admin"

PERMISSIONS: Final = frozenset(
    {
        CRM_READ,
        CRM_WRITE,
        CRM_ADMIN,
        CRM_RESPONSIBLE,
        FINANCE_READ,
        PAYMENTS_WRITE,
        PAYMENTS_REFUND,
        SCHEDULING_READ,
        SCHEDULING_BOOK,
        SCHEDULING_CHECKIN,
        SCHEDULING_VISIT,
        SCHEDULING_ADMIN,
        FUNNEL_READ,
        FUNNEL_WRITE,
        FUNNEL_ADMIN,
        ANALYTICS_READ,
        ANALYTICS_ALL,
        ANALYTICS_WRITE,
        PRIVACY_READ,
        PRIVACY_MANAGE,
        PLATFORM_ADMIN,
    }
)

# --- claim names of the access token (JWT, EdDSA) ------------------------------------------------
ISSUER: Final = "clinicflow-gateway"
AUDIENCE: Final = "clinicflow"
SUBJECT: Final = "sub"
TENANT: Final = "tid"
EMAIL: Final = "email"
PERMISSIONS_CLAIM: Final = "perm"
ROLES: Final = "roles"
COUNTRY: Final = "country"
LOCALE: Final = "locale"
TIMEZONE: Final = "tz"

# --- the clinic's defaults, when a clinic or a token does not say ------------------------------------
DEFAULT_COUNTRY: Final = "BR"
DEFAULT_LOCALE: Final = "pt-BR"
DEFAULT_TIMEZONE: Final = "America/Sao_Paulo"
