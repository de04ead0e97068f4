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
#: Open new clinics (the account made on first start).
PLATFORM_ADMIN: Final = "platform:admin"

PERMISSIONS: Final = frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN, CRM_RESPONSIBLE, FINANCE_READ, PLATFORM_ADMIN})

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
