from __future__ import annotations

import msgspec

from contracts import claims
from kit.settings import ServiceSettings, env_prefix, load

SERVICE = "gateway"


class GatewaySettings(ServiceSettings, kw_only=True):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/clinicflow_gateway"
    http_port: int = 8000
    worker_port: int = 9000
    jwt_private_key_file: str = ".local/keys/jwt-ed25519.pem"
    #: Create the signing key when it is missing (local stack); production mounts a Secret.
    generate_dev_keys: bool = False
    access_token_ttl: int = 900
    refresh_token_ttl: int = 14 * 24 * 3600
    #: Proxies in front of the gateway whose X-Forwarded-For is trusted (1 behind one Ingress), so login rate
    #: limits count real clients rather than the proxy.
    trusted_proxy_hops: int = 0
    login_attempts: int = 10
    login_window_seconds: int = 300
    # >>> routes (generated from stack.toml by scripts/registry.py; edit stack.toml, then run it)
    #: context=base URL pairs; /api/v1/<context>/... is forwarded there.
    routes: str = "leads=http://127.0.0.1:8001,payments=http://127.0.0.1:8004,scheduling=http://127.0.0.1:8003,notifications=http://127.0.0.1:8005,funnel=http://127.0.0.1:8002,telephony=http://127.0.0.1:8006,analytics=http://127.0.0.1:8007,privacy=http://127.0.0.1:8008"
    # <<< routes

    #: Public ingress, path prefix=route name pairs: /<prefix>/... is forwarded, without a token check, to that
    #: route's service with the raw body, query string and content type intact (webhooks, public forms).
    public_routes: str = (
        "public/forms=leads,webhooks/tilda=leads,webhooks/payments=payments,public/payments=payments,"
        "public/scheduling=scheduling,webhooks/whatsapp=notifications,webhooks/twilio=notifications,"
        "webhooks/telegram=notifications,webhooks/instagram=notifications,webhooks/telephony=telephony,"
        "public/funnel=funnel,public/telephony=telephony,public/privacy=privacy"
    )
    #: The largest body a public path accepts (the services set their own, smaller, limits).
    public_max_body_bytes: int = 256 * 1024
    #: prefix=bytes pairs: public paths that take files (the prospects' photos) accept more than the default.
    public_body_limits: str = "public/funnel/photos=10485760"
    #: The built staff console (web/, `just console-build`), served at `/`; empty or missing: not served.
    console_dir: str = "web/dist"
    #: The built patient pages (web/patient, `just console-build`): their assets at /p/, each page at the
    #: patient link's own URL for a browser (docs/patient-pages.md); empty or missing: the links answer JSON.
    patient_dir: str = "web/dist-patient"

    def route_map(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.routes.split(",") if "=" in item)
        return {name.strip(): url.strip().rstrip("/") for name, url in pairs}

    def public_limit_map(self) -> dict[str, int]:
        pairs = (item.split("=", 1) for item in self.public_body_limits.split(",") if "=" in item)
        try:
            return {prefix.strip().strip("/"): int(size) for prefix, size in pairs}
        except ValueError as exc:
            raise SystemExit(f"GATEWAY_PUBLIC_BODY_LIMITS is prefix=bytes pairs: {exc}") from exc

    def public_route_map(self) -> dict[str, str]:
        """prefix -> route name; every name must be one of `routes`."""
        routes = self.route_map()
        pairs = (item.split("=", 1) for item in self.public_routes.split(",") if "=" in item)
        cleaned = {prefix.strip().strip("/"): name.strip() for prefix, name in pairs}
        unknown = sorted(f"{p}={n}" for p, n in cleaned.items() if n not in routes)
        if unknown:
            raise SystemExit(f"GATEWAY_PUBLIC_ROUTES names routes GATEWAY_ROUTES lacks: {', '.join(unknown)}")
        return {prefix: name for prefix, name in cleaned.items() if prefix}


class Bootstrap(msgspec.Struct, kw_only=True):
    """CLINICFLOW_ADMIN_EMAIL / _PASSWORD / CLINICFLOW_CLINIC_*: the first clinic and its admin."""

    admin_email: str = ""
    admin_password: str = ""
    clinic_name: str = "My clinic"
    clinic_country: str = claims.DEFAULT_COUNTRY
    clinic_locale: str = claims.DEFAULT_LOCALE
    clinic_timezone: str = claims.DEFAULT_TIMEZONE


def get_settings() -> GatewaySettings:
    return load(GatewaySettings, env_prefix(SERVICE))


def get_bootstrap() -> Bootstrap:
    return load(Bootstrap, "CLINICFLOW_")
