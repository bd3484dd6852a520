"""Per-object work queue (kopf's per-object queues, client-go's rate-limited workqueue).

A key is processed by one worker at a time; a key that changes while it is being processed is
processed again afterwards; failures retry with per-key exponential backoff; a handler may ask
to be called again after a delay (level-triggered timers: heartbeats, start backoff, grace periods).
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable, Optional

log = logging.getLogger(__name__)

Reconcile = Callable[[str], Awaitable[Optional[float]]]


class WorkQueue:
    def __init__(self, name: str, reconcile: Reconcile, workers: int = 4,
                 base_delay: float = 0.05, max_delay: float = 30.0):
        self.name = name
        self.reconcile = reconcile
        self.workers = workers
        self.base_delay, self.max_delay = base_delay, max_delay
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._active: set[str] = set()
        self._dirty: set[str] = set()
        self._failures: dict[str, int] = {}
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def add(self, key: str) -> None:
        if key in self._active:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def add_after(self, key: str, delay: float) -> None:
        old = self._timers.get(key)
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        if old is not None and old.when() <= due:
            return  # an earlier wake-up is already scheduled
        if old is not None:
            old.cancel()
        self._timers[key] = loop.call_at(due, self._fire, key)

    def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        self.add(key)

    async def run(self) -> None:
        await asyncio.gather(*(self._worker() for _ in range(self.workers)))

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._queued.discard(key)
            self._active.add(key)
            try:
                again = await self.reconcile(key)
                self._failures.pop(key, None)
                if again is not None:
                    self.add_after(key, again)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - every failure is retried with backoff
                n = self._failures.get(key, 0) + 1
                self._failures[key] = n
                delay = min(self.base_delay * 2 ** (n - 1), self.max_delay)
                level = logging.DEBUG if n < 3 else logging.WARNING
                details = getattr(e, "details", None)  # gRPC errors
                detail = details() if callable(details) else e
                log.log(level, "%s: reconcile %s failed (%s: %s), retry %d in %.2fs", self.name, key,
                        type(e).__name__, detail, n, delay)
                self.add_after(key, delay)
            finally:
                self._active.discard(key)
                if key in self._dirty:
                    self._dirty.discard(key)
                    self.add(key)
