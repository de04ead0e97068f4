"""The whole system on one machine: infrastructure, migrations, every service, the sandboxes.

    python -m devkit.stack up       # what `just up` runs; Ctrl-C stops everything it started

The end-to-end tests drive the same class with free ports and a temporary state folder.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import httpx

from devkit import infra as devinfra
from devkit.infra import Infra, ManagedProcess
from kit import migrations, sealing
from kit.settings import environ_copy, environ_get

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_ADMIN_EMAIL = "admin@clinicflow.local"
DEFAULT_ADMIN_PASSWORD = "clinicflow-dev"  # noqa: S105 - the documented login of the local dev stack, not a secret


def _migrate(service_root: Path, url: str) -> None:
    """One service's database to its latest revision (run in a forked process by Stack.migrate). Its revision
    files and models keep their bytecode like the services' processes do (devkit.infra.python_env)."""
    policy = devinfra.python_env()
    if "PYTHONPYCACHEPREFIX" in policy and not os.environ.get("PYTHONPYCACHEPREFIX"):
        sys.dont_write_bytecode, sys.pycache_prefix = False, policy["PYTHONPYCACHEPREFIX"]
    migrations.upgrade(service_root, url)


@dataclass
class ProcessSpec:
    name: str  # e.g. "leads-api"
    module: str
    command: list[str]
    port: int
    service: str


class Stack:
    def __init__(
        self, state_dir: Path, *, free_ports: bool, config: Path = ROOT / "stack.toml", infra: Infra | None = None
    ) -> None:
        self.state_dir = state_dir
        self.config = tomllib.loads(config.read_text())
        self.free_ports = free_ports
        self.infra: Infra | None = infra
        self._owns_infra = infra is None
        self.processes: dict[str, ManagedProcess] = {}
        self.specs: dict[str, ProcessSpec] = {}
        self.log_dir = state_dir / "logs"
        self.smtp_port = 0
        #: When each process first answered /health/ready (time.monotonic()), as wait_ready saw it.
        self.ready_at: dict[str, float] = {}
        #: The services seal their events' personal fields with privacy's key store (kit.personal). A bench that
        #: starts a few processes without privacy-api turns it off: their events then go in clear.
        self.key_store = True
        self._plan()

    # --- plan ---------------------------------------------------------------------------
    def _port(self, fixed: int) -> int:
        return devinfra.free_port() if self.free_ports else fixed

    def _plan(self) -> None:
        for box in self.config.get("sandbox", []):
            self._add(ProcessSpec(box["name"], box["module"], [], self._port(box["port"]), box["name"]))
            if "smtp_port" in box:
                self.smtp_port = self._port(box["smtp_port"])
        for svc in self.config["service"]:
            name = svc["name"]
            self._add(ProcessSpec(f"{name}-api", name, ["api"], self._port(svc["api_port"]), name))
            if "worker_port" in svc:
                self._add(ProcessSpec(f"{name}-worker", name, ["worker"], self._port(svc["worker_port"]), name))

    def _add(self, spec: ProcessSpec) -> None:
        self.specs[spec.name] = spec

    @property
    def services(self) -> list[str]:
        return [svc["name"] for svc in self.config["service"]]

    def url(self, process: str) -> str:
        return f"http://127.0.0.1:{self.specs[process].port}"

    @property
    def gateway_url(self) -> str:
        return self.url("gateway-api")

    def database_name(self, service: str) -> str:
        return f"clinicflow_{service}"

    def database_url(self, service: str) -> str:
        assert self.infra is not None
        own = environ_get(f"{service.upper()}_DATABASE_URL")
        return own or migrations.database_url(self.infra.postgres_url, self.database_name(service))

    # --- secrets for development, made on first start, never committed -------------------------
    def _dev_secret(self, name: str) -> str:
        path = self.state_dir / "secrets" / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()

    def _dev_sealing_keys(self) -> str:
        """The development key that seals stored credentials (kit.sealing), made on first start, kept in the
        state folder (.local/secrets), never committed. SEALING_KEYS in the environment wins."""
        path = self.state_dir / "secrets" / "sealing-key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(sealing.generate_key())
            path.chmod(0o600)
        return environ_get("SEALING_KEYS") or f"dev1:{path.read_text().strip()}"

    def env(self) -> dict[str, str]:
        assert self.infra is not None
        env = environ_copy()
        env.pop("DATABASE_URL", None)  # services take their own database, below
        whatsapp_token = self._dev_secret("whatsapp-token")
        env.update(
            {
                "KAFKA_BOOTSTRAP_SERVERS": self.infra.kafka_bootstrap,
                "REDIS_URL": self.infra.redis_url,
                "JWKS_URL": f"{self.gateway_url}/.well-known/jwks.json",
                "LINK_SECRET": environ_get("LINK_SECRET") or self._dev_secret("link-secret"),
                "SEALING_KEYS": self._dev_sealing_keys(),
                "GATEWAY_JWT_PRIVATE_KEY_FILE": str(self.state_dir / "keys" / "jwt-ed25519.pem"),
                "GATEWAY_GENERATE_DEV_KEYS": "true",
                "GATEWAY_ROUTES": ",".join(f"{s}={self.url(s + '-api')}" for s in self.services if s != "gateway"),
                "CLINICFLOW_ADMIN_EMAIL": environ_get("CLINICFLOW_ADMIN_EMAIL") or DEFAULT_ADMIN_EMAIL,
                "CLINICFLOW_ADMIN_PASSWORD": environ_get("CLINICFLOW_ADMIN_PASSWORD") or DEFAULT_ADMIN_PASSWORD,
                "SANDBOX_WHATSAPP_TOKEN": whatsapp_token,
                "NOTIFICATIONS_WHATSAPP_TOKEN": whatsapp_token,
                "NOTIFICATIONS_WHATSAPP_API_URL": self.url("sandbox"),
                **self._messaging_env(),
                **self._payments_env(),
                # Patient links (confirm, reschedule, .ics, booking, anamnesis) point at the gateway.
                "SCHEDULING_PUBLIC_URL": self.gateway_url,
                "FUNNEL_PUBLIC_URL": self.gateway_url,
                # Telephony: providers post to the gateway; click-to-call and recordings go to the sandbox PBX.
                "TELEPHONY_PUBLIC_URL": self.gateway_url,
                # Privacy: export links open through the gateway's public path.
                "PRIVACY_PUBLIC_URL": self.gateway_url,
                "TELEPHONY_TWILIO_API_URL": self.url("sandbox"),
                "TELEPHONY_TELFIN_API_URL": self.url("sandbox"),
                "TELEPHONY_ZADARMA_API_URL": self.url("sandbox"),
                "TELEPHONY_MANGO_API_URL": self.url("sandbox"),
                "PYTHONUNBUFFERED": "1",
                **self.infra.objects_env(),
            }
        )
        if self.key_store and "privacy" in self.services:
            # Crypto-shredding: every service seals its events' personal fields with keys from privacy's key store.
            env["PERSONAL_KEYS_URL"] = self.url("privacy-api")
            env["PERSONAL_KEYS_TOKEN"] = environ_get("PERSONAL_KEYS_TOKEN") or self._dev_secret("personal-keys-token")
        if self.free_ports:
            # Test stacks only: the e2e tests move scheduling's clock by writing seconds into this file.
            env["SCHEDULING_CLOCK_FILE"] = str(self.clock_file("scheduling"))
            env["FUNNEL_CLOCK_FILE"] = str(self.clock_file("funnel"))
            # and they see leads' lost_leads retention run within seconds, not the hour of a real stack
            env.setdefault("LEADS_RETENTION_TIMER_SECONDS", "2")
        for spec in self.specs.values():
            prefix = spec.service.upper()
            key = "WORKER_PORT" if spec.command == ["worker"] else "HTTP_PORT"
            env[f"{prefix}_{key}"] = str(spec.port)
        for service in self.services:
            env[f"{service.upper()}_DATABASE_URL"] = self.database_url(service)
        return env

    def _messaging_env(self) -> dict[str, str]:
        """The sandbox providers and notifications share their development secrets; webhooks go to the gateway."""
        shared = {
            name: self._dev_secret(name.replace("_", "-"))
            for name in ("whatsapp_app_secret", "whatsapp_verify_token", "twilio_auth_token", "telegram_secret_token")
        }
        sandbox = self.url("sandbox")
        env = {f"NOTIFICATIONS_{k.upper()}": v for k, v in shared.items()}
        env |= {f"SANDBOX_{k.upper()}": v for k, v in shared.items()}
        env |= {f"NOTIFICATIONS_{api}_API_URL": sandbox for api in ("TWILIO", "TELEGRAM", "INSTAGRAM")}
        env |= {
            "SANDBOX_WEBHOOK_BASE_URL": self.gateway_url,
            "NOTIFICATIONS_PUBLIC_BASE_URL": self.gateway_url,
            "SANDBOX_SMTP_PORT": str(self.smtp_port),
            "NOTIFICATIONS_SMTP_PORT": str(self.smtp_port),
        }
        return env

    def _payments_env(self) -> dict[str, str]:
        """Payments talks to the Mercado Pago sandbox, which signs its webhooks with the same secret."""
        if "sandbox_payments" not in self.specs:
            return {}
        token, secret = self._dev_secret("mercadopago-token"), self._dev_secret("mercadopago-webhook-secret")
        return {
            "PAYMENTS_PUBLIC_URL": self.gateway_url,
            "PAYMENTS_MERCADOPAGO_API_URL": self.url("sandbox_payments"),
            "PAYMENTS_MERCADOPAGO_ACCESS_TOKEN": token,
            "PAYMENTS_MERCADOPAGO_WEBHOOK_SECRET": secret,
            # Development only: the tests move the payments clock through this file (expiry, late webhooks).
            "PAYMENTS_CLOCK_FILE": str(self.clock_file("payments")),
            "SANDBOX_PAYMENTS_PUBLIC_URL": self.url("sandbox_payments"),
            "SANDBOX_PAYMENTS_ACCESS_TOKEN": token,
            "SANDBOX_PAYMENTS_WEBHOOK_SECRET": secret,
            **self._card_sandboxes_env(),
        }

    def _card_sandboxes_env(self) -> dict[str, str]:
        """The Stripe and Asaas look-alikes take generated API keys; the payments service knows where they are
        (a clinic connects them with PUT /api/v1/payments/settings, after registering its webhook there)."""
        env: dict[str, str] = {}
        if "sandbox_stripe" in self.specs:
            key = "sk_test_" + self._dev_secret("stripe-secret-key")
            env |= {
                "PAYMENTS_STRIPE_API_URL": self.url("sandbox_stripe"),
                "PAYMENTS_STRIPE_SECRET_KEY": key,
                "SANDBOX_STRIPE_SECRET_KEY": key,
                "SANDBOX_STRIPE_PUBLIC_URL": self.url("sandbox_stripe"),
            }
        if "sandbox_asaas" in self.specs:
            key = "$aact_" + self._dev_secret("asaas-api-key")
            env |= {
                "PAYMENTS_ASAAS_API_URL": self.url("sandbox_asaas"),
                "PAYMENTS_ASAAS_API_KEY": key,
                "SANDBOX_ASAAS_API_KEY": key,
                "SANDBOX_ASAAS_PUBLIC_URL": self.url("sandbox_asaas"),
            }
        return env

    def clock_file(self, service: str) -> Path:
        """Seconds added to a service's clock in a test stack: the e2e tests move time by writing it."""
        path = self.state_dir / "clock" / service
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    # --- lifecycle ------------------------------------------------------------------------
    def start_infra(self) -> Infra:
        infra_cfg = self.config["infra"]
        ports = (
            None
            if self.free_ports
            else {
                "postgres": infra_cfg["postgres_port"],
                "redis": infra_cfg["redis_port"],
                "kafka": infra_cfg["kafka_port"],
                "objects": infra_cfg["objects_port"],
            }
        )
        self.infra = devinfra.start(self.state_dir, ports=ports, durable=not self.free_ports)
        return self.infra

    def migrate(self, on_migrated: Callable[[str], None] | None = None) -> None:
        """Every service's database to its latest revision, the services side by side (one forked process each:
        Alembic's context is global to a process); `on_migrated(service)` runs as each one is done."""
        assert self.infra is not None
        for service in self.services:
            if not environ_get(f"{service.upper()}_DATABASE_URL"):
                asyncio.run(migrations.ensure_database(self.infra.postgres_url, self.database_name(service)))
        jobs = {service: (ROOT / "services" / service, self.database_url(service)) for service in self.services}
        if "fork" not in multiprocessing.get_all_start_methods():
            for service, (root, url) in jobs.items():
                _migrate(root, url)
                if on_migrated:
                    on_migrated(service)
            return
        context = multiprocessing.get_context("fork")  # the child has Alembic and SQLAlchemy imported already
        with ProcessPoolExecutor(max_workers=len(jobs), mp_context=context) as pool:
            futures = {pool.submit(_migrate, root, url): service for service, (root, url) in jobs.items()}
            for future in as_completed(futures):
                future.result()
                if on_migrated:
                    on_migrated(futures[future])

    def start_process(self, name: str) -> ManagedProcess:
        spec = self.specs[name]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = (self.log_dir / f"{name}.log").open("ab")
        popen = subprocess.Popen(
            [sys.executable, "-m", spec.module, *spec.command],
            env=devinfra.python_env(self.env()),
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.processes[name] = ManagedProcess(name, popen, self.log_dir / f"{name}.log")
        return self.processes[name]

    def start_all(self) -> None:
        for name in self.specs:
            self.start_process(name)

    def up(self, names: list[str] | None = None) -> dict[str, float]:
        """Infrastructure, migrations and the processes (`names`, default all), overlapped: the sandboxes start
        as soon as the servers answer, the databases migrate side by side, and a service's processes start the
        moment its own database is migrated. Returns the seconds each phase ended at, from the start."""
        wanted = [name for name in self.specs if names is None or name in names]
        began = time.monotonic()
        if self.infra is None:
            self.start_infra()
        phases = {"infrastructure": time.monotonic() - began}
        for name in wanted:
            if self.specs[name].service not in self.services:
                self.start_process(name)
        phases["sandboxes started"] = time.monotonic() - began

        def start_service(service: str) -> None:
            phases[f"migrated {service}"] = time.monotonic() - began
            for name in wanted:
                if self.specs[name].service == service:
                    self.start_process(name)

        self.migrate(on_migrated=start_service)
        phases["migrations"] = time.monotonic() - began
        self.wait_ready(wanted)
        phases["all_ready"] = time.monotonic() - began
        return {phase: round(at, 2) for phase, at in phases.items()}

    def wait_ready(self, names: list[str] | None = None, timeout: float | None = None) -> None:
        """Every process answers /health/ready, each polled on its own (a slow answer delays no other).
        Twenty processes start at once; on a busy two-core machine that can take minutes, not seconds.
        CLINICFLOW_READY_TIMEOUT (seconds) overrides the default of 240."""
        timeout = timeout or float(os.environ.get("CLINICFLOW_READY_TIMEOUT") or 240)
        deadline = time.monotonic() + timeout

        def wait_one(name: str, client: httpx.Client) -> str | None:
            proc = self.processes[name]
            while time.monotonic() < deadline:
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.popen.returncode}); see {proc.log_path}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get(f"{self.url(name)}/health/ready").status_code == 200:
                        self.ready_at[name] = time.monotonic()
                        return None
                time.sleep(0.25)
            return name

        pending = list(names or self.specs)
        with httpx.Client(timeout=2.0) as client, ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
            late = [name for name in pool.map(lambda n: wait_one(n, client), pending) if name]
        if late:
            raise TimeoutError(f"not ready after {timeout:.0f}s: {sorted(late)} (logs in {self.log_dir})")

    def restart(self, name: str) -> None:
        self.processes[name].stop()
        self.start_process(name)
        self.wait_ready([name])

    def stop(self) -> None:
        # Side by side: each process may take seconds to drain, and twenty of them one after the other took
        # half a minute.
        running = list(self.processes.values())
        if running:
            with ThreadPoolExecutor(max_workers=len(running)) as pool:
                list(pool.map(lambda proc: proc.stop(), running))
        self.processes.clear()
        if self.infra is not None and self._owns_infra:
            self.infra.stop()
            self.infra = None

    def summary(self) -> str:
        assert self.infra is not None
        env = self.env()
        lines = [
            "",
            "ClinicFlow is up.",
            f"  staff console        {self.gateway_url}/",
            f"  API (gateway)        {self.gateway_url}      docs: {self.gateway_url}/schema",
            f"  log in as            {env['CLINICFLOW_ADMIN_EMAIL']} / {env['CLINICFLOW_ADMIN_PASSWORD']}",
        ]
        for name in self.specs:
            if name != "gateway-api":
                lines.append(f"  {name:<20} {self.url(name)}  (/health/ready, /metrics)")
        lines += [
            f"  infrastructure       {self.infra.kind}",
            f"    PostgreSQL         {self.infra.postgres_url}",
            f"    Redis              {self.infra.redis_url}",
            f"    Kafka              {self.infra.kafka_bootstrap}",
            f"    object store (S3)  {self.infra.objects_url}",
            f"  logs                 {self.log_dir}/*.log   (just logs)",
            "Ctrl-C stops everything.",
        ]
        return "\n".join(lines)


def up(state_dir: Path) -> int:
    stack = Stack(state_dir, free_ports=False)
    stopping = False

    def on_signal(signum: int, _: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("starting PostgreSQL, Redis, the Kafka broker, then every service as its database is migrated ...")
        phases = stack.up()
        print(stack.summary(), flush=True)
        print(
            f"Ready in {phases['all_ready']} s (servers {phases['infrastructure']} s, "
            f"migrations {phases['migrations']} s).",
            flush=True,
        )
        while not stopping:
            for name, proc in stack.processes.items():
                if proc.popen.poll() is not None:
                    print(f"!! {name} exited with {proc.popen.returncode}; see {proc.log_path}", flush=True)
                    stopping = True
            time.sleep(0.5)
    except Exception as exc:
        print(f"start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping ...", flush=True)
        stack.stop()
    return 0


def migrate_only(state_dir: Path) -> int:
    stack = Stack(state_dir, free_ports=False)
    try:
        stack.start_infra()
        stack.migrate()
        print("every service database is at its latest migration")
    finally:
        stack.stop()
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m devkit.stack")
    parser.add_argument("command", choices=["up", "migrate"])
    parser.add_argument("--state", default=str(ROOT / ".local"), help="where data, keys and logs live")
    args = parser.parse_args()
    return up(Path(args.state)) if args.command == "up" else migrate_only(Path(args.state))


if __name__ == "__main__":
    sys.exit(main())
