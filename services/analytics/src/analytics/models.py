"""Tables of the analytics database: the projections (rebuilt from the topics) and what staff enter here.

Ids from events are kept as text (every producer's id is a string in the contracts). The projection tables are
emptied and refilled by `python -m analytics rebuild`; `source_corrections`, `campaign_spend` and
`commission_rates` are analytics' own data and survive it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, Numeric, Table, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()


def _id(name: str, *, key: bool = False) -> Column[Any]:
    return Column(name, Text, primary_key=key, nullable=not key)


def _at(name: str) -> Column[Any]:
    return Column(name, DateTime(timezone=True))


def _money(name: str) -> Column[Any]:
    return Column(name, Numeric(14, 2))


leads = Table(
    "leads",
    metadata,
    _id("tenant_id", key=True),
    _id("lead_id", key=True),
    _at("created_at"),
    Column("name", Text),
    Column("phone", Text),
    Column("intake", Text),
    Column("source", Text),
    Column("attribution", JSONB),
    _at("owner_at"),
    _id("owner_id"),
    _at("status_at"),
    Column("status", Text),
    _at("first_contact_at"),
    _id("first_contact_by"),
    _at("first_message_at"),
    Column("message_channel", Text),
    _at("converted_at"),
    _id("patient_id"),
    _at("merged_at"),
    _id("merged_into"),
    _at("deleted_at"),
    Column("channel", Text),
    Index("ix_leads_tenant_created", "tenant_id", "created_at"),
    Index("ix_leads_tenant_patient", "tenant_id", "patient_id"),
    Index("ix_leads_tenant_phone", "tenant_id", "phone"),
    Index("ix_leads_tenant_merged_into", "tenant_id", "merged_into"),
)


def _person() -> tuple[Column[Any], ...]:
    return (_id("lead_id"), _id("patient_id"), Column("phone", Text))


appointments = Table(
    "appointments",
    metadata,
    _id("tenant_id", key=True),
    _id("appointment_id", key=True),
    *_person(),
    _at("booked_at"),
    Column("booking_source", Text),
    _id("booked_by"),
    _id("branch_id"),
    _id("professional_id"),
    _id("procedure_id"),
    Column("timezone", Text),
    _at("slot_at"),
    _at("starts_at"),
    _id("slot_branch_id"),
    _id("slot_professional_id"),
    _at("confirmed_at"),
    Column("confirmed_via", Text),
    _at("cancelled_at"),
    _at("no_show_at"),
    _at("arrived_at"),
    _at("visit_started_at"),
    _at("completed_at"),
    Index("ix_appointments_tenant_lead", "tenant_id", "lead_id"),
    Index("ix_appointments_tenant_patient", "tenant_id", "patient_id"),
    Index("ix_appointments_tenant_starts", "tenant_id", "starts_at"),
    Index("ix_appointments_tenant_phone", "tenant_id", "phone"),
)

reminders = Table(
    "reminders",
    metadata,
    _id("tenant_id", key=True),
    _id("reminder_id", key=True),
    _at("due_at"),
    _id("appointment_id"),
    Column("offset_minutes", Integer),
    Index("ix_reminders_tenant_appointment", "tenant_id", "appointment_id"),
)

payments = Table(
    "payments",
    metadata,
    _id("tenant_id", key=True),
    _id("payment_id", key=True),
    *_person(),
    _id("appointment_id"),
    _id("procedure_id"),
    _at("link_created_at"),
    _money("amount"),
    _money("amount_before_discount"),
    Column("currency", Text),
    _id("created_by"),
    _at("paid_at"),
    _money("paid_amount"),
    Column("method", Text),
    _money("refunded_total"),
    Index("ix_payments_tenant_paid", "tenant_id", "paid_at"),
    Index("ix_payments_tenant_lead", "tenant_id", "lead_id"),
    Index("ix_payments_tenant_patient", "tenant_id", "patient_id"),
    Index("ix_payments_tenant_phone", "tenant_id", "phone"),
    Index("ix_payments_tenant_appointment", "tenant_id", "appointment_id"),
)

calls = Table(
    "calls",
    metadata,
    _id("tenant_id", key=True),
    _id("call_id", key=True),
    _at("started_at"),
    Column("direction", Text),
    Column("caller", Text),
    Column("tracking_number", Text),
    Column("call_source", Text),
    _id("lead_id"),
    _at("answered_at"),
    _at("missed_at"),
    Index("ix_calls_tenant_caller", "tenant_id", "caller"),
)

deals = Table(
    "deals",
    metadata,
    _id("tenant_id", key=True),
    _id("deal_id", key=True),
    *_person(),
    _at("created_at"),
    Column("pipeline_kind", Text),
    Column("deal_source", Text),
    _at("curator_at"),
    _id("curator_id"),
    _at("lost_at"),
    Index("ix_deals_tenant_lead", "tenant_id", "lead_id"),
    Index("ix_deals_tenant_patient", "tenant_id", "patient_id"),
    Index("ix_deals_tenant_phone", "tenant_id", "phone"),
)

plans = Table(
    "plans",
    metadata,
    _id("tenant_id", key=True),
    _id("plan_id", key=True),
    _at("created_at"),
    _id("deal_id"),
    Column("title", Text),
    _money("total"),
    _money("total_before_discount"),
    Column("currency", Text),
    _at("signed_at"),
    _at("completed_at"),
    Index("ix_plans_tenant_deal", "tenant_id", "deal_id"),
)

#: Leads' activities (origin `lead`) and the funnel's tasks (origin `deal`).
tasks = Table(
    "tasks",
    metadata,
    _id("tenant_id", key=True),
    _id("task_id", key=True),
    _at("created_at"),
    _id("deal_id"),
    _id("lead_id"),
    Column("origin", Text),
    Column("kind", Text),
    Column("title", Text),
    _id("responsible_id"),
    _at("due_at"),
    _at("completed_at"),
    _at("cancelled_at"),
    Index("ix_tasks_tenant_due", "tenant_id", "due_at"),
)

names = Table(
    "names",
    metadata,
    _id("tenant_id", key=True),
    Column("kind", Text, primary_key=True),
    _id("id", key=True),
    _at("named_at"),
    Column("name", Text),
)

suggestions = Table(
    "suggestions",
    metadata,
    _id("tenant_id", key=True),
    _id("suggestion_id", key=True),
    _at("suggested_at"),
    _id("staff_id"),
    _id("conversation_id"),
    _id("lead_id"),
    _id("patient_id"),
    Column("channel", Text),
    Column("model", Text),
    Column("offered", Integer),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    Column("cost", Numeric(14, 6)),
    _at("used_at"),
    Column("use", Text),
    _id("message_id"),
    Index("ix_suggestions_tenant_suggested", "tenant_id", "suggested_at"),
)

#: Each conversation of notifications: when the person last wrote (the AI usage report's "replied").
conversations = Table(
    "conversations",
    metadata,
    _id("tenant_id", key=True),
    _id("conversation_id", key=True),
    _at("last_received_at"),
)

PROJECTION_TABLES = {
    t.name: t
    for t in (leads, appointments, reminders, payments, calls, deals, plans, tasks, names, suggestions, conversations)
}

# --- facts and rollups: derived from the projections by the consumers' transactions (analytics.domain.facts) ---
#: What the reports read of the facts, carried in their period indexes.
LEAD_FACT_INCLUDE = ("channel", "source", "owner_id", "professional_id", "branch_id", "booked_at", "arrived_at",
                     "treated_at", "paid_at", "revenue", "corrected")  # fmt: skip
PAYMENT_FACT_INCLUDE = ("channel", "source", "owner_id", "professional_id", "branch_id", "procedure_id", "gross",
                        "refunded")  # fmt: skip

#: One row per lead that counts (known, not merged away, not deleted): its attribution and the time of each step.
lead_facts = Table(
    "lead_facts",
    metadata,
    _id("tenant_id", key=True),
    _id("lead_id", key=True),
    _at("created_at"),
    Column("day", Date),
    Column("channel", Text),
    Column("source", Text),
    Column("original_source", Text),
    Column("corrected", Boolean),
    _id("owner_id"),
    _at("first_contact_at"),
    _id("first_contact_by"),
    _id("professional_id"),
    _id("branch_id"),
    _at("booked_at"),
    _at("arrived_at"),
    _at("treated_at"),
    _at("paid_at"),
    _money("revenue"),
    #: Covering: a report over the period's facts is an index-only scan.
    Index(
        "ix_lead_facts_tenant_created",
        "tenant_id",
        "created_at",
        postgresql_include=[*LEAD_FACT_INCLUDE],
    ),
)

#: One row per confirmed payment: the lead it resolves to and that lead's attribution, the doctor and branch.
payment_facts = Table(
    "payment_facts",
    metadata,
    _id("tenant_id", key=True),
    _id("payment_id", key=True),
    _id("lead_id"),
    _at("paid_at"),
    Column("day", Date),
    _money("gross"),
    _money("refunded"),
    Column("channel", Text),
    Column("source", Text),
    _id("owner_id"),
    _id("professional_id"),
    _id("branch_id"),
    _id("procedure_id"),
    Index("ix_payment_facts_tenant_paid", "tenant_id", "paid_at", postgresql_include=[*PAYMENT_FACT_INCLUDE]),
    Index("ix_payment_facts_tenant_lead", "tenant_id", "lead_id"),
)


#: What each family of daily rollups is kept by (besides the clinic and the UTC day).
MARKETING_DIMS = ("channel", "source")
STAFF_DIMS = ("professional_id", "branch_id")
REVENUE_STAFF_DIMS = ("professional_id", "branch_id", "procedure_id")


def _rollup(name: str, dims: tuple[str, ...], *counts: Column[Any]) -> Table:
    return Table(
        name,
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("tenant_id", Text, nullable=False),
        Column("day", Date, nullable=False),
        *(Column(d, Text) for d in dims),
        *counts,
        Index(f"ux_{name}_key", "tenant_id", "day", *dims, unique=True, postgresql_nulls_not_distinct=True),
    )


def _count(name: str) -> Column[Any]:
    return Column(name, Integer, nullable=False, server_default="0")


def _lead_counts() -> tuple[Column[Any], ...]:
    return (
        _count("leads"),
        _count("booked"),
        _count("arrived"),
        _count("treated"),
        _count("paid"),
        Column("revenue", Numeric(14, 2), nullable=False, server_default="0"),
        _count("corrected"),
    )


def _revenue_counts() -> tuple[Column[Any], ...]:
    return (
        _count("payments"),
        Column("gross", Numeric(14, 2), nullable=False, server_default="0"),
        Column("refunds", Numeric(14, 2), nullable=False, server_default="0"),
    )


#: The lead facts summed per clinic, UTC day of arrival, channel and (corrected) source.
lead_rollups = _rollup("lead_rollups", MARKETING_DIMS, *_lead_counts())
#: The lead facts summed per clinic, UTC day of arrival, doctor and branch of the first booking.
lead_staff_rollups = _rollup("lead_staff_rollups", STAFF_DIMS, *_lead_counts())

#: The payment facts summed per clinic, UTC day of payment, channel and (corrected) source.
revenue_rollups = _rollup("revenue_rollups", MARKETING_DIMS, *_revenue_counts())
#: The payment facts summed per clinic, UTC day of payment, doctor, branch and procedure.
revenue_staff_rollups = _rollup("revenue_staff_rollups", REVENUE_STAFF_DIMS, *_revenue_counts())

#: What the consumers' batches changed that facts depend on, for the fact refresher to drain
#: (analytics.services.projection.refresh_facts): insert-only, so batches never wait on one another.
fact_queue = Table(
    "fact_queue",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("tenant_id", Text, nullable=False),
    #: lead, patient, phone, deal, payment, appointment (analytics.repository.facts.Touched).
    Column("kind", Text, nullable=False),
    Column("ref", Text, nullable=False),
    Index("ix_fact_queue_tenant", "tenant_id", "id"),
)

DERIVED_TABLES = {
    t.name: t
    for t in (
        lead_facts, payment_facts, lead_rollups, lead_staff_rollups, revenue_rollups, revenue_staff_rollups,
        fact_queue,
    )
}  # fmt: skip

# --- analytics' own data (kept by a rebuild) -------------------------------------------------------
source_corrections = Table(
    "source_corrections",
    metadata,
    _id("tenant_id", key=True),
    _id("lead_id", key=True),
    Column("source", Text, nullable=False),
    Column("note", Text),
    Column("corrected_by", UUID(as_uuid=False), nullable=False),
    Column("corrected_at", DateTime(timezone=True), nullable=False),
)

campaign_spend = Table(
    "campaign_spend",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    _id("tenant_id"),
    Column("source", Text, nullable=False),
    Column("channel", Text),
    Column("campaign", Text),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    _money("amount"),
    Column("currency", Text, nullable=False),
    Column("created_by", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_campaign_spend_tenant_period", "tenant_id", "period_start"),
)

commission_rates = Table(
    "commission_rates",
    metadata,
    _id("tenant_id", key=True),
    #: "*" is the clinic's default rate.
    _id("curator_id", key=True),
    Column("percent", Numeric(5, 2), nullable=False),
    Column("set_by", UUID(as_uuid=False), nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)
