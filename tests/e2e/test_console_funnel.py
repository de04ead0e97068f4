"""The console's valuation → quote and pre-qualification assistant screens in Debian's headless Chromium.

The flows live in web/e2e/funnel.e2e.ts (node's test runner, playwright-core, axe-core); this test opens a fresh
clinic for them (a valuation goes to the clinic's least busy diagnostic doctor, so no other test's doctor may be
there, and the assistant is switched on for that clinic only) and runs them against the session's stack, whose
gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import uuid

import pytest

from devkit.stack import Stack
from tests.e2e.browser import chromium_or_skip, run_flows
from tests.e2e.conftest import Api


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_funnel_screens_in_chromium(stack: Stack, admin: Api) -> None:
    chromium_or_skip()
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
    run_flows(stack, "funnel.e2e.ts", {"FUNNEL_EMAIL": email, "FUNNEL_PASSWORD": password}, timeout=540)
