from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "scheduling"


class SchedulingSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_scheduling"
    http_port: int = 8003
    worker_port: int = 9003
    #: The gateway's public base URL, for patient links (confirm, reschedule, .ics, anamnesis, booking).
    public_url: str = "http://127.0.0.1:8000"
    #: How long patient links stay valid.
    link_ttl_seconds: int = 14 * 24 * 3600
    reminder_poll_seconds: float = 0.5
    reminder_batch: int = 500
    #: Test stacks only: a file holding seconds to add to the real time (the e2e tests move the clock).
    clock_file: str = ""
    #: Proxies in front of the service whose X-Forwarded-For is trusted (the gateway: 1).
    trusted_proxy_hops: int = 1


def get_settings() -> SchedulingSettings:
    return load(SchedulingSettings, env_prefix(SERVICE))
