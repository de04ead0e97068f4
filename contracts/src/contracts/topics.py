"""Kafka topics: one per bounded context, keyed by aggregate id (docs/architecture.md, "Events")."""

from __future__ import annotations

import msgspec

DLQ_SUFFIX = ".dlq"


class Topic(msgspec.Struct, frozen=True):
    name: str
    partitions: int
    description: str


LEADS = Topic("clinicflow.leads.events", 6, "Lead lifecycle: intake, qualification, conversion.")
NOTIFICATIONS = Topic("clinicflow.notifications.events", 6, "Outbound message outcomes and inbound messages.")
IDENTITY = Topic("clinicflow.identity.events", 6, "The clinics' staff directory (keyed by user id; compacted).")

PAYMENTS = Topic(
    "clinicflow.payments.events", 6, "Charges and payment links: created, paid, failed, expired, refunded."
)
SCHEDULING = Topic(
    "clinicflow.scheduling.events", 6, "Appointments, reminders, arrivals, visits, returns, anamnesis, the waitlist."
)

FUNNEL = Topic("clinicflow.funnel.events", 6, "Deals in pipelines, curators, treatment plans and tasks.")
TELEPHONY = Topic(
    "clinicflow.telephony.events", 6, "Calls from the clinics' IP telephony: started, answered, ended, missed."
)

ANALYTICS = Topic("clinicflow.analytics.events", 6, "Analytics' answers to data subject requests (its privacy parts).")

PRIVACY = Topic(
    "clinicflow.privacy.events", 6, "Personal data: the consent ledger, data subject requests (export, erasure)."
)

TOPICS: tuple[Topic, ...] = (
    LEADS, NOTIFICATIONS, IDENTITY, PAYMENTS, SCHEDULING, FUNNEL, TELEPHONY, PRIVACY, ANALYTICS,
)  # fmt: skip


def dlq_topic(topic: str) -> str:
    """Where a consumer parks a message that keeps failing."""
    return topic + DLQ_SUFFIX
