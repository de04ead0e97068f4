from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "leads"


class LeadsSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_leads"
    http_port: int = 8001
    worker_port: int = 9001


def get_settings() -> LeadsSettings:
    return load(LeadsSettings, env_prefix(SERVICE))
