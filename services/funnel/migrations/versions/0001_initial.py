"""initial: pipelines, stages, deals, facts, plans, tasks, curators, activity, outbox and inbox

Revision ID: 0001
Revises:
Create Date: scaffolded by scripts/new_service.py
"""

# ruff: noqa: E501  (the frozen DDL below is one statement per line)
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from kit.migrations import create_kit_tables, drop_kit_tables


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The funnel tables as funnel.models declared them at this revision, frozen (later revisions alter them).
_TABLES = [
    'CREATE TABLE appointments ( tenant_id UUID NOT NULL,  id TEXT NOT NULL,  lead_id TEXT,  patient_id TEXT,  starts_at TIMESTAMP WITH TIME ZONE,  starts_version TIMESTAMP WITH TIME ZONE,  cancelled_at TIMESTAMP WITH TIME ZONE,  done_at TIMESTAMP WITH TIME ZONE,  PRIMARY KEY (tenant_id, id))',
    'CREATE INDEX ix_appointments_lead ON appointments (tenant_id, lead_id)',
    'CREATE INDEX ix_appointments_patient ON appointments (tenant_id, patient_id)',
    "CREATE TABLE curators ( tenant_id UUID NOT NULL,  user_id UUID NOT NULL,  general_percent NUMERIC(5, 2) NOT NULL,  per_service JSONB DEFAULT '{}'::jsonb NOT NULL,  PRIMARY KEY (tenant_id, user_id))",
    'CREATE TABLE pipelines ( id UUID NOT NULL,  tenant_id UUID NOT NULL,  kind TEXT NOT NULL,  name TEXT NOT NULL,  position INTEGER NOT NULL,  automatic BOOLEAN DEFAULT true NOT NULL,  PRIMARY KEY (id))',
    "CREATE UNIQUE INDEX uq_pipelines_builtin ON pipelines (tenant_id, kind) WHERE kind <> 'custom'",
    'CREATE TABLE visits ( tenant_id UUID NOT NULL,  appointment_id TEXT NOT NULL,  patient_id TEXT,  lead_id TEXT,  completed_at TIMESTAMP WITH TIME ZONE NOT NULL,  procedures JSONB NOT NULL,  PRIMARY KEY (tenant_id, appointment_id))',
    'CREATE INDEX ix_visits_patient ON visits (tenant_id, patient_id)',
    'CREATE TABLE stages ( id UUID NOT NULL,  tenant_id UUID NOT NULL,  pipeline_id UUID NOT NULL,  key TEXT NOT NULL,  name TEXT NOT NULL,  position INTEGER NOT NULL,  color TEXT NOT NULL,  outcome TEXT NOT NULL,  PRIMARY KEY (id),  FOREIGN KEY(pipeline_id) REFERENCES pipelines (id) ON DELETE CASCADE)',
    'CREATE UNIQUE INDEX uq_stages_key ON stages (pipeline_id, key)',
    'CREATE TABLE deals ( id UUID NOT NULL,  tenant_id UUID NOT NULL,  pipeline_id UUID NOT NULL,  kind TEXT NOT NULL,  stage_id UUID NOT NULL,  stage_key TEXT NOT NULL,  stage_since TIMESTAMP WITH TIME ZONE NOT NULL,  lead_id TEXT,  patient_id TEXT,  request_id TEXT,  name TEXT,  phone TEXT,  source TEXT,  curator_id UUID,  amount NUMERIC(14, 2) DEFAULT 0 NOT NULL,  paid NUMERIC(14, 2) DEFAULT 0 NOT NULL,  next_booking_at TIMESTAMP WITH TIME ZONE,  created_at TIMESTAMP WITH TIME ZONE NOT NULL,  updated_at TIMESTAMP WITH TIME ZONE NOT NULL,  PRIMARY KEY (id),  FOREIGN KEY(pipeline_id) REFERENCES pipelines (id),  FOREIGN KEY(stage_id) REFERENCES stages (id))',
    'CREATE INDEX ix_deals_curator ON deals (tenant_id, curator_id)',
    'CREATE INDEX ix_deals_lead ON deals (tenant_id, lead_id)',
    'CREATE INDEX ix_deals_stage_recent ON deals (tenant_id, pipeline_id, stage_id, updated_at)',
    "CREATE UNIQUE INDEX uq_deals_arrived_patient ON deals (tenant_id, patient_id) WHERE kind = 'arrived'",
    'CREATE UNIQUE INDEX uq_deals_request ON deals (tenant_id, request_id) WHERE request_id IS NOT NULL',
    'CREATE TABLE activity ( id SERIAL NOT NULL,  tenant_id UUID NOT NULL,  deal_id UUID NOT NULL,  at TIMESTAMP WITH TIME ZONE NOT NULL,  kind TEXT NOT NULL,  text TEXT NOT NULL,  PRIMARY KEY (id),  FOREIGN KEY(deal_id) REFERENCES deals (id))',
    'CREATE INDEX ix_activity_deal ON activity (deal_id, at)',
    'CREATE TABLE plans ( id UUID NOT NULL,  tenant_id UUID NOT NULL,  deal_id UUID NOT NULL,  title TEXT NOT NULL,  currency TEXT NOT NULL,  total NUMERIC(14, 2) NOT NULL,  status TEXT NOT NULL,  created_by UUID NOT NULL,  created_at TIMESTAMP WITH TIME ZONE NOT NULL,  signed_at TIMESTAMP WITH TIME ZONE,  signed_by UUID,  completed_at TIMESTAMP WITH TIME ZONE,  PRIMARY KEY (id),  FOREIGN KEY(deal_id) REFERENCES deals (id))',
    'CREATE INDEX ix_plans_deal ON plans (deal_id)',
    "CREATE TABLE tasks ( id UUID NOT NULL,  tenant_id UUID NOT NULL,  deal_id UUID NOT NULL,  kind TEXT NOT NULL,  title TEXT NOT NULL,  responsible_id UUID,  due_at TIMESTAMP WITH TIME ZONE NOT NULL,  automatic BOOLEAN DEFAULT false NOT NULL,  created_by TEXT NOT NULL,  created_at TIMESTAMP WITH TIME ZONE NOT NULL,  completed_at TIMESTAMP WITH TIME ZONE,  overdue_at TIMESTAMP WITH TIME ZONE,  comments JSONB DEFAULT '[]'::jsonb NOT NULL,  PRIMARY KEY (id),  FOREIGN KEY(deal_id) REFERENCES deals (id))",
    'CREATE INDEX ix_tasks_deal ON tasks (deal_id)',
    'CREATE INDEX ix_tasks_due_open ON tasks (due_at) WHERE completed_at IS NULL AND overdue_at IS NULL',
    'CREATE TABLE plan_items ( id UUID NOT NULL,  plan_id UUID NOT NULL,  position INTEGER NOT NULL,  stage INTEGER NOT NULL,  procedure TEXT NOT NULL,  procedure_id TEXT,  quantity INTEGER NOT NULL,  price NUMERIC(14, 2) NOT NULL,  discount NUMERIC(5, 2) NOT NULL,  manual_done INTEGER DEFAULT 0 NOT NULL,  PRIMARY KEY (id),  FOREIGN KEY(plan_id) REFERENCES plans (id) ON DELETE CASCADE)',
    'CREATE INDEX ix_plan_items_plan ON plan_items (plan_id)',
]
_DROP = ['plan_items', 'tasks', 'plans', 'activity', 'deals', 'stages', 'visits', 'pipelines', 'curators', 'appointments']


def upgrade() -> None:
    for statement in _TABLES:
        op.execute(statement)
    create_kit_tables()  # outbox and inbox (kit.migrations)


def downgrade() -> None:
    drop_kit_tables()
    for table in _DROP:
        op.drop_table(table)
