"""Conversations, the incoming call card, finance and reports in a real headless Chromium (Debian's), driven by
Playwright against the real stack: web/e2e/comms.e2e.ts (node's test runner, playwright-core, axe-core), started
here against the session's stack, whose gateway serves the built console (web/dist, `just console-build`); the
flows drive the WhatsApp, telephony and payment sandboxes as a person, a phone line and a bank would."""

from __future__ import annotations

import os
import subprocess

import pytest

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, ROOT, Stack
from tests.e2e.test_console import WEB, _need, _node


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_conversations_calls_finance_and_reports_in_chromium(stack: Stack) -> None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        _need(f"{chromium} is missing: apt-get install chromium (.ci/run does)")
    if not (WEB / "dist" / "index.html").exists() or not (WEB / "node_modules" / "playwright-core").exists():
        _need("the console is not built: `just console-build`")
    env = {
        **os.environ,
        "CONSOLE_URL": stack.gateway_url,
        "SANDBOX_URL": stack.url("sandbox"),
        "PAYMENTS_SANDBOX_URL": stack.url("sandbox_payments"),
        "ADMIN_EMAIL": DEFAULT_ADMIN_EMAIL,
        "ADMIN_PASSWORD": DEFAULT_ADMIN_PASSWORD,
        "CHROMIUM": chromium,
    }
    if env.get("CONSOLE_SCREENSHOTS"):  # docs/console.md: where the screenshots of each screen go
        env["CONSOLE_SCREENSHOTS"] = str((ROOT / env["CONSOLE_SCREENSHOTS"]).resolve())
    result = subprocess.run(
        [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/comms.e2e.ts"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
        check=False,
    )
    assert result.returncode == 0, f"console e2e failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
