"""The per-object work queue (services/common/workqueue.py): one worker per key at a time, a key that
changes meanwhile runs again after, failures back off per key, a reconcile may ask to run again later."""
from __future__ import annotations

import asyncio

from services.common.workqueue import WorkQueue


async def _running(q: WorkQueue):
    task = asyncio.create_task(q.run())
    await asyncio.sleep(0)
    return task


async def test_adds_of_a_queued_key_collapse_into_one_run():
    calls = []

    async def reconcile(key):
        calls.append(key)
    q = WorkQueue("t", reconcile, workers=2)
    for _ in range(5):
        q.add("a")
    q.add("b")
    task = await _running(q)
    await asyncio.sleep(0.05)
    task.cancel()
    assert sorted(calls) == ["a", "b"]


async def test_a_key_runs_on_one_worker_at_a_time_and_again_when_it_changed_meanwhile():
    active, most, calls = 0, 0, 0
    release = asyncio.Event()

    async def reconcile(key):
        nonlocal active, most, calls
        calls += 1
        active += 1
        most = max(most, active)
        if calls == 1:
            await release.wait()
        active -= 1
    q = WorkQueue("t", reconcile, workers=4)
    task = await _running(q)
    q.add("a")
    await asyncio.sleep(0.02)
    q.add("a")          # while it runs: noted, not run beside it
    q.add("a")
    await asyncio.sleep(0.02)
    assert calls == 1
    release.set()
    await asyncio.sleep(0.05)
    task.cancel()
    assert (calls, most) == (2, 1)   # once more after, never two at once


async def test_failures_retry_with_per_key_exponential_backoff_and_success_resets_it():
    times: list[float] = []
    loop = asyncio.get_running_loop()

    async def reconcile(key):
        times.append(loop.time())
        if len(times) <= 3:
            raise RuntimeError("not yet")
    q = WorkQueue("t", reconcile, workers=1, base_delay=0.05, max_delay=0.15)
    task = await _running(q)
    q.add("a")
    await asyncio.sleep(0.6)
    task.cancel()
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 4
    assert 0.04 <= gaps[0] < gaps[1] and gaps[2] >= 0.14   # 0.05, 0.1, then capped at 0.15
    assert "a" not in q._failures


async def test_a_reconcile_asks_to_run_again_and_the_earliest_wake_up_wins():
    times: list[float] = []
    loop = asyncio.get_running_loop()

    async def reconcile(key):
        times.append(loop.time())
        return 0.1 if len(times) == 1 else None
    q = WorkQueue("t", reconcile, workers=1)
    task = await _running(q)
    q.add("a")
    await asyncio.sleep(0.02)
    q.add_after("a", 5)        # later than the pending 0.1 s: ignored
    await asyncio.sleep(0.2)
    assert len(times) == 2 and 0.08 <= times[1] - times[0] < 1
    q.add_after("b", 5)
    q.add_after("b", 0.05)     # earlier: replaces it
    await asyncio.sleep(0.15)
    task.cancel()
    assert len(times) == 3
