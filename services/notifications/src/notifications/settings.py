from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "notifications"


class NotificationsSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_notifications"
    http_port: int = 8005
    worker_port: int = 9005
    #: WhatsApp Cloud API; the local stack points this at the sandbox provider.
    whatsapp_api_url: str = "http://127.0.0.1:8090"
    whatsapp_api_version: str = "v21.0"
    whatsapp_phone_number_id: str = "100000000000001"
    whatsapp_token: str = ""
    dispatch_poll_seconds: float = 0.2


def get_settings() -> NotificationsSettings:
    return load(NotificationsSettings, env_prefix(SERVICE))
