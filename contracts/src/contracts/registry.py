"""(type, version) -> payload Struct. Decoders, tests and the AsyncAPI document read it."""

from __future__ import annotations

import builtins

import msgspec

from contracts import (
    assistant,
    funnel,
    identity,
    leads,
    notifications,
    payments,
    privacy,
    quotes,
    scheduling,
    telephony,
)
from contracts.envelope import Event


class EventSpec(msgspec.Struct, frozen=True):
    type: str
    struct: builtins.type[Event]  # `type` here is the field above, hence `builtins.`
    topic: str

    @property
    def name(self) -> str:
        return self.struct.__name__


def _spec(struct: type[Event]) -> EventSpec:
    return EventSpec(struct.TYPE, struct, struct.TOPIC)


_EVENTS: tuple[type[Event], ...] = (
    leads.LeadCreatedV1,
    leads.LeadUpdatedV1,
    leads.LeadStatusChangedV1,
    leads.LeadAssignedV1,
    leads.LeadMergedV1,
    leads.LeadConvertedV1,
    leads.LeadDeletedV1,
    leads.RequestCreatedV1,
    leads.ActivityScheduledV1,
    leads.ActivityCompletedV1,
    leads.ActivityCancelledV1,
    leads.LeadsRetentionAppliedV1,
    notifications.MessageSentV1,
    notifications.MessageFailedV1,
    notifications.MessageDeliveredV1,
    notifications.MessageReadV1,
    notifications.MessageReceivedV1,
    notifications.ReplySuggestedV1,
    notifications.ChannelConsentChangedV1,
    notifications.RetentionAppliedV1,
    payments.PaymentLinkCreatedV1,
    payments.PaymentConfirmedV1,
    payments.PaymentFailedV1,
    payments.PaymentExpiredV1,
    payments.PaymentCancelledV1,
    payments.PaymentRefundedV1,
    scheduling.AppointmentBookedV1,
    scheduling.AppointmentConfirmedV1,
    scheduling.AppointmentRescheduledV1,
    scheduling.AppointmentCancelledV1,
    scheduling.AppointmentNoShowV1,
    scheduling.ReminderDueV1,
    scheduling.PatientArrivedV1,
    scheduling.VisitStartedV1,
    scheduling.VisitCompletedV1,
    scheduling.ReturnBookedV1,
    scheduling.AnamnesisSubmittedV1,
    scheduling.WaitlistOfferedV1,
    identity.StaffCreatedV1,
    identity.StaffUpdatedV1,
    identity.StaffDeactivatedV1,
    funnel.DealCreatedV1,
    funnel.DealStageChangedV1,
    funnel.DealLostV1,
    funnel.CuratorAssignedV1,
    funnel.TreatmentPlanCreatedV1,
    funnel.TreatmentPlanSignedV1,
    funnel.TreatmentPlanCompletedV1,
    funnel.TaskCreatedV1,
    funnel.TaskCompletedV1,
    funnel.TaskOverdueV1,
    telephony.CallStartedV1,
    telephony.CallAnsweredV1,
    telephony.CallEndedV1,
    telephony.CallMissedV1,
    telephony.CallRecordedV1,
    *quotes.EVENTS,
    assistant.AssistantMessageRequestedV1,
    assistant.AssistantAnswerRecordedV1,
    assistant.AssistantPaymentLinkRequestedV1,
    assistant.AssistantBookingLinkRequestedV1,
    assistant.AssistantHandedOverV1,
    assistant.AssistantCompletedV1,
    assistant.BookingLinkIssuedV1,
    *privacy.EVENTS,
)

REGISTRY: dict[str, EventSpec] = {spec.type: spec for spec in map(_spec, _EVENTS)}


class UnknownEventType(KeyError):
    pass


def spec_for(event_type: str) -> EventSpec:
    try:
        return REGISTRY[event_type]
    except KeyError:
        raise UnknownEventType(event_type) from None


def spec_of(event: Event) -> EventSpec:
    return spec_for(type(event).TYPE)


def decode_payload(event_type: str, payload: bytes) -> Event:
    """Decode a payload; unknown fields are ignored so producers may add optional ones."""
    return msgspec.json.decode(payload, type=spec_for(event_type).struct)
