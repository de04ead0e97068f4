"""The `lost_leads` retention rule of leads (leads.domain.retention): which leads are lost, the cutoff, and that
the privacy consumer keeps privacy's rules (the timer itself runs on PostgreSQL: tests/integration)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.privacy import ErasureRequestedV1, ExportRequestedV1, RetentionSetV1
from leads.domain.leads import CLOSED_STATUSES, NOT_INTERESTED, VISIT_COMPLETED
from leads.domain.retention import LOST_LEADS, LOST_STATUSES, cutoff
from leads.services import privacy, retention

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_a_lost_lead_is_one_not_interested_not_one_that_came() -> None:
    assert {NOT_INTERESTED} == LOST_STATUSES
    assert LOST_STATUSES <= CLOSED_STATUSES
    assert VISIT_COMPLETED not in LOST_STATUSES
    assert LOST_LEADS == "lost_leads"  # privacy's kind (privacy.domain.RETENTION_KINDS)


def test_the_cutoff_is_the_rule_s_days_back_and_never_less_than_a_day() -> None:
    assert cutoff(AT, 180) == AT - timedelta(days=180)
    assert cutoff(AT, 0) == AT - timedelta(days=1)


def test_the_privacy_consumer_keeps_the_rules_and_still_answers_requests() -> None:
    handlers = privacy.handlers(lambda: pytest.fail("no store needed to build the handlers"))
    assert handlers[RetentionSetV1] is retention.remember_rule
    assert {ExportRequestedV1, ErasureRequestedV1} <= handlers.keys()
