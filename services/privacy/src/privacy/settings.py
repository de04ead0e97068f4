from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "privacy"


class PrivacySettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_privacy"
    http_port: int = 8008
    worker_port: int = 9008


def get_settings() -> PrivacySettings:
    return load(PrivacySettings, env_prefix(SERVICE))
