"""Tables of the gateway database."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

tenants = Table(
    "tenants",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("name", Text, nullable=False),
    Column("country", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), nullable=False),
    Column("email", Text, nullable=False),
    Column("full_name", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False),
    Column("extra_permissions", ARRAY(Text), nullable=False, server_default="{}"),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    #: The staff directory event was queued (existing accounts are announced once, on the first start).
    Column("announced", Boolean, nullable=False, server_default="false"),
    Column("section_ids", ARRAY(UUID(as_uuid=False)), nullable=False, server_default="{}"),
    Column("department_ids", ARRAY(UUID(as_uuid=False)), nullable=False, server_default="{}"),
)
Index("ux_users_email", func.lower(users.c.email), unique=True)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("user_id", UUID(as_uuid=False), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("family_id", UUID(as_uuid=False), nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_refresh_family", "family_id"),
)

#: The clinic's roles: named sets of permissions (users.roles holds their names). Built-in ones are seeded.
roles = Table(
    "roles",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("permissions", ARRAY(Text), nullable=False),
    Column("builtin", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "name", name="ux_roles_tenant_name"),
)

#: Sections and departments (kind) staff belong to.
units = Table(
    "units",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default="true"),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Index("ux_units_tenant_kind_name", units.c.tenant_id, units.c.kind, func.lower(units.c.name), unique=True)

#: Who changed what in the clinic's identity configuration (staff, roles, sections, departments).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("entity", Text, nullable=False),
    Column("entity_id", UUID(as_uuid=False), nullable=False),
    Column("action", Text, nullable=False),
    Column("actor_id", UUID(as_uuid=False)),
    Column("changes", JSONB, nullable=False, server_default="{}"),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_audit_tenant_at", "tenant_id", "at"),
)
