"""The one error hierarchy of analytics; `field` names the offending field in the problem document."""

from __future__ import annotations


class AnalyticsError(Exception):
    field: str | None = None


class InvalidAnalytics(AnalyticsError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(AnalyticsError):
    pass


class Forbidden(AnalyticsError):
    pass
