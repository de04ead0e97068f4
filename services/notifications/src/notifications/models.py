"""Tables of the notifications database."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

messages = Table(
    "messages",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("channel", Text, nullable=False),
    Column("to", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("provider", Text),
    Column("provider_message_id", Text),
    Column("correlation_id", Text),
    Column("causation_id", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("conversation_id", UUID(as_uuid=False)),
    Column("rule_key", Text, nullable=False, server_default="manual"),
    Column("recipient", Text, nullable=False, server_default="person"),
    Column("event_type", Text),
    Column("dedupe_key", Text),
    Column("channels", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("step", Integer, nullable=False, server_default="0"),
    Column("addresses", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("renders", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("subject", Text),
    Column("cancel_key", Text),
    Column("cancel_on", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("delivered_at", DateTime(timezone=True)),
    Column("read_at", DateTime(timezone=True)),
    Column("leased_until", DateTime(timezone=True)),
    #: A staff reply written from the reply assistant's suggestions (message.sent carries it).
    Column("suggestion", JSONB),
    Index("ix_messages_tenant_lead", "tenant_id", "lead_id", "created_at"),
    Index("ix_messages_due", "next_attempt_at", postgresql_where=text("status IN ('queued', 'sending')")),
    # One event -> at most one message per rule and recipient, through redeliveries, restarts and fallbacks.
    Index(
        "ux_messages_dedupe", "tenant_id", "dedupe_key", unique=True, postgresql_where=text("dedupe_key IS NOT NULL")
    ),
    Index("ix_messages_provider_id", "provider_message_id", postgresql_where=text("provider_message_id IS NOT NULL")),
    Index("ix_messages_cancel", "tenant_id", "cancel_key", postgresql_where=text("status = 'queued'")),
    Index("ix_messages_conversation", "conversation_id", "created_at"),
    Index("ix_messages_tenant_created", "tenant_id", "created_at"),
)

templates = Table(
    "templates",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("name", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("updated_by", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("subject", Text),
    #: The clinic's approved WhatsApp template of this text (sent outside the 24-hour window).
    Column("wa_template", Text),
    PrimaryKeyConstraint("tenant_id", "name", "locale", "channel"),
)

rules = Table(
    "rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("key", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("channels", JSONB, nullable=False),
    Column("recipient", Text, nullable=False),
    Column("conditions", JSONB, nullable=False),
    Column("delay_seconds", Integer, nullable=False),
    Column("quiet_hours", Boolean, nullable=False),
    Column("cancel_on", JSONB, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_by", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
)

clinic_settings = Table(
    "clinic_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("timezone", Text, nullable=False),
    Column("locale", Text, nullable=False),
    Column("quiet_start", Text),
    Column("quiet_end", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("channel", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "channel", "address"),
)

#: notifications' copy of the privacy service's consent ledger (consent.given / .withdrawn events), the latest entry
#: per person, purpose and channel; checked with opt_outs before a message goes (notifications.consent).
privacy_consents = Table(
    "privacy_consents",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("person_key", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("granted", Boolean, nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("phone", Text),
    Column("email", Text),
    Column("at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "person_key", "purpose", "channel"),
    Index("ix_privacy_consents_lead", "tenant_id", "lead_id"),
    Index("ix_privacy_consents_phone", "tenant_id", "phone"),
)

#: The contact data notifications keeps of each lead (from lead events), and its sales agent.
contacts = Table(
    "contacts",
    metadata,
    Column("lead_id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("patient_id", UUID(as_uuid=False)),
    Column("name", Text),
    Column("phone", Text),
    Column("email", Text),
    Column("locale", Text),
    Column("owner_id", UUID(as_uuid=False)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("name", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_message_at", DateTime(timezone=True), nullable=False),
    Index("ix_conversations_lead", "tenant_id", "lead_id"),
    Index("ix_conversations_patient", "tenant_id", "patient_id"),
)

#: One person's addresses on each channel, all in the same conversation.
conversation_addresses = Table(
    "conversation_addresses",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("channel", Text, nullable=False),
    Column("address", Text, nullable=False),
    Column("conversation_id", UUID(as_uuid=False), nullable=False),
    Column("last_inbound_at", DateTime(timezone=True)),
    PrimaryKeyConstraint("tenant_id", "channel", "address"),
    Index("ix_conversation_addresses_conversation", "conversation_id"),
)

inbound_messages = Table(
    "inbound_messages",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("conversation_id", UUID(as_uuid=False), nullable=False),
    Column("channel", Text, nullable=False),
    Column("sender", Text, nullable=False),
    Column("sender_name", Text),
    Column("text", Text),
    Column("button_id", Text),
    Column("reply_to_message_id", UUID(as_uuid=False)),
    Column("provider", Text, nullable=False),
    Column("provider_message_id", Text, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    #: What came with the message: [{kind, content_type, size, sha256, caption, object_key, provider_media_id}]
    #: (object_key: our copy, once the worker fetched it from the provider).
    Column("media", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    #: A message whose media the worker still has to fetch: {"event": message.received without its media,
    #: "correlation_id"}; published once they are fetched (docs/notifications.md, "Media"). Null: published.
    Column("pending_event", JSONB),
    Column("media_attempts", Integer, nullable=False, server_default=text("0")),
    Column("media_due_at", DateTime(timezone=True)),
    Index("ux_inbound_provider_id", "provider", "provider_message_id", unique=True),
    Index("ix_inbound_conversation", "conversation_id", "received_at"),
    Index("ix_inbound_tenant_received", "tenant_id", "received_at"),
    Index("ix_inbound_media_due", "media_due_at", postgresql_where=text("pending_event IS NOT NULL")),
    # and ix_inbound_text_trgm: gin (lower(text) gin_trgm_ops), the reply assistant's examples (migration 0c9ff6bb0d4a)
)

#: Which clinic a provider account (WhatsApp phone number id, SMS number, Instagram page, Telegram bot) serves.
channel_accounts = Table(
    "channel_accounts",
    metadata,
    Column("channel", Text, nullable=False),
    Column("account_id", Text, nullable=False),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("channel", "account_id"),
)

inapp_notifications = Table(
    "inapp_notifications",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    #: user:<id> or role:<role>.
    Column("audience", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("lead_id", UUID(as_uuid=False)),
    Column("patient_id", UUID(as_uuid=False)),
    Column("subject", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_inapp_tenant_audience", "tenant_id", "audience", "created_at"),
)

inapp_reads = Table(
    "inapp_reads",
    metadata,
    Column("notification_id", UUID(as_uuid=False), nullable=False),
    Column("user_id", UUID(as_uuid=False), nullable=False),
    Column("read_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("notification_id", "user_id"),
)

#: Which reminder step (rule, channel) an appointment's confirmation followed, for the confirmation rate.
confirmations = Table(
    "confirmations",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("appointment_id", UUID(as_uuid=False), nullable=False),
    Column("via", Text, nullable=False),
    Column("rule_key", Text),
    Column("channel", Text),
    Column("confirmed_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "appointment_id"),
)

#: The clinic's reply assistant: its OpenAI-compatible endpoint, model, API key (sealed, kit.sealing) and prices.
assistant_settings = Table(
    "assistant_settings",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), primary_key=True),
    Column("enabled", Boolean, nullable=False),
    Column("endpoint_url", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("api_key", Text, nullable=False),
    #: Per 1,000 tokens, in the clinic's currency; null: no cost is reported.
    Column("prompt_price", Numeric(12, 6)),
    Column("completion_price", Numeric(12, 6)),
    Column("updated_by", UUID(as_uuid=False), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: What the assistant suggested to whom (a staff reply names the row it used; reply.suggested announces it).
reply_suggestions = Table(
    "reply_suggestions",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("conversation_id", UUID(as_uuid=False), nullable=False),
    Column("staff_id", UUID(as_uuid=False), nullable=False),
    Column("model", Text, nullable=False),
    Column("texts", JSONB, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost", Numeric(14, 6)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_reply_suggestions_conversation", "tenant_id", "conversation_id", "created_at"),
)

#: The clinic's retention rules, copied from privacy's `retention.set` (docs/privacy.md, "How long"); the worker's
#: retention timer applies the `messages` one.
retention_rules = Table(
    "retention_rules",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), nullable=False),
    Column("kind", Text, nullable=False),
    Column("days", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "kind"),
)
