"""The prospects CRM's corrections in the staff console (issue 16), in a real headless Chromium against the real
stack: a request corrected on the lead card, the activities list naming its prospects, the duplicates window and
the sections and departments in Settings.

The flows live in web/e2e/leads.e2e.ts; this test opens a fresh clinic for them (they change the clinic's
settings and units, which must touch no other test's clinic) and runs them against the session's stack, whose
gateway serves the built console (web/dist, `just console-build`)."""

from __future__ import annotations

import pytest

from devkit.stack import Stack
from tests.e2e.browser import chromium_or_skip, run_flows
from tests.e2e.conftest import Api, new_clinic


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_leads_console_flows_in_chromium(stack: Stack, admin: Api) -> None:
    chromium_or_skip()
    owner = new_clinic(stack, admin, "Clínica dos Prospects")
    run_flows(stack, "leads.e2e.ts", {"LEADS_EMAIL": owner.email, "LEADS_PASSWORD": owner.password}, timeout=300)
