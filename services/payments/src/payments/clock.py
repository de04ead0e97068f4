"""The service's clock: kit's offset clock (real time, moved by a file in test stacks)."""

from __future__ import annotations

from kit.clock import OffsetClock as Clock

__all__ = ["Clock"]
