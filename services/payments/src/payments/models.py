"""Tables of the payments database."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID

metadata = MetaData()
Money = Numeric(12, 2)

charges = Table(
    "charges",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("status", Text, nullable=False),
    Column("amount", Money, nullable=False),
    Column("amount_before_discount", Money, nullable=False),
    Column("currency", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("methods", ARRAY(Text), nullable=False),
    Column("provider", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("person_name", Text),
    Column("person_phone", Text),
    Column("person_email", Text),
    Column("person_locale", Text),
    Column("procedure_id", Text),
    Column("appointment_id", Text),
    Column("discount_id", UUID(as_uuid=False)),
    Column("provider_ref", Text),
    Column("checkout_url", Text),
    Column("pix_code", Text),
    Column("provider_payment_id", Text),
    Column("method", Text),
    Column("paid_amount", Money),
    Column("paid_at", DateTime(timezone=True)),
    Column("late", Boolean, nullable=False, server_default=text("false")),
    Column("refunded_amount", Money, nullable=False, server_default=text("0")),
    Column("failure_reason", Text),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_by", UUID(as_uuid=False)),
    Column("reconciled_at", DateTime(timezone=True)),
    Index("ix_charges_tenant_created", "tenant_id", "created_at"),
    Index("ix_charges_tenant_lead", "tenant_id", "lead_id"),
    Index("ix_charges_tenant_patient", "tenant_id", "patient_id"),
    Index("ix_charges_tenant_paid", "tenant_id", "paid_at", postgresql_where=text("paid_at IS NOT NULL")),
    Index("ix_charges_tenant_appointment", "tenant_id", "appointment_id"),
    Index("ix_charges_open", "expires_at", postgresql_where=text("status IN ('pending', 'failed')")),
)

refunds = Table(
    "refunds",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("charge_id", UUID(as_uuid=False), nullable=False),
    Column("amount", Money, nullable=False),
    Column("reason", Text),
    Column("provider_refund_id", Text, nullable=False),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_refunds_charge", "tenant_id", "charge_id"),
)

#: Idempotency-Key of charge creation: the same key and body give the same charge, another body a 409.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("charge_id", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
)

procedure_prices = Table(
    "procedure_prices",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("procedure_id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("amount", Money, nullable=False),
    Column("currency", Text, nullable=False),
    Column("updated_by", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "procedure_id"),
)

discount_rules = Table(
    "discount_rules",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("value", Money, nullable=False),
    Column("procedure_id", Text),
    Column("valid_from", Date),
    Column("valid_until", Date),
    Column("active", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_discount_rules_tenant", "tenant_id"),
)

#: Read model from the leads events: the marketing source of each lead, for the finance view.
lead_sources = Table(
    "lead_sources",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False), nullable=False),
    Column("source", Text, nullable=False),
    Column("patient_id", UUID(as_uuid=False)),
    PrimaryKeyConstraint("tenant_id", "lead_id"),
    Index("ix_lead_sources_patient", "tenant_id", "patient_id"),
)

#: A clinic's own provider account; without one the deployment's default account is used.
#: The secrets are write-only through the API (never returned, never logged).
accounts = Table(
    "accounts",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("provider", Text, nullable=False),
    Column("access_token", Text, nullable=False),
    Column("webhook_secret", Text, nullable=False),
    Column("api_url", Text, nullable=False, server_default=text("''")),
    Column("merchant_name", Text),
    Column("merchant_city", Text),
    Column("pix_key", Text),
    Column("currency", Text, nullable=False, server_default=text("'BRL'")),
    Column("updated_by", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: Every verified webhook delivery, keyed by the provider's event id (same shape as kit's receipt store).
webhook_receipts = Table(
    "webhook_receipts",
    metadata,
    Column("provider", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("provider", "scope", "event_id"),
    Index("ix_webhook_receipts_received_at", "received_at"),
)
