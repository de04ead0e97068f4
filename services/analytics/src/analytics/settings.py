from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "analytics"


class AnalyticsSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_analytics"
    http_port: int = 8007
    worker_port: int = 9007
    #: How often the worker's fact refresher looks for what the consumers' batches queued (docs/analytics.md).
    facts_seconds: float = 0.1


def get_settings() -> AnalyticsSettings:
    return load(AnalyticsSettings, env_prefix(SERVICE))
