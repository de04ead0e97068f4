"""Use cases of analytics: projections from events, reports, the dashboard, staff input (docs/analytics.md)."""
