"""The staff console's Settings (issue 16, screen 12) in a real headless Chromium against the real stack.

The flows live in web/e2e/settings.e2e.ts; this test opens a fresh clinic for them (they connect the clinic's
own payments and telephony accounts, which must touch no other test's clinic) and runs them against the
session's stack, whose gateway serves the built console (web/dist, `just console-build`)."""

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
def test_settings_flows_in_chromium(stack: Stack, admin: Api) -> None:
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        _need(f"{chromium} is missing: apt-get install chromium (.ci/run does)")
    if not (WEB / "dist" / "index.html").exists() or not (WEB / "node_modules" / "playwright-core").exists():
        _need("the console is not built: `just console-build`")
    email, password = f"settings-{uuid.uuid4().hex[:8]}@clinic.example", "a-long-password"
    made = admin.http.post(
        "/api/v1/clinics",
        json={
            "name": "Clínica Configurada",
            "country": "BR",
            "locale": "pt-BR",
            "timezone": "America/Sao_Paulo",
            "admin": {"email": email, "full_name": "Dona Configura", "password": password, "roles": ["admin"]},
        },
    )
    assert made.status_code == 201, made.text
    env = {
        **os.environ,
        "CONSOLE_URL": stack.gateway_url,
        "SETTINGS_EMAIL": email,
        "SETTINGS_PASSWORD": password,
        "CHROMIUM": chromium,
    }
    if env.get("CONSOLE_SCREENSHOTS"):
        env["CONSOLE_SCREENSHOTS"] = str((WEB.parent / env["CONSOLE_SCREENSHOTS"]).resolve())
    result = subprocess.run(
        [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/settings.e2e.ts"],
        cwd=WEB,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"settings e2e failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
