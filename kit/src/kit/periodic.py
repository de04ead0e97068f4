"""Worker timers: run a coroutine every `interval` seconds with jitter, log failures, stop gracefully.

Give them to `create_worker_app(tasks=lambda ctx: [Periodic(...)])` (docs/architecture.md, "Worker timers").
A round that reports work done (a truthy return, e.g. the number of rows handled) is followed at once by
another, so a backlog drains without waiting for the next tick.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter, Histogram

log = logging.getLogger(__name__)

TASK_RUNS = Counter(
    "clinicflow_task_runs_total",
    "Rounds of a worker timer, by outcome (ok, idle, failed).",
    ["service", "task", "outcome"],
)
TASK_DURATION = Histogram(
    "clinicflow_task_duration_seconds",
    "Duration of one round of a worker timer.",
    ["service", "task"],
    buckets=(0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60),
)

Round = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Periodic:
    """`run` every `interval` s (± `jitter` as a fraction of it, so replicas do not march in step)."""

    name: str
    run: Round
    interval: float
    jitter: float = 0.1
    #: Wait one interval before the first round (e.g. a daily prune) instead of running at start.
    delay_first: bool = False

    def next_delay(self, rng: random.Random) -> float:
        spread = self.interval * self.jitter
        return max(0.0, self.interval + rng.uniform(-spread, spread))


class PeriodicRunner:
    """Runs several Periodic tasks; `stop()` lets a round in progress finish (up to `grace` s)."""

    def __init__(self, service: str, tasks: list[Periodic], *, grace: float = 10.0, seed: int | None = None) -> None:
        self.service = service
        self.tasks = tasks
        self.grace = grace
        self._stop = asyncio.Event()
        self._running: list[asyncio.Task[None]] = []
        self._rng = random.Random(seed)  # jitter, not security

    def start(self) -> None:
        self._stop.clear()
        self._running = [asyncio.create_task(self._loop(t), name=f"periodic:{t.name}") for t in self.tasks]

    async def stop(self) -> None:
        self._stop.set()
        if not self._running:
            return
        _, pending = await asyncio.wait(self._running, timeout=self.grace)
        for task in pending:
            log.warning("timer %s did not finish within %.0fs; cancelling it", task.get_name(), self.grace)
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._running = []

    def dead(self) -> list[str]:
        """Timers whose loop ended while the runner was not stopping (a round's failure never ends it)."""
        if self._stop.is_set():
            return []
        return [t.get_name() for t in self._running if t.done()]

    async def _sleep(self, seconds: float) -> bool:
        """False when stopping."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _loop(self, task: Periodic) -> None:
        if task.delay_first and not await self._sleep(task.next_delay(self._rng)):
            return
        while not self._stop.is_set():
            did_work = await self.run_once(task)
            if did_work and not self._stop.is_set():
                await asyncio.sleep(0)  # let others run, then drain the backlog
                continue
            if not await self._sleep(task.next_delay(self._rng)):
                return

    async def run_once(self, task: Periodic) -> bool:
        """One round: True when it reported work done; a failure is logged and counted, never raised."""
        started = time.perf_counter()
        try:
            result = await task.run()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("timer %s failed", task.name)
            TASK_RUNS.labels(self.service, task.name, "failed").inc()
            return False
        finally:
            TASK_DURATION.labels(self.service, task.name).observe(time.perf_counter() - started)
        TASK_RUNS.labels(self.service, task.name, "ok" if result else "idle").inc()
        return bool(result)
