from __future__ import annotations

from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "payments"


class PaymentsSettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_payments"
    http_port: int = 8004
    worker_port: int = 9004
    #: Where patients and providers reach us (the gateway's public address): webhook and receipt URLs.
    public_url: str = "http://127.0.0.1:8000"
    #: The deployment's account, used by clinics that have not connected their own (PUT /settings).
    default_provider: str = "mercadopago"
    mercadopago_api_url: str = "https://api.mercadopago.com"
    mercadopago_access_token: str = ""
    mercadopago_webhook_secret: str = ""
    stripe_api_url: str = "https://api.stripe.com"
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    asaas_api_url: str = "https://api.asaas.com"
    asaas_api_key: str = ""
    asaas_webhook_token: str = ""
    merchant_name: str = "ClinicFlow"
    merchant_city: str = "Sao Paulo"
    #: Signed webhook timestamps older (or newer) than this are refused.
    webhook_tolerance_seconds: int = 300
    #: How often the worker looks for links past their expiry.
    expiry_poll_seconds: float = 5.0
    #: A link still unpaid this long after creation (or after the last look) is checked with the provider.
    reconcile_after_seconds: float = 600.0
    reconcile_poll_seconds: float = 30.0
    #: Seals the clinics' provider credentials at rest (kit.sealing): "<key id>:<base64url key>[,...]", the
    #: first seals. Unset, connecting a clinic's own account is refused (503); the local stack makes one.
    sealing_keys: str = ""
    #: How often the worker re-seals credentials stored in the clear or under an older key.
    reseal_poll_seconds: float = 3600.0
    #: Development and tests only: a file holding a clock offset in seconds (moves time for expiry).
    clock_file: str = ""


def get_settings() -> PaymentsSettings:
    return load(PaymentsSettings, env_prefix(SERVICE))
