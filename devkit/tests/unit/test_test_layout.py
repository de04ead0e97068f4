"""The tests keep their tiers: every test file sits in a tier folder, and kit's tests import no service."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from devkit.stack import ROOT
from devkit.testing import tier_of

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
SERVICES = {s["name"] for s in tomllib.loads((ROOT / "stack.toml").read_text())["service"]}


def all_test_files() -> list[Path]:
    paths = PYPROJECT["tool"]["pytest"]["ini_options"]["testpaths"]
    return sorted(f for p in paths for f in (ROOT / p).rglob("test_*.py"))


def test_every_test_file_is_in_a_tier_folder() -> None:
    files = all_test_files()
    assert len(files) > 20
    untiered = [str(f.relative_to(ROOT)) for f in files if tier_of(f.relative_to(ROOT)) is None]
    assert untiered == [], "put these under tests/unit, tests/integration, tests/e2e or tests/deploy"


def test_kit_and_contracts_tests_import_no_service() -> None:
    offenders = []
    for folder in ("kit/tests", "contracts/tests"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = (
                    [a.name for a in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module or ""]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in SERVICES]
    assert offenders == []
