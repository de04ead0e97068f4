"""Payments end to end: the stack's payments worker polls its timers fast and the tests move its clock."""

from __future__ import annotations

import os

# Read by the payments worker the session's stack starts (devkit.stack passes the environment on).
os.environ.setdefault("PAYMENTS_EXPIRY_POLL_SECONDS", "0.5")
os.environ.setdefault("PAYMENTS_RECONCILE_POLL_SECONDS", "0.5")
