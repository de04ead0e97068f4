"""The staff console's Settings (issue 16, screen 12) in a real headless Chromium against the real stack.

The flows live in web/e2e/settings.e2e.ts; this test opens a fresh clinic for them (they connect the clinic's
own payments and telephony accounts, which must touch no other test's clinic) and runs them against the
session's stack, whose gateway serves the built console (web/dist, `just console-build`)."""

from __future__ import annotations

import pytest

from devkit.stack import Stack
from tests.e2e.browser import chromium_or_skip, run_flows
from tests.e2e.conftest import Api, new_clinic


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_settings_flows_in_chromium(stack: Stack, admin: Api) -> None:
    chromium_or_skip()
    owner = new_clinic(stack, admin, "Clínica Configurada")  # a fresh clinic: the flows configure it
    run_flows(
        stack, "settings.e2e.ts", {"SETTINGS_EMAIL": owner.email, "SETTINGS_PASSWORD": owner.password}, timeout=300
    )
