"""Errors of the payments rules; `field` names the request field at fault (it becomes the problem's errors)."""

from __future__ import annotations


class PaymentsError(Exception):
    field: str | None = None
    slug: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInput(PaymentsError):
    """422: the request is well-formed but breaks a rule (amount, currency, method, expiry, dates)."""


class NotFound(PaymentsError):
    """404, also for another clinic's records: their existence is not revealed."""


class Conflict(PaymentsError):
    """409: the state does not allow it (refund of an unpaid charge, a reused Idempotency-Key ...)."""

    def __init__(self, message: str, *, field: str | None = None, existing_id: str | None = None) -> None:
        super().__init__(message, field=field)
        self.existing_id = existing_id

    def problem_extensions(self) -> dict[str, str]:
        return {"existing_id": self.existing_id} if self.existing_id else {}


class NotConfigured(PaymentsError):
    """503: the deployment lacks a setting this needs (e.g. no sealing key for stored credentials)."""


class ProviderUnavailable(PaymentsError):
    """502: the payment provider refused or did not answer; nothing was stored."""


class LinkInvalid(PaymentsError):
    """401: a patient link that is forged, expired or made for another page."""
