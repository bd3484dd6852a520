"""asyncio helpers the services share."""
from __future__ import annotations

import asyncio


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """True once `event` is set, False when `timeout` seconds passed first.

    asyncio.timeout, not wait_for: Python 3.11's wait_for swallows a cancellation that lands as
    the event fires, and a loop around it then outlives its cancellation (a launcher hung in
    asyncio.run's teardown that way, on libvirt's events at shutdown)."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
        return True
    except TimeoutError:
        return False
