from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "leads"


class LeadsSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_leads"
    http_port: int = 8001
    worker_port: int = 9001
    #: Web-form spam limit: submissions per client IP and form in a window.
    form_rate_limit: int = 5
    form_rate_window_seconds: int = 600
    #: The gateway's public base URL, for the form URLs shown to admins; empty: taken from X-Forwarded-Host.
    public_url: str = ""
    #: Proxies in front of this service that append to X-Forwarded-For (the gateway alone: 1).
    trusted_proxy_hops: int = 1
    #: How often the retention timer applies the clinics' `lost_leads` rules (docs/privacy.md, "How long").
    retention_timer_seconds: float = 3600.0


def get_settings() -> LeadsSettings:
    return load(LeadsSettings, env_prefix(SERVICE))
