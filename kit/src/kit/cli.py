"""`python -m <service> api | worker | migrate`: the same entry point for every service."""

from __future__ import annotations

import argparse
import asyncio
import importlib
from collections.abc import Callable
from pathlib import Path

from kit import serve
from kit.settings import ServiceSettings


def service_root(app_module: str) -> Path:
    """services/<name>/ (holds migrations/), found from the service's package."""
    module = importlib.import_module(app_module.split(".")[0])
    assert module.__file__
    return Path(module.__file__).resolve().parents[2]


def service_main(service: str, get_settings: Callable[[], ServiceSettings], app_module: str) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {service}")
    parser.add_argument("command", choices=["api", "worker", "migrate"])
    parser.add_argument(
        "--create-database", action="store_true", help="with migrate: CREATE DATABASE first if it does not exist"
    )
    args = parser.parse_args()
    settings = get_settings()
    if args.command == "api":
        serve.run(f"{app_module}:create_api", host=settings.http_host, port=settings.http_port)
    elif args.command == "worker":
        serve.run(f"{app_module}:create_worker", host=settings.http_host, port=settings.worker_port)
    else:
        # Imported here, not at the top: the api and worker commands become granian's supervising parent, which
        # would otherwise carry Alembic and SQLAlchemy (~40 MB resident) for nothing.
        from kit import migrations

        if args.create_database:
            server, name = settings.database_url.rsplit("/", 1)
            asyncio.run(migrations.ensure_database(server + "/postgres", name.split("?")[0]))
        migrations.upgrade(service_root(app_module), settings.database_url)
        print(f"{service}: database is at the latest migration")
