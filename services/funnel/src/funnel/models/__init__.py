"""Tables of the funnel database (the outbox and inbox come from kit, see migrations/env.py).

Facts about a person (appointments, visits) are kept as the events told them, keyed by their ids, so that
duplicated and out-of-order events merge to the same rows (funnel.domain.merge_appointment).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()
_ID = UUID(as_uuid=False)

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    #: requests, arrived (built in, one each per clinic) or custom.
    Column("kind", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("position", Integer, nullable=False),
    #: Automatic mode: the rules move deals; manual: only staff do.
    Column("automatic", Boolean, nullable=False, server_default=text("true")),
    #: A pipeline of the clinic's own that was removed while it held closed deals: hidden, its deals kept.
    Column("archived_at", DateTime(timezone=True)),
    Index("uq_pipelines_builtin", "tenant_id", "kind", unique=True, postgresql_where=text("kind <> 'custom'")),
    # One live pipeline per name in a clinic (funnel.domain.clean_pipeline_name says so first).
    Index(
        "uq_pipelines_name", "tenant_id", text("lower(name)"), unique=True, postgresql_where=text("archived_at IS NULL")
    ),
)

stages = Table(
    "stages",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("pipeline_id", _ID, ForeignKey("pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("key", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("position", Integer, nullable=False),
    Column("color", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Index("uq_stages_key", "pipeline_id", "key", unique=True),
)

#: What the board's count and sum per stage read, and the filters they may be combined with.
BOARD_COLUMNS = (
    "stage_id", "amount", "curator_id", "plan_state", "booked", "next_due_at", "next_booking_at", "last_activity_at",
    "overdue", "inactive",
)  # fmt: skip

#: The board's covering indexes: (name, keys after tenant and pipeline). Each flag leads its column, so the
#: deals whose flag the worker has not caught up with yet are one small range (docs/funnel.md).
BOARD_RANGES = (
    ("next_due_at", ["overdue", "next_due_at"]),
    ("next_booking_at", ["booked", "next_booking_at"]),
    ("last_activity_at", ["inactive", "last_activity_at"]),
)

deals = Table(
    "deals",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("pipeline_id", _ID, ForeignKey("pipelines.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("stage_id", _ID, ForeignKey("stages.id"), nullable=False),
    Column("stage_key", Text, nullable=False),
    Column("stage_since", DateTime(timezone=True), nullable=False),
    Column("lead_id", Text),
    Column("patient_id", Text),
    Column("request_id", Text),
    Column("name", Text),
    Column("phone", Text),
    Column("source", Text),
    Column("curator_id", _ID),
    Column("amount", Numeric(14, 2), nullable=False, server_default=text("0")),
    Column("paid", Numeric(14, 2), nullable=False, server_default=text("0")),
    Column("next_booking_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    #: The lead's responsible agent (leads' owner), from lead.created / lead.assigned.
    Column("owner_id", _ID),
    #: none, created, signed, completed: the most advanced of the deal's plans (a board filter).
    Column("plan_state", Text, nullable=False, server_default=text("'none'")),
    #: The person's last visit, booking, payment or message (the "patient activity" filter).
    Column("last_activity_at", DateTime(timezone=True)),
    #: The earliest due time of the deal's open tasks (kept by the tasks repository): the "overdue" filter.
    Column("next_due_at", DateTime(timezone=True)),
    #: Counted as having a future booking (deal_counts.booked): set with next_booking_at, cleared by the worker
    #: once that time passed (funnel.services.board_counts_round); the board corrects for the few in between.
    Column("booked", Boolean, nullable=False, server_default=text("false")),
    #: Counted as having an overdue task (deal_counts.overdue): next_due_at before the time it was written, set
    #: when the worker finds next_due_at passed (funnel.services.board_counts_round); like `booked`.
    Column("overdue", Boolean, nullable=False, server_default=text("false")),
    #: Counted as inactive (deal_counts.inactive): no activity in the last ACTIVE_DAYS (funnel.domain) when
    #: written, set by the worker once last_activity_at falls out of that window; like `booked`.
    Column("inactive", Boolean, nullable=False, server_default=text("true")),
    #: When an Interrupted deal of automatic mode becomes Lost if nothing happens (funnel.domain.lost_due),
    #: written with its stage by the rules; the Lost timer reads only the deals whose time came.
    Column("lost_due_at", DateTime(timezone=True)),
    # One Arrived-and-repeat deal per patient, guaranteed by the database.
    Index(
        "uq_deals_arrived_patient", "tenant_id", "patient_id", unique=True, postgresql_where=text("kind = 'arrived'")
    ),
    Index("uq_deals_request", "tenant_id", "request_id", unique=True, postgresql_where=text("request_id IS NOT NULL")),
    Index("ix_deals_stage_recent", "tenant_id", "pipeline_id", "stage_id", "updated_at"),
    Index("ix_deals_lead", "tenant_id", "lead_id"),
    Index("ix_deals_curator", "tenant_id", "curator_id"),
    Index("ix_deals_phone", "tenant_id", "phone"),
    # The board (docs/funnel.md, "The board at scale"): a curator's columns one index range each, and the
    # time-bound filters' counts index-only ranges (what the count and sum per stage need is INCLUDEd).
    Index("ix_deals_curator_recent", "tenant_id", "pipeline_id", "curator_id", "stage_id", "updated_at"),
    *(
        Index(
            f"ix_deals_board_{column}",
            "tenant_id",
            "pipeline_id",
            *keys,
            postgresql_include=[c for c in BOARD_COLUMNS if c not in keys],
        )
        for column, keys in BOARD_RANGES
    ),
    # The worker's rounds: bookings whose time passed, still counted as future ones; open tasks not yet counted
    # as overdue; activity not yet counted as too old.
    Index("ix_deals_booked_passing", "next_booking_at", postgresql_where=text("booked")),
    Index("ix_deals_overdue_passing", "next_due_at", postgresql_where=text("NOT overdue AND next_due_at IS NOT NULL")),
    Index("ix_deals_inactive_passing", "last_activity_at", postgresql_where=text("NOT inactive")),
    Index("ix_deals_lost_due", "lost_due_at", postgresql_where=text("lost_due_at IS NOT NULL")),
)

#: Per stage, curator, plan state, "booked", "overdue" and "inactive": how many deals and their amounts (the
#: board's counts and sums without a scan of the deals). Writers only ever insert deltas (+1/-1 and the amount)
#: in the transaction that changes the deal (one insert per unit of work, summed per key), so concurrent moves
#: take no shared row lock and cannot deadlock on a counter; the worker folds the pending deltas of a key into
#: one row (funnel.services.board_counts_round). A key's count is the sum of its rows.
deal_counts = Table(
    "deal_counts",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("pipeline_id", _ID, nullable=False),
    Column("stage_id", _ID, nullable=False),
    Column("curator_id", _ID),
    Column("plan_state", Text, nullable=False),
    Column("booked", Boolean, nullable=False),
    Column("overdue", Boolean, nullable=False, server_default=text("false")),
    Column("inactive", Boolean, nullable=False, server_default=text("false")),
    Column("deals", BigInteger, nullable=False),
    Column("amount", Numeric(16, 2), nullable=False),
    #: A delta not folded yet.
    Column("pending", Boolean, nullable=False, server_default=text("true")),
    Index(
        "ix_deal_counts_board",
        "tenant_id",
        "pipeline_id",
        "stage_id",
        postgresql_include=["curator_id", "plan_state", "booked", "overdue", "inactive", "deals", "amount"],
    ),
    Index("ix_deal_counts_pending", "id", postgresql_where=text("pending")),
)

appointments = Table(
    "appointments",
    metadata,
    # Keyed by clinic too: another clinic's ids never merge with this one's.
    Column("tenant_id", _ID, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("lead_id", Text),
    Column("patient_id", Text),
    Column("starts_at", DateTime(timezone=True)),
    Column("starts_version", DateTime(timezone=True)),
    Column("cancelled_at", DateTime(timezone=True)),
    Column("done_at", DateTime(timezone=True)),
    Column("confirmed_at", DateTime(timezone=True)),
    #: When the unconfirmed-appointment timer dealt with it (made the call task, or found no deal).
    Column("confirm_task_at", DateTime(timezone=True)),
    Index(
        "ix_appointments_unconfirmed",
        "starts_at",
        postgresql_where=text(
            "confirmed_at IS NULL AND cancelled_at IS NULL AND done_at IS NULL AND confirm_task_at IS NULL"
        ),
    ),
    Index("ix_appointments_patient", "tenant_id", "patient_id"),
    Index("ix_appointments_lead", "tenant_id", "lead_id"),
)

visits = Table(
    "visits",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("appointment_id", Text, primary_key=True),
    Column("patient_id", Text),
    Column("lead_id", Text),
    Column("completed_at", DateTime(timezone=True), nullable=False),
    Column("procedures", JSONB, nullable=False),
    Index("ix_visits_patient", "tenant_id", "patient_id"),
)

plans = Table(
    "plans",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("deal_id", _ID, ForeignKey("deals.id"), nullable=False),
    Column("title", Text, nullable=False),
    Column("currency", Text, nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("status", Text, nullable=False),
    Column("created_by", _ID, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("signed_at", DateTime(timezone=True)),
    Column("signed_by", _ID),
    Column("completed_at", DateTime(timezone=True)),
    #: The uploaded signed file in the object store (None: signed without upload, or not signed).
    Column("file_key", Text),
    Column("file_type", Text),
    Column("file_size", Integer),
    Column("file_sha256", Text),
    Index("ix_plans_deal", "deal_id"),
)

plan_items = Table(
    "plan_items",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("plan_id", _ID, ForeignKey("plans.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("stage", Integer, nullable=False),
    Column("procedure", Text, nullable=False),
    Column("procedure_id", Text),
    Column("quantity", Integer, nullable=False),
    Column("price", Numeric(14, 2), nullable=False),
    Column("discount", Numeric(5, 2), nullable=False),
    Column("manual_done", Integer, nullable=False, server_default=text("0")),
    Index("ix_plan_items_plan", "plan_id"),
)

tasks = Table(
    "tasks",
    metadata,
    Column("id", _ID, primary_key=True),
    Column("tenant_id", _ID, nullable=False),
    Column("deal_id", _ID, ForeignKey("deals.id"), nullable=False),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("responsible_id", _ID),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("automatic", Boolean, nullable=False, server_default=text("false")),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Column("overdue_at", DateTime(timezone=True)),
    Column("comments", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    #: Why an automatic task exists: missed_call, unconfirmed, interrupted (None: made by staff).
    Column("reason", Text),
    #: What it is about: the appointment id of an unconfirmed-appointment call.
    Column("ref", Text),
    #: A missed-call task: the latest missed call it covers (a later answered call closes it).
    Column("ref_at", DateTime(timezone=True)),
    Column("phone", Text),
    Index("ix_tasks_deal", "deal_id"),
    Index(
        "ix_tasks_open_phone", "tenant_id", "phone", postgresql_where=text("completed_at IS NULL AND phone IS NOT NULL")
    ),
    Index(
        "ix_tasks_queue",
        "tenant_id",
        "due_at",
        postgresql_where=text("completed_at IS NULL AND responsible_id IS NULL"),
    ),
    Index("ix_tasks_due_open", "due_at", postgresql_where=text("completed_at IS NULL AND overdue_at IS NULL")),
)

curators = Table(
    "curators",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("user_id", _ID, primary_key=True),
    Column("general_percent", Numeric(5, 2), nullable=False),
    #: procedure id -> percentage.
    Column("per_service", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

activity = Table(
    "activity",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", _ID, nullable=False),
    Column("deal_id", _ID, ForeignKey("deals.id"), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    #: stage, visit, booking, payment, plan, task, comment.
    Column("kind", Text, nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_activity_deal", "deal_id", "at"),
)

calls = Table(
    "calls",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("call_id", Text, primary_key=True),
    #: The other party (telephony's `caller`: the caller inbound, the called person outbound), E.164.
    Column("phone", Text, nullable=False),
    Column("lead_id", Text),
    Column("missed_at", DateTime(timezone=True)),
    Column("answered_at", DateTime(timezone=True)),
    #: The call-back task that covers this missed call.
    Column("task_id", _ID),
    Index("ix_calls_phone", "tenant_id", "phone"),
)

settings = Table(
    "funnel_settings",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    #: Hours before an unconfirmed appointment the call task is made.
    Column("confirm_call_hours", Integer, nullable=False, server_default=text("24")),
    Column("updated_at", DateTime(timezone=True)),
)

money = Table(
    "money",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    #: The payment id, or "<payment id>:refund:<total refunded>" for a refund.
    Column("id", Text, primary_key=True),
    Column("payment_id", Text, nullable=False),
    Column("deal_id", _ID, ForeignKey("deals.id")),
    #: payment or refund (a refund's amount and earned are negative).
    Column("kind", Text, nullable=False),
    Column("amount", Numeric(14, 2), nullable=False),
    Column("currency", Text, nullable=False),
    Column("procedure_id", Text),
    #: The deal's curator when the money came, and the percentage that applied.
    Column("curator_id", _ID),
    Column("percent", Numeric(5, 2)),
    Column("earned", Numeric(14, 2), nullable=False, server_default=text("0")),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_money_deal", "deal_id", "at"),
    Index("ix_money_curator", "tenant_id", "curator_id", "at"),
)

messages = Table(
    "messages",
    metadata,
    Column("tenant_id", _ID, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("lead_id", Text),
    Column("channel", Text, nullable=False),
    Column("to", Text, nullable=False),
    Column("template", Text, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("ix_messages_lead", "tenant_id", "lead_id"),
    Index("ix_messages_to", "tenant_id", "to"),
)

# The pre-qualification assistant's tables (a module of their own, registered on the same metadata).
from funnel.models import assistant as assistant  # noqa: E402
from funnel.models import valuation as valuation  # noqa: E402  (the valuation process's tables, docs/quotes.md)
