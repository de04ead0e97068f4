from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "telephony"


class TelephonySettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_telephony"
    http_port: int = 8006
    worker_port: int = 9006
    #: The public address providers post to and playback links point at (the gateway).
    public_url: str = "http://127.0.0.1:8000"
    #: The providers' API addresses (click-to-call, recordings); the local stack points them at the sandbox PBX.
    twilio_api_url: str = "https://api.twilio.com"
    telfin_api_url: str = "https://apiproxy.telphin.ru"
    zadarma_api_url: str = "https://api.zadarma.com"
    mango_api_url: str = "https://app.mango-office.ru"
    #: How long an api process keeps a clinic's provider accounts and tracking numbers (an edit made through
    #: another replica is seen within this many seconds).
    directory_cache_seconds: float = 5.0
    #: How long a recording playback link is valid.
    recording_link_seconds: int = 300
    #: Days a recording is kept when the clinic set no retention of its own.
    recording_retention_days: int = 365
    #: How often the worker fetches pending recordings and prunes expired ones.
    recording_timer_seconds: float = 2.0
    retention_timer_seconds: float = 3600.0


def get_settings() -> TelephonySettings:
    return load(TelephonySettings, env_prefix(SERVICE))
