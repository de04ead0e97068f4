"""lead and payment facts (each lead's step times on its row) and their daily rollups; lookup indexes; the
conversations projection (when the person last wrote)

Revision ID: 20246901c456
Revises: b0875444cba5
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20246901c456"
down_revision: str | None = "b0875444cba5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
#: Covering the reports' reads of a period's facts (index-only scans).
LEAD_INCLUDE = ["channel", "source", "owner_id", "professional_id", "branch_id", "booked_at", "arrived_at",
                "treated_at", "paid_at", "revenue", "corrected"]  # fmt: skip
PAYMENT_INCLUDE = ["channel", "source", "owner_id", "professional_id", "branch_id", "procedure_id", "gross",
                   "refunded"]  # fmt: skip
MONEY = sa.Numeric(14, 2)

_INDEXES = (
    ("ix_leads_tenant_merged_into", "leads", "merged_into"),
    ("ix_appointments_tenant_phone", "appointments", "phone"),
    ("ix_payments_tenant_phone", "payments", "phone"),
    ("ix_payments_tenant_appointment", "payments", "appointment_id"),
    ("ix_deals_tenant_lead", "deals", "lead_id"),
    ("ix_deals_tenant_patient", "deals", "patient_id"),
    ("ix_deals_tenant_phone", "deals", "phone"),
)


def _text(name: str, key: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Text(), nullable=not key)


def _rollup(name: str, *counts: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        _text("channel"),
        _text("source"),
        *counts,
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        f"ux_{name}_key",
        name,
        ["tenant_id", "day", "channel", "source"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )


def _count(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer(), server_default="0", nullable=False)


def upgrade() -> None:
    for index, table, column in _INDEXES:
        op.create_index(index, table, ["tenant_id", column])
    op.create_table(
        "conversations",
        _text("tenant_id", True),
        _text("conversation_id", True),
        sa.Column("last_received_at", TS),
        sa.PrimaryKeyConstraint("tenant_id", "conversation_id"),
    )
    op.create_table(
        "lead_facts",
        _text("tenant_id", True),
        _text("lead_id", True),
        sa.Column("created_at", TS),
        sa.Column("day", sa.Date()),
        _text("channel"),
        _text("source"),
        _text("original_source"),
        sa.Column("corrected", sa.Boolean()),
        _text("owner_id"),
        sa.Column("first_contact_at", TS),
        _text("first_contact_by"),
        _text("professional_id"),
        _text("branch_id"),
        sa.Column("booked_at", TS),
        sa.Column("arrived_at", TS),
        sa.Column("treated_at", TS),
        sa.Column("paid_at", TS),
        sa.Column("revenue", MONEY),
        sa.PrimaryKeyConstraint("tenant_id", "lead_id"),
    )
    op.create_index(
        "ix_lead_facts_tenant_created", "lead_facts", ["tenant_id", "created_at"], postgresql_include=LEAD_INCLUDE
    )
    op.create_table(
        "payment_facts",
        _text("tenant_id", True),
        _text("payment_id", True),
        _text("lead_id"),
        sa.Column("paid_at", TS),
        sa.Column("day", sa.Date()),
        sa.Column("gross", MONEY),
        sa.Column("refunded", MONEY),
        _text("channel"),
        _text("source"),
        _text("owner_id"),
        _text("professional_id"),
        _text("branch_id"),
        _text("procedure_id"),
        sa.PrimaryKeyConstraint("tenant_id", "payment_id"),
    )
    op.create_index(
        "ix_payment_facts_tenant_paid", "payment_facts", ["tenant_id", "paid_at"], postgresql_include=PAYMENT_INCLUDE
    )
    op.create_index("ix_payment_facts_tenant_lead", "payment_facts", ["tenant_id", "lead_id"])
    _rollup(
        "lead_rollups",
        _count("leads"),
        _count("booked"),
        _count("arrived"),
        _count("treated"),
        _count("paid"),
        sa.Column("revenue", MONEY, server_default="0", nullable=False),
        _count("corrected"),
    )
    _rollup(
        "revenue_rollups",
        _count("payments"),
        sa.Column("gross", MONEY, server_default="0", nullable=False),
        sa.Column("refunds", MONEY, server_default="0", nullable=False),
    )
    # The facts and rollups of what is already projected are computed by 770ac57f376f, which follows (with the
    # rollups by doctor and branch it adds; the worker keeps them from there on).


def downgrade() -> None:
    for name in ("revenue_rollups", "lead_rollups", "payment_facts", "lead_facts", "conversations"):
        op.drop_table(name)
    for index, table, _ in _INDEXES:
        op.drop_index(index, table_name=table)
