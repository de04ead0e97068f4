"""Events published by the telephony context on `clinicflow.telephony.events`.

Keyed by the call id (telephony's own id of one provider call), so one call's events arrive in order.
Phones are E.164. `tracking_number` is the clinic's number that was dialled; `source` is the marketing
source the clinic gave that number (None when the number is not a tracking number).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from contracts.envelope import Event
from contracts.personal import CONTACT
from contracts.topics import TELEPHONY


class _CallEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = TELEPHONY.name
    AGGREGATE: ClassVar[str] = "call_id"
    PERSON_ADDRESS: ClassVar[str | None] = "caller"

    call_id: str
    #: zadarma, twilio, mango, telfin, asterisk, bitrix24.
    provider: str
    provider_call_id: str
    #: inbound or outbound.
    direction: str
    #: The caller's phone (E.164), or the raw value when the provider sent no parseable number.
    caller: Annotated[str, CONTACT]
    tracking_number: str
    source: str | None = None
    #: The lead whose phone matches the caller, when telephony's read model knows one.
    lead_id: str | None = None
    started_at: datetime


class CallStartedV1(_CallEvent, frozen=True, kw_only=True):
    """A call reached the clinic's telephony (it rings): the console shows a call card."""

    TYPE: ClassVar[str] = "clinicflow.telephony.call.started.v1"


class CallAnsweredV1(_CallEvent, frozen=True, kw_only=True):
    """Someone at the clinic picked the call up."""

    TYPE: ClassVar[str] = "clinicflow.telephony.call.answered.v1"

    answered_at: datetime


class CallEndedV1(_CallEvent, frozen=True, kw_only=True):
    """The call is over; `disposition` is answered, missed, busy or failed."""

    TYPE: ClassVar[str] = "clinicflow.telephony.call.ended.v1"

    disposition: str
    answered_at: datetime | None = None
    ended_at: datetime
    talk_seconds: int
    #: Total seconds from ringing to hang-up.
    duration_seconds: int
    #: The provider's reference of the recording (an id or a URL), when the call was recorded.
    recording_ref: str | None = None


class CallMissedV1(_CallEvent, frozen=True, kw_only=True):
    """An inbound call ended without being answered (missed, busy or failed): someone should call back."""

    TYPE: ClassVar[str] = "clinicflow.telephony.call.missed.v1"

    disposition: str
    ended_at: datetime
    duration_seconds: int


class CallRecordedV1(_CallEvent, frozen=True, kw_only=True):
    """The call's recording is in the clinic's object store (fetched from the provider by telephony's worker).
    Never a public URL: staff play it through a signed, expiring link telephony mints
    (`GET /api/v1/telephony/recordings/{recording_id}/link`)."""

    TYPE: ClassVar[str] = "clinicflow.telephony.call.recorded.v1"

    recording_id: str | None = None
    #: The provider's reference the recording was fetched by.
    recording_ref: str | None = None
    content_type: str | None = None
    size_bytes: int | None = None
    #: Hex SHA-256 of the stored bytes.
    sha256: str | None = None
    recorded_at: datetime | None = None
