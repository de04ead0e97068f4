"""One error hierarchy for the leads context; app.py maps each class to an HTTP status once."""

from __future__ import annotations


class LeadsError(Exception):
    """Base of every rule violation in this context. `field` names the offending input."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidLead(LeadsError):
    """Input that breaks a rule (422)."""


class NotFound(LeadsError):
    """No such thing in the caller's clinic (404)."""


class LeadNotFound(NotFound):
    pass


class Conflict(LeadsError):
    """The request contradicts the current state (409)."""


class InvalidTransition(Conflict):
    pass


class Forbidden(LeadsError):
    """The caller may not do this (403)."""


class DuplicateLead(Conflict):
    """An open lead already has this phone or e-mail; `candidates` lists them."""

    def __init__(self, message: str, candidates: list[dict[str, object]]) -> None:
        super().__init__(message)
        self.candidates = candidates

    def problem_extensions(self) -> dict[str, object]:
        return {"candidates": self.candidates}
