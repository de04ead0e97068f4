"""The clinic's `lost_leads` retention rule (privacy's, docs/privacy.md "How long"): which leads it removes.

A lead is *lost* in the closed status `NOT_INTERESTED` (`VISIT_COMPLETED` is closed too, but that person came: a
patient, not a lost lead). Once it has been lost for longer than the clinic's rule, leads anonymises it as an
erasure does (leads.repository.privacy); the row stays, so the counts per source, status and day do not change.
A lead linked to a patient record is never removed by this rule: the person is the clinic's patient.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from leads.domain.leads import NOT_INTERESTED

#: The retention kind leads applies.
LOST_LEADS = "lost_leads"
#: The statuses of a lost lead.
LOST_STATUSES = frozenset({NOT_INTERESTED})


def cutoff(at: datetime, days: int) -> datetime:
    """Leads lost before this instant are removed by a rule of `days` (privacy refuses less than a day; a rule
    that says less still keeps a day)."""
    return at - timedelta(days=max(days, 1))
