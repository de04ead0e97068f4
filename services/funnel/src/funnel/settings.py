from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "funnel"


class FunnelSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_funnel"
    http_port: int = 8002
    worker_port: int = 9002
    #: Seconds added to the clock, read from this file (test stacks only; see funnel.clock).
    clock_file: str = ""
    #: How often the Lost and overdue timers look (they are idempotent; state is in the database).
    timer_seconds: float = 5.0
    #: Valuation process (docs/quotes.md): the public address patient links point at (the gateway) and how long
    #: the photo-upload and quote links stay valid.
    public_url: str = "http://127.0.0.1:8000"
    link_ttl_days: int = 30


def get_settings() -> FunnelSettings:
    return load(FunnelSettings, env_prefix(SERVICE))
