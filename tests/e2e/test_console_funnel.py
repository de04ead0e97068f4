"""The console's valuation → quote and pre-qualification assistant screens in Debian's headless Chromium.

The flows live in web/e2e/funnel.e2e.ts (node's test runner, playwright-core, axe-core); this test opens a fresh
clinic for them (a valuation goes to the clinic's least busy diagnostic doctor, so no other test's doctor may be
there, and the assistant is switched on for that clinic only) and runs them against the session's stack, whose
gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import pytest

from devkit.stack import Stack
from tests.e2e.browser import chromium_or_skip, run_flows
from tests.e2e.conftest import Api, new_clinic


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_funnel_screens_in_chromium(stack: Stack, admin: Api) -> None:
    chromium_or_skip()
    owner = new_clinic(stack, admin, "Clínica Capilar")  # a fresh clinic: the flows configure it
    run_flows(stack, "funnel.e2e.ts", {"FUNNEL_EMAIL": owner.email, "FUNNEL_PASSWORD": owner.password}, timeout=540)
