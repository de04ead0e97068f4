"""Conversations, the incoming call card, finance and reports in a real headless Chromium (Debian's), driven by
Playwright against the real stack: web/e2e/comms.e2e.ts (node's test runner, playwright-core, axe-core), started
here against the session's stack, whose gateway serves the built console (web/dist, `just console-build`); the
flows drive the WhatsApp, telephony and payment sandboxes as a person, a phone line and a bank would."""

from __future__ import annotations

import pytest

from devkit.stack import Stack
from tests.e2e.browser import ADMIN_LOGIN, run_flows


@pytest.mark.e2e
@pytest.mark.timeout(600)
def test_conversations_calls_finance_and_reports_in_chromium(stack: Stack) -> None:
    sandboxes = {"SANDBOX_URL": stack.url("sandbox"), "PAYMENTS_SANDBOX_URL": stack.url("sandbox_payments")}
    run_flows(stack, "comms.e2e.ts", {**ADMIN_LOGIN, **sandboxes}, timeout=420)
