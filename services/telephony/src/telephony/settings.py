from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "telephony"


class TelephonySettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_telephony"
    http_port: int = 8006
    worker_port: int = 9006


def get_settings() -> TelephonySettings:
    return load(TelephonySettings, env_prefix(SERVICE))
