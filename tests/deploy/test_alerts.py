"""The PrometheusRule (deploy/k8s/base/monitoring/alerts.yaml): shape, runbooks, real metrics, `promtool test rules`.

promtool ships in Debian's `prometheus` package (.ci/run installs it). Where it is missing the rule unit tests are
skipped locally and fail under CI (CI=true), like the other tools of tests/deploy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "k8s" / "base" / "monitoring"
RUNBOOKS = ROOT / "deploy" / "k8s" / "runbooks"
RUNBOOK_BASE = "https://github.com/clinicflow/clinicflow/blob/main/deploy/k8s/runbooks/"
SERVICES = tomllib.loads((ROOT / "stack.toml").read_text())["service"]
PROCESSES = [
    f"{s['name']}-{kind}" for s in SERVICES for kind in ("api", "worker") if kind == "api" or "worker_port" in s
]
#: Metrics other programs export, by who exports them (the rest must be defined in our code).
EXTERNAL = {
    "up": "Prometheus",
    "kafka_consumergroup_lag": "Kafka Exporter",
    "kafka_consumergroup_current_offset": "Kafka Exporter",
    "kafka_topic_partition_current_offset": "Kafka Exporter",
    "kafka_topic_partitions": "Kafka Exporter",
    "kafka_brokers": "Kafka Exporter",
    "kafka_server_replicamanager_underreplicatedpartitions": "JMX rules, infra/kafka.yaml",
    "kafka_server_replicamanager_partitioncount": "JMX rules, infra/kafka.yaml",
    "kafka_server_replicamanager_leadercount": "JMX rules, infra/kafka.yaml",
    "kafka_server_brokertopicmetrics_messagesin_total": "JMX rules, infra/kafka.yaml",
    "kafka_server_brokertopicmetrics_bytesin_total": "JMX rules, infra/kafka.yaml",
    "kafka_server_brokertopicmetrics_bytesout_total": "JMX rules, infra/kafka.yaml",
    "kafka_controller_kafkacontroller_activecontrollercount": "JMX rules, infra/kafka.yaml",
    "kafka_controller_kafkacontroller_offlinepartitionscount": "JMX rules, infra/kafka.yaml",
    "cnpg_pg_replication_lag": "CloudNativePG default queries",
    "cnpg_collector_up": "CloudNativePG",
    "cnpg_collector_last_available_backup_timestamp": "CloudNativePG",
    "cnpg_collector_last_failed_backup_timestamp": "CloudNativePG",
    "cnpg_backends_total": "CloudNativePG default queries",
    "cnpg_pg_database_size_bytes": "CloudNativePG default queries",
    "cnpg_pg_stat_database_xact_commit": "CloudNativePG default queries",
    "cnpg_pg_stat_archiver_archived_count": "CloudNativePG default queries",
    "cnpg_pg_stat_archiver_failed_count": "CloudNativePG default queries",
    "cnpg_pgbouncer_pools_cl_active": "CloudNativePG Pooler",
    "cnpg_pgbouncer_pools_cl_waiting": "CloudNativePG Pooler",
    "cnpg_pgbouncer_pools_sv_active": "CloudNativePG Pooler",
    "cnpg_pgbouncer_pools_sv_idle": "CloudNativePG Pooler",
}
_DEFINITION = re.compile(r"\b(Counter|Gauge|Histogram|Summary)\(\s*\"([a-z_:][a-z0-9_:]*)\"")
_NAME = re.compile(r"\b(?:clinicflow|kafka|cnpg)_[a-z0-9_]+\b|\bup\b")


def rule_groups() -> list[dict[str, Any]]:
    doc = yaml.safe_load((MONITORING / "alerts.yaml").read_text())
    assert doc["kind"] == "PrometheusRule"
    groups: list[dict[str, Any]] = doc["spec"]["groups"]
    return groups


def alerts() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def defined_metrics() -> set[str]:
    """Every series name the prometheus-client definitions in kit/ and services/ expose."""
    names: set[str] = set()
    for path in [*ROOT.glob("kit/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]:
        for kind, name in _DEFINITION.findall(path.read_text()):
            if kind == "Counter":
                names.add(name if name.endswith("_total") else f"{name}_total")
            elif kind in ("Histogram", "Summary"):
                names |= {f"{name}_{suffix}" for suffix in ("bucket", "count", "sum")}
            else:
                names.add(name)
    return names


def promql_names(expr: str) -> set[str]:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(_NAME.findall(without_strings))


def dashboard_exprs() -> list[str]:
    """PromQL of every panel target in the Grafana dashboards (monitoring/dashboards/*.json)."""
    import json

    exprs = []
    for path in sorted((MONITORING / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            exprs += [t["expr"] for t in panel.get("targets", []) if "expr" in t]
    return exprs


def test_every_alert_has_for_severity_and_a_runbook() -> None:
    found = alerts()
    assert found
    for rule in found:
        name = rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule.get("for", "")), f"{name}: for:"
        assert rule["labels"]["severity"] in {"critical", "warning"}, name
        url = rule["annotations"]["runbook_url"]
        assert url.startswith(RUNBOOK_BASE), name
        page = RUNBOOKS / url.removeprefix(RUNBOOK_BASE)
        assert page.exists(), f"{name}: {page} is missing"
        assert name in page.read_text(), f"{name}: its runbook does not name it"
        for text in rule["annotations"].values():
            # Only label templates: the promtool cases below render them to compare.
            assert not re.sub(r"\{\{ \$labels\.\w+ \}\}", "", text).count("{{"), name


def test_every_process_has_an_absent_alert() -> None:
    absent = {r["labels"].get("process") for r in alerts() if r["alert"] == "ClinicFlowTargetAbsent"}
    assert absent == set(PROCESSES)


def test_every_metric_named_in_alerts_and_dashboards_exists() -> None:
    ours = defined_metrics()
    assert {"clinicflow_outbox_backlog", "clinicflow_http_request_duration_seconds_bucket"} <= ours
    exprs = [rule["expr"] for group in rule_groups() for rule in group["rules"]] + dashboard_exprs()
    assert exprs
    unknown = {name for expr in exprs for name in promql_names(expr)} - ours - set(EXTERNAL)
    assert not unknown, f"metrics no code or exporter defines: {sorted(unknown)}"


# --- promtool ------------------------------------------------------------------------------------------------
def _render(text: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m[1], ""), text)


def _expect(alert: str, labels: dict[str, str]) -> dict[str, Any]:
    """The alert as promtool reports it: its own labels plus the series', annotations rendered."""
    rule = next(r for r in alerts() if r["alert"] == alert and r["labels"].items() <= {**r["labels"], **labels}.items())
    full = {**labels, **rule["labels"]}
    return {"exp_labels": full, "exp_annotations": {k: _render(v, full) for k, v in rule["annotations"].items()}}


def _s(metric: str, values: str, **labels: str) -> dict[str, str]:
    """An input series of a promtool case."""
    return {"series": metric + "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}", "values": values}


def _up_all(but: str | None = None) -> list[dict[str, str]]:
    return [
        {"series": f'up{{job="clinicflow/{p}", namespace="clinicflow", pod="{p}-0"}}', "values": "1x40"}
        for p in PROCESSES
        if p != but
    ]


def _cases() -> list[dict[str, Any]]:
    lead = {"consumergroup": "notifications.leads", "topic": "clinicflow.leads.events"}
    scheduling = {"service": "scheduling"}
    return [
        {  # lag that grows fires; a constant backlog does not
            "interval": "1m",
            "input_series": [
                _s(
                    "kafka_consumergroup_lag",
                    "0+20x40",
                    consumergroup="notifications.leads",
                    topic="clinicflow.leads.events",
                    partition="0",
                ),
                _s(
                    "kafka_consumergroup_lag",
                    "500x40",
                    consumergroup="payments.scheduling",
                    topic="clinicflow.scheduling.events",
                    partition="0",
                ),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "30m",
                    "alertname": "ClinicFlowConsumerLagGrowing",
                    "exp_alerts": [_expect("ClinicFlowConsumerLagGrowing", lead)],
                },
                {"eval_time": "8m", "alertname": "ClinicFlowConsumerLagGrowing", "exp_alerts": []},
            ],
        },
        {  # a parked message fires; a quiet DLQ counter does not
            "interval": "1m",
            "input_series": [
                _s(
                    "clinicflow_dlq_messages_total",
                    "0 0 0 1 1 1 1 1 1 1",
                    service="leads",
                    topic="clinicflow.leads.events.dlq",
                ),
                _s("clinicflow_dlq_messages_total", "2x9", service="payments", topic="clinicflow.payments.events.dlq"),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "6m",
                    "alertname": "ClinicFlowDLQMessages",
                    "exp_alerts": [
                        _expect("ClinicFlowDLQMessages", {"service": "leads", "topic": "clinicflow.leads.events.dlq"})
                    ],
                },
                {"eval_time": "2m", "alertname": "ClinicFlowDLQMessages", "exp_alerts": []},
            ],
        },
        {  # the outbox: backlog and age; the relay's leader
            "interval": "1m",
            "input_series": [
                _s("clinicflow_outbox_backlog", "5000x20", service="leads", pod="leads-worker-a"),
                _s("clinicflow_outbox_backlog", "3x20", service="payments", pod="payments-worker-a"),
                _s("clinicflow_outbox_oldest_unpublished_seconds", "0+60x20", service="leads", pod="leads-worker-a"),
                _s("clinicflow_outbox_oldest_unpublished_seconds", "1x20", service="payments", pod="payments-worker-a"),
                _s("clinicflow_outbox_relay_leader", "0x20", service="leads", pod="leads-worker-a"),
                _s("clinicflow_outbox_relay_leader", "0x20", service="leads", pod="leads-worker-b"),
                _s("clinicflow_outbox_relay_leader", "1x20", service="payments", pod="payments-worker-a"),
                _s("clinicflow_outbox_relay_leader", "0x20", service="payments", pod="payments-worker-b"),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "15m",
                    "alertname": "ClinicFlowOutboxBacklog",
                    "exp_alerts": [_expect("ClinicFlowOutboxBacklog", {"service": "leads"})],
                },
                {
                    "eval_time": "15m",
                    "alertname": "ClinicFlowOutboxStuck",
                    "exp_alerts": [_expect("ClinicFlowOutboxStuck", {"service": "leads"})],
                },
                {"eval_time": "4m", "alertname": "ClinicFlowOutboxStuck", "exp_alerts": []},
                {
                    "eval_time": "10m",
                    "alertname": "ClinicFlowRelayWithoutLeader",
                    "exp_alerts": [_expect("ClinicFlowRelayWithoutLeader", {"service": "leads"})],
                },
            ],
        },
        {  # reminders: rounds that stop, or only fail, fire; idle rounds are fine
            "interval": "1m",
            "input_series": [
                _s(
                    "clinicflow_task_runs_total",
                    "0+60x10 600x30",
                    service="scheduling",
                    task="reminders",
                    outcome="idle",
                    pod="a",
                ),
                _s(
                    "clinicflow_task_runs_total",
                    "0+12x40",
                    service="scheduling",
                    task="hold expiry",
                    outcome="idle",
                    pod="a",
                ),
            ],
            "alert_rule_test": [
                {"eval_time": "9m", "alertname": "ClinicFlowRemindersOverdue", "exp_alerts": []},
                {
                    "eval_time": "30m",
                    "alertname": "ClinicFlowRemindersOverdue",
                    "exp_alerts": [_expect("ClinicFlowRemindersOverdue", scheduling)],
                },
            ],
        },
        {
            "interval": "1m",
            "input_series": [
                _s(
                    "clinicflow_task_runs_total",
                    "0+6x40",
                    service="scheduling",
                    task="reminders",
                    outcome="failed",
                    pod="a",
                ),
                _s(
                    "clinicflow_task_runs_total",
                    "0x40",
                    service="scheduling",
                    task="reminders",
                    outcome="idle",
                    pod="a",
                ),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "30m",
                    "alertname": "ClinicFlowRemindersOverdue",
                    "exp_alerts": [_expect("ClinicFlowRemindersOverdue", scheduling)],
                },
            ],
        },
        {  # HTTP: 10 % 5xx fires for that service only; a slow busy route fires, a slow idle one does not
            "interval": "1m",
            "input_series": [
                _s(
                    "clinicflow_http_request_duration_seconds_count",
                    "0+540x20",
                    service="leads",
                    route="/api/v1/leads",
                    method="POST",
                    status="201",
                ),
                _s(
                    "clinicflow_http_request_duration_seconds_count",
                    "0+60x20",
                    service="leads",
                    route="/api/v1/leads",
                    method="POST",
                    status="500",
                ),
                _s(
                    "clinicflow_http_request_duration_seconds_count",
                    "0+600x20",
                    service="payments",
                    route="/api/v1/payments",
                    method="GET",
                    status="200",
                ),
                _s(
                    "clinicflow_http_request_duration_seconds_bucket",
                    "0+500x20",
                    service="payments",
                    route="/api/v1/payments",
                    method="GET",
                    status="200",
                    le="1",
                ),
                _s(
                    "clinicflow_http_request_duration_seconds_bucket",
                    "0+600x20",
                    service="payments",
                    route="/api/v1/payments",
                    method="GET",
                    status="200",
                    le="2.5",
                ),
                _s(
                    "clinicflow_http_request_duration_seconds_bucket",
                    "0+600x20",
                    service="payments",
                    route="/api/v1/payments",
                    method="GET",
                    status="200",
                    le="+Inf",
                ),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "12m",
                    "alertname": "ClinicFlowHigh5xxRate",
                    "exp_alerts": [_expect("ClinicFlowHigh5xxRate", {"service": "leads"})],
                },
                {
                    "eval_time": "15m",
                    "alertname": "ClinicFlowSlowRoute",
                    "exp_alerts": [
                        _expect("ClinicFlowSlowRoute", {"service": "payments", "route": "/api/v1/payments"})
                    ],
                },
            ],
        },
        {  # targets: a process with no target at all, and a pod that stopped answering
            "interval": "1m",
            "input_series": [
                *_up_all(but="leads-worker"),
                _s("up", "0x40", job="clinicflow/leads-worker", namespace="clinicflow", pod="leads-worker-0"),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "10m",
                    "alertname": "ClinicFlowTargetAbsent",
                    # absent() of a filtered vector carries no labels of the series: `process` names it.
                    "exp_alerts": [_expect("ClinicFlowTargetAbsent", {"process": "leads-worker"})],
                },
                {
                    "eval_time": "10m",
                    "alertname": "ClinicFlowTargetDown",
                    "exp_alerts": [
                        _expect(
                            "ClinicFlowTargetDown",
                            {"job": "clinicflow/leads-worker", "namespace": "clinicflow", "pod": "leads-worker-0"},
                        )
                    ],
                },
            ],
        },
        {  # the infrastructure
            "interval": "1m",
            "input_series": [
                _s(
                    "kafka_server_replicamanager_underreplicatedpartitions",
                    "0 0 3x30",
                    pod="clinicflow-kafka-combined-0",
                ),
                _s("kafka_server_replicamanager_underreplicatedpartitions", "0x32", pod="clinicflow-kafka-combined-1"),
                _s("cnpg_pg_replication_lag", "120x20", pod="clinicflow-pg-2"),
                _s("cnpg_pg_replication_lag", "0x20", pod="clinicflow-pg-3"),
                _s("cnpg_collector_last_available_backup_timestamp", "1000x20", pod="clinicflow-pg-1"),
                _s("cnpg_collector_last_failed_backup_timestamp", "0x5 2000x15", pod="clinicflow-pg-1"),
            ],
            "alert_rule_test": [
                {
                    "eval_time": "20m",
                    "alertname": "KafkaUnderReplicatedPartitions",
                    "exp_alerts": [_expect("KafkaUnderReplicatedPartitions", {"pod": "clinicflow-kafka-combined-0"})],
                },
                {
                    "eval_time": "10m",
                    "alertname": "PostgresReplicationLag",
                    "exp_alerts": [_expect("PostgresReplicationLag", {"pod": "clinicflow-pg-2"})],
                },
                {"eval_time": "4m", "alertname": "PostgresBackupFailed", "exp_alerts": []},
                {
                    "eval_time": "10m",
                    "alertname": "PostgresBackupFailed",
                    "exp_alerts": [_expect("PostgresBackupFailed", {})],
                },
            ],
        },
        {  # no backup for more than 26 hours
            "interval": "1m",
            "input_series": [
                _s("cnpg_collector_last_available_backup_timestamp", "0x1800", pod="clinicflow-pg-1"),
            ],
            "alert_rule_test": [
                {"eval_time": "20h", "alertname": "PostgresBackupTooOld", "exp_alerts": []},
                {
                    "eval_time": "28h",
                    "alertname": "PostgresBackupTooOld",
                    "exp_alerts": [_expect("PostgresBackupTooOld", {})],
                },
            ],
        },
    ]


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        message = "promtool is missing (Debian: apt-get install prometheus; .ci/run does it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_the_rules_pass_promtool(promtool: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": rule_groups()}))
    checked = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    cases = tmp_path / "rules.test.yaml"
    cases.write_text(yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": _cases()}))
    tested = subprocess.run(
        [promtool, "test", "rules", str(cases)], capture_output=True, text=True, check=False, timeout=120
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_has_a_promtool_case() -> None:
    tested = {t["alertname"] for case in _cases() for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert tested == {rule["alert"] for rule in alerts()}


def test_the_dashboards_are_provisioned_for_grafana() -> None:
    import json

    kustomization = yaml.safe_load((MONITORING.parent / "kustomization.yaml").read_text())
    generated = {
        Path(f).name: g for g in kustomization["configMapGenerator"] for f in g.get("files", []) if f.endswith(".json")
    }
    dashboards = sorted(p.name for p in (MONITORING / "dashboards").glob("*.json"))
    assert {"services.json", "business.json", "kafka.json", "postgres.json"} <= set(dashboards)
    assert sorted(generated) == dashboards, "every dashboard has its ConfigMap"
    uids = set()
    for name, generator in generated.items():
        assert generator["options"]["labels"]["grafana_dashboard"] == "1", name
        board = json.loads((MONITORING / "dashboards" / name).read_text())
        uids.add(board["uid"])
        assert board["panels"], name
        for panel in board["panels"]:
            assert panel["targets"], f"{name}: {panel['title']}"
    assert len(uids) == len(generated)
