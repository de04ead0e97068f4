"""The console's desk screens (dashboard, pipelines board and deal card, agenda) in Debian's headless Chromium.

The flows live in web/e2e/desk.e2e.ts (node's test runner, playwright-core, axe-core); this test starts them
against the session's stack, whose gateway serves the built console (web/dist, `just console-build`).
"""

from __future__ import annotations

import pytest

from devkit.stack import Stack
from tests.e2e.browser import ADMIN_LOGIN, run_flows


@pytest.mark.e2e
@pytest.mark.timeout(600)  # three browser flows waiting on the projections, on a shared machine
def test_desk_flows_in_chromium(stack: Stack) -> None:
    run_flows(
        stack,
        "desk.e2e.ts",
        ADMIN_LOGIN,
        timeout=540,
    )
