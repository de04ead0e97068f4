"""The console's privacy screens (requests, read audit, retention, consent ledger) in Debian's headless Chromium.

The flows live in web/e2e/privacy.e2e.ts (node's test runner, playwright-core, axe-core); this test starts them
against the session's stack, whose gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, Stack
from tests.e2e.test_console import WEB, _need, _node


@pytest.mark.e2e
@pytest.mark.timeout(600)  # a browser flow waiting on every service's part of an export, on a shared machine
def test_privacy_flows_in_chromium(stack: Stack) -> None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        _need(f"{chromium} is missing: apt-get install chromium (.ci/run does)")
    if not (WEB / "dist" / "index.html").exists() or not (WEB / "node_modules" / "playwright-core").exists():
        _need("the console is not built: `just console-build`")
    env = {
        **os.environ,
        "CONSOLE_URL": stack.gateway_url,
        "ADMIN_EMAIL": DEFAULT_ADMIN_EMAIL,
        "ADMIN_PASSWORD": DEFAULT_ADMIN_PASSWORD,
        "CHROMIUM": chromium,
    }
    if env.get("CONSOLE_SCREENSHOTS"):  # docs/console.md: where the screenshots of each screen go
        env["CONSOLE_SCREENSHOTS"] = str((WEB.parent / env["CONSOLE_SCREENSHOTS"]).resolve())
    try:
        result = subprocess.run(
            [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/privacy.e2e.ts"],
            cwd=WEB,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
    except subprocess.TimeoutExpired as slow:  # say where it was, not only that it was slow
        out = slow.stdout.decode() if isinstance(slow.stdout, bytes) else (slow.stdout or "")
        pytest.fail(f"privacy e2e did not finish in {slow.timeout} s:\n{out[-8000:]}")
    assert result.returncode == 0, f"privacy e2e failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
