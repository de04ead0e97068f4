from __future__ import annotations

import msgspec

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
    login_attempts: int = 10
    login_window_seconds: int = 300
    #: context=base URL pairs; /api/v1/<context>/... is forwarded there.
    routes: str = "leads=http://127.0.0.1:8001,notifications=http://127.0.0.1:8005"

    def route_map(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.routes.split(",") if "=" in item)
        return {name.strip(): url.strip().rstrip("/") for name, url in pairs}


class Bootstrap(msgspec.Struct, kw_only=True):
    """CLINICFLOW_ADMIN_EMAIL / _PASSWORD / CLINICFLOW_CLINIC_*: the first clinic and its admin."""

    admin_email: str = ""
    admin_password: str = ""
    clinic_name: str = "My clinic"
    clinic_country: str = "BR"
    clinic_locale: str = "pt-BR"
    clinic_timezone: str = "America/Sao_Paulo"


def get_settings() -> GatewaySettings:
    return load(GatewaySettings, env_prefix(SERVICE))


def get_bootstrap() -> Bootstrap:
    return load(Bootstrap, "CLINICFLOW_")
