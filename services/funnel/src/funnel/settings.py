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


def get_settings() -> FunnelSettings:
    return load(FunnelSettings, env_prefix(SERVICE))
