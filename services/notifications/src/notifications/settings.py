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
    #: The Meta app secret (X-Hub-Signature-256 of WhatsApp and Instagram webhooks) and the subscription token.
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    #: Twilio Messages API (SMS); the status callback and inbound webhooks come through the gateway.
    twilio_api_url: str = "http://127.0.0.1:8090"
    twilio_account_sid: str = "AC00000000000000000000000000000000"
    twilio_auth_token: str = ""
    twilio_from_number: str = "+15005550006"
    #: E-mail over SMTP; the local stack runs the sandbox's SMTP server.
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_sender: str = "ClinicFlow <no-reply@clinicflow.local>"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_start_tls: bool = False
    telegram_api_url: str = "http://127.0.0.1:8090"
    telegram_bot_token: str = ""
    #: setWebhook(secret_token=...): every delivery carries it in X-Telegram-Bot-Api-Secret-Token.
    telegram_secret_token: str = ""
    instagram_api_url: str = "http://127.0.0.1:8090"
    instagram_api_version: str = "v21.0"
    instagram_token: str = ""
    #: The public base URL of the gateway (status callbacks are addressed to <it>/webhooks/...).
    public_base_url: str = ""
    #: Seals the clinics' reply assistant API keys at rest (kit.sealing): "<key id>:<base64url key>[,...]", the
    #: first seals, all open (rotation). Empty: a clinic cannot store a key.
    sealing_keys: str = ""
    #: How long the reply assistant waits for the clinic's model before answering 504.
    assistant_timeout_seconds: float = 20.0
    dispatch_poll_seconds: float = 0.2
    dispatch_batch_size: int = 200
    #: Provider requests in flight (each adapter's pool has channels.PROVIDER_CONNECTIONS connections).
    dispatch_concurrency: int = 16
    #: How often the worker looks for received media to fetch from the provider (when it found none).
    media_poll_seconds: float = 0.5
    #: How often the retention timer applies the clinics' `messages` rules (docs/privacy.md, "How long").
    retention_timer_seconds: float = 3600.0


def get_settings() -> NotificationsSettings:
    return load(NotificationsSettings, env_prefix(SERVICE))
