"""The staff console in a real headless Chromium (Debian's), driven by Playwright against the real stack.

The flows live in web/e2e/console.e2e.ts (node's test runner, playwright-core, axe-core); this test starts
them against the session's stack, whose gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import pytest

from devkit.stack import Stack
from tests.e2e.browser import ADMIN_LOGIN, WEB, _need, run_flows


@pytest.mark.e2e
@pytest.mark.timeout(600)  # eight browser flows, two browsers at once in one of them, on a shared machine
def test_console_flows_in_chromium(stack: Stack) -> None:
    run_flows(
        stack,
        "console.e2e.ts",
        ADMIN_LOGIN,
        timeout=240,
    )


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
