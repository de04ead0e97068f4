"""Autogenerate an Alembic revision for a service against a throwaway database.

just makemigration leads "add requests table"
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from alembic import command

from devkit import infra as devinfra
from kit import migrations

ROOT = Path(__file__).resolve().parents[1]


def main(service: str, message: str) -> None:
    service_dir = ROOT / "services" / service
    if not service_dir.exists():
        service_dir = ROOT / service
    with tempfile.TemporaryDirectory() as tmp, devinfra.running(Path(tmp)) as infra:
        name = f"makemigration_{service}"
        asyncio.run(migrations.ensure_database(infra.postgres_url, name))
        url = migrations.database_url(infra.postgres_url, name)
        cfg = migrations.alembic_config(service_dir, url)
        command.upgrade(cfg, "head")
        command.revision(cfg, message=message, autogenerate=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
