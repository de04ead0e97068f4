"""Domain errors; app.py maps each class to an HTTP status (an RFC 9457 problem naming `field`)."""

from __future__ import annotations


class SchedulingError(Exception):
    field: str | None = None
    slug: str | None = None

    def __init__(self, message: str, *, field: str | None = None, slug: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if slug is not None:
            self.slug = slug


class Invalid(SchedulingError):
    """422: the request is well-formed but breaks a rule (past, outside hours, holiday...)."""


class NotFound(SchedulingError):
    """404: no such branch, professional, procedure or appointment in this clinic."""


class Conflict(SchedulingError):
    """409: the slot is taken, or the appointment is not in a state that allows this."""


class PaymentRequired(SchedulingError):
    """402: the procedure needs prepayment and no confirmed payment was received for this person."""

    slug = "prepayment-required"


class Forbidden(SchedulingError):
    """403: e.g. a professional acting on another professional's visit."""


class LinkInvalid(SchedulingError):
    """401: a patient link that is forged, expired or made for another page."""

    slug = "invalid-link"
