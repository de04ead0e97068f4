"""The staff console's funnel Settings (the pre-qualification assistant, valuations and quotes) in a real
headless Chromium against the real stack.

The flows live in web/e2e/settings-funnel.e2e.ts; this test opens a fresh clinic for them (they switch its
assistant on, which must touch no other test's clinic), gives it a branch, two procedures, a treatment and a
sales agent as its admin would through the API, and runs them against the session's stack, whose gateway serves
the built console (web/dist, `just console-build`)."""

from __future__ import annotations

import time
import uuid

import pytest

from devkit.stack import Stack
from tests.e2e.browser import chromium_or_skip, run_flows
from tests.e2e.clinic import add_branch, add_procedure, ok
from tests.e2e.conftest import Api, known_to_leads, new_clinic, staff

VALUATION = "/api/v1/funnel/valuation-settings"


def _known_to_funnel(owner: Api, user_id: str, timeout: float = 20.0) -> None:
    """The funnel learns staff from the gateway's events a moment later: its valuation settings refuse the agent
    (422 `agent_id`) until then; ask until it accepts, then leave the settings empty again."""
    deadline = time.monotonic() + timeout
    while owner.http.put(VALUATION, json={"treatments": [], "agent_id": user_id}).status_code != 200:
        assert time.monotonic() < deadline, "the funnel never learnt the new sales agent"
        time.sleep(0.3)
    ok(owner.http.put(VALUATION, json={"treatments": [], "agent_id": None}))


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_funnel_settings_flows_in_chromium(stack: Stack, admin: Api) -> None:
    chromium_or_skip()
    owner = new_clinic(stack, admin, "Clínica do Assistente")
    branch = add_branch(owner, "Moema")
    botox = add_procedure(owner, "Toxina botulínica")
    add_procedure(owner, "Peeling químico")
    slug = f"hair_{uuid.uuid4().hex[:6]}"
    ok(owner.http.post("/api/v1/leads/lists/treatment", json={"label": "Transplante capilar", "slug": slug}), 201)
    _, agent_id = staff(stack, owner, "sales_agent")
    known_to_leads(owner, agent_id)  # the agent list the section offers
    _known_to_funnel(owner, agent_id)  # the agent the funnel accepts
    run_flows(
        stack,
        "settings-funnel.e2e.ts",
        {
            "SETTINGS_EMAIL": owner.email, "SETTINGS_PASSWORD": owner.password, "BRANCH_ID": branch["id"],
            "BRANCH_NAME": branch["name"], "PROCEDURE_ID": botox["id"], "TREATMENT": slug, "AGENT_ID": agent_id,
        },
        timeout=300,
    )  # fmt: skip
