"""Rules of analytics: plain Python, no framework (an import contract keeps it so)."""

from analytics.domain.attribution import CHANNELS, channel_of
from analytics.domain.errors import AnalyticsError, Forbidden, InvalidAnalytics, NotFound
from analytics.domain.projection import PROJECTIONS, Group, Patch, Projection, derive, merge, merge_all

__all__ = [
    "CHANNELS",
    "PROJECTIONS",
    "AnalyticsError",
    "Forbidden",
    "Group",
    "InvalidAnalytics",
    "NotFound",
    "Patch",
    "Projection",
    "channel_of",
    "derive",
    "merge",
    "merge_all",
]
