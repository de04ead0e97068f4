"""The local stack's plan from stack.toml, without starting anything."""

from __future__ import annotations

import tomllib
from pathlib import Path

from devkit.infra import Infra, free_port
from devkit.stack import ROOT, Stack


def test_every_listed_service_gets_its_processes_and_a_gateway_route(tmp_path: Path) -> None:
    listed = tomllib.loads((ROOT / "stack.toml").read_text())["service"]
    stack = Stack(tmp_path, free_ports=True)
    for svc in listed:
        assert f"{svc['name']}-api" in stack.specs
        assert (f"{svc['name']}-worker" in stack.specs) == ("worker_port" in svc)
    stack.infra = Infra(
        postgres_url="postgresql://u@127.0.0.1:1/x", redis_url="redis://r", kafka_bootstrap="k:1", kind="env"
    )
    routes = dict(item.split("=", 1) for item in stack.env()["GATEWAY_ROUTES"].split(","))
    assert set(routes) == {s["name"] for s in listed} - {"gateway"}
    ports = [spec.port for spec in stack.specs.values()]
    assert len(set(ports)) == len(ports)  # free ports, none shared


def test_with_bytecode_writing_off_the_stack_keeps_bytecode_in_its_own_cache_folder() -> None:
    from devkit.infra import PYCACHE, python_env

    env = python_env({"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/bin"})
    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(PYCACHE)
    assert PYCACHE.is_relative_to(ROOT / ".local")  # ignored by git, outside the sources and the virtualenv
    assert python_env({"PATH": "/bin"}) == {"PATH": "/bin"}  # bytecode written as usual: nothing to change
    chosen = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": "/elsewhere"}
    assert python_env(chosen) == chosen  # a cache folder of the caller's own is kept


def test_a_free_port_is_never_handed_out_twice_and_stays_below_the_ephemeral_range() -> None:
    """Two servers given one port both bind it (granian's SO_REUSEPORT) and split its connections; an outgoing
    connection's local port could take one handed out before its server binds."""
    ports = [free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    start = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    assert all(20_000 <= p < start for p in ports)
