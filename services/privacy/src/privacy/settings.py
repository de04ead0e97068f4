from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "privacy"


class PrivacySettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_privacy"
    http_port: int = 8008
    worker_port: int = 9008
    #: Where export links open (the gateway's public address: /public/privacy/exports?token=...).
    public_url: str = "http://127.0.0.1:8000"
    #: How long an export link opens the archive (it opens it once).
    export_link_seconds: int = 3600
    #: How often the retention timer applies the clinics' rules.
    retention_timer_seconds: float = 3600.0
    #: Wrap the per-person keys of the key store at rest (kit.sealing: "kid:base64url,..."; the first wraps).
    sealing_keys: str = ""


def get_settings() -> PrivacySettings:
    return load(PrivacySettings, env_prefix(SERVICE))
