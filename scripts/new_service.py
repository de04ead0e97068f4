"""`just new-service NAME`: a new service in the shared shape, registered everywhere from stack.toml.

    python scripts/new_service.py NAME [--api-port P] [--worker-port W]
    python scripts/new_service.py --remove NAME

Creates services/NAME (pyproject, migrations with the outbox and inbox, domain/models/repository/services/
schemas/api/app/settings/__main__, a unit and an integration test) and deploy/k8s/base/NAME (migration Job,
api and worker Deployments with their Service, HPA and PDB) from scripts/templates/, adds the `[[service]]`
entry to stack.toml, then regenerates every registration from it (scripts/registry.py: workspace, mypy,
pytest, import contracts with the service's layers, image, Kubernetes, gateway route), formats the new code
and updates uv.lock. `--remove` undoes all of it.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import registry

ROOT = registry.ROOT
TEMPLATES = Path(__file__).resolve().parent / "templates"
NAME = re.compile(r"^[a-z][a-z0-9]{1,30}$")
#: Names a service cannot take: the workspace's libraries and what would shadow a dependency.
RESERVED = {*registry.LIBRARIES, "tests", "scripts", "deploy", "services", "test", "app", "api"}


def _uv() -> str:
    return shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")


def _render(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace(f"@@{key}@@", value)
    leftover = re.search(r"@@\w+@@", text)
    if leftover:
        raise SystemExit(f"template placeholder {leftover.group(0)} has no value")
    return text


def _copy_tree(source: Path, target: Path, values: dict[str, str]) -> list[Path]:
    written = []
    for template in sorted(source.rglob("*.tmpl")):
        relative = _render(str(template.relative_to(source)), values).removesuffix(".tmpl")
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_render(template.read_text(), values))
        written.append(path)
    return written


def _ports(stack: dict[str, object]) -> tuple[int, int]:
    """The next free api port after the services' (8001, 8002, ...) and its worker port (+1000)."""
    listed = stack["service"]
    assert isinstance(listed, list)
    used = {int(s["api_port"]) for s in listed} | {int(s["worker_port"]) for s in listed if "worker_port" in s}
    api = max(int(s["api_port"]) for s in listed) + 1
    while api in used or api + 1000 in used:
        api += 1
    return api, api + 1000


def _stack_entry(name: str, api: int, worker: int) -> str:
    return f'\n[[service]]\nname = "{name}"\napi_port = {api}\nworker_port = {worker}\n'


def _finish(root: Path, paths: list[Path]) -> None:
    """Regenerate the registrations, format the new code, update the lock and the environment."""
    sys.path_importer_cache.clear()
    for path, (current, rendered) in registry.render_all(root).items():
        if current != rendered:
            path.write_text(rendered)
    if paths:
        targets = [str(p) for p in paths]
        ruff = [_uv(), "run", "--no-sync", "ruff"]
        # Format first (long template lines), then sort the imports (the service's name decides their order).
        subprocess.run([*ruff, "format", "-q", *targets], cwd=root, check=True)
        subprocess.run([*ruff, "check", "--fix", "-q", *targets], cwd=root, check=True)
        subprocess.run([*ruff, "format", "-q", *targets], cwd=root, check=True)
    subprocess.run([_uv(), "lock", "-q"], cwd=root, check=True)
    subprocess.run([_uv(), "sync", "--all-packages", "--locked", "-q"], cwd=root, check=True)


def create(name: str, api_port: int | None, worker_port: int | None, root: Path = ROOT) -> None:
    if not NAME.match(name) or name in RESERVED:
        raise SystemExit(f"a service name is 2-31 lower-case letters and digits, not reserved: {name!r}")
    stack_file = root / "stack.toml"
    stack = tomllib.loads(stack_file.read_text())
    if any(s["name"] == name for s in stack["service"]) or (root / "services" / name).exists():
        raise SystemExit(f"service {name!r} exists already")
    default_api, default_worker = _ports(stack)
    api, worker = api_port or default_api, worker_port or default_worker
    values = {
        "name": name,
        "Name": name.capitalize(),
        "NAME": name.upper(),
        "api_port": str(api),
        "worker_port": str(worker),
    }
    service_dir = root / "services" / name
    written = _copy_tree(TEMPLATES / "service", service_dir, values)
    _copy_tree(TEMPLATES / "k8s", root / "deploy" / "k8s" / "base" / name, values)
    with stack_file.open("a") as out:
        out.write(_stack_entry(name, api, worker))
    _finish(root, [p for p in written if p.suffix == ".py"])
    print(f"services/{name}: api :{api}, worker :{worker}; gateway route /api/v1/{name}/ -> {name}")
    print(f"next: edit services/{name}/src/{name}/domain.py, then `just lint` and `just test services/{name}`")


def remove(name: str, root: Path = ROOT) -> None:
    stack_file = root / "stack.toml"
    text = stack_file.read_text()
    entry = re.compile(rf'\n\[\[service\]\]\nname = "{re.escape(name)}"\n(?:[a-z_]+ = [^\n]+\n)*')
    if not entry.search(text):
        raise SystemExit(f"stack.toml lists no service {name!r}")
    stack_file.write_text(entry.sub("", text, count=1))
    shutil.rmtree(root / "services" / name, ignore_errors=True)
    shutil.rmtree(root / "deploy" / "k8s" / "base" / name, ignore_errors=True)
    _finish(root, [])
    print(f"removed {name}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="just new-service", description=__doc__.split("\n\n")[0])
    parser.add_argument("name")
    parser.add_argument("--api-port", type=int)
    parser.add_argument("--worker-port", type=int)
    parser.add_argument("--remove", action="store_true", help="undo: delete the service and its registrations")
    args = parser.parse_args()
    if args.remove:
        remove(args.name)
    else:
        create(args.name, args.api_port, args.worker_port)


if __name__ == "__main__":
    main()
