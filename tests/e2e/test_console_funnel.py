"""The console's valuation → quote and pre-qualification assistant screens in Debian's headless Chromium.

The flows live in web/e2e/funnel.e2e.ts (node's test runner, playwright-core, axe-core); this test opens a fresh
clinic for them (a valuation goes to the clinic's least busy diagnostic doctor, so no other test's doctor may be
there, and the assistant is switched on for that clinic only) and runs them against the session's stack, whose
gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api
from tests.e2e.test_console import WEB, _need, _node


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_funnel_screens_in_chromium(stack: Stack, admin: Api) -> None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        _need(f"{chromium} is missing: apt-get install chromium (.ci/run does)")
    if not (WEB / "dist" / "index.html").exists() or not (WEB / "node_modules" / "playwright-core").exists():
        _need("the console is not built: `just console-build`")
    email, password = f"funnel-{uuid.uuid4().hex[:8]}@clinic.example", "a-long-password"
    made = admin.http.post(
        "/api/v1/clinics",
        json={
            "name": "Clínica Capilar",
            "country": "BR",
            "locale": "pt-BR",
            "timezone": "America/Sao_Paulo",
            "admin": {"email": email, "full_name": "Dona Capilar", "password": password, "roles": ["admin"]},
        },
    )
    assert made.status_code == 201, made.text
    env = {
        **os.environ,
        "CONSOLE_URL": stack.gateway_url,
        "FUNNEL_EMAIL": email,
        "FUNNEL_PASSWORD": password,
        "CHROMIUM": chromium,
    }
    if env.get("CONSOLE_SCREENSHOTS"):  # docs/console.md: where the screenshots of each screen go
        env["CONSOLE_SCREENSHOTS"] = str((WEB.parent / env["CONSOLE_SCREENSHOTS"]).resolve())
    try:
        result = subprocess.run(
            [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/funnel.e2e.ts"],
            cwd=WEB,
            env=env,
            capture_output=True,
            text=True,
            timeout=540,
            check=False,
        )
    except subprocess.TimeoutExpired as slow:  # say where it was, not only that it was slow
        out = slow.stdout.decode() if isinstance(slow.stdout, bytes) else (slow.stdout or "")
        pytest.fail(f"funnel e2e did not finish in {slow.timeout} s:\n{out[-8000:]}")
    assert result.returncode == 0, f"funnel e2e failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
