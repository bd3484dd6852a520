"""Progress of long work on a node (a DataVolume's import, a registry image's pull), as the node
publishes it and the controller and the CLI read it.

The node writes how many bytes it has of how many, as "DONE/TOTAL" (TOTAL empty when the source
does not say), into an annotation of the claim it fills or a condition message of the VMI that
waits; `Throttle` keeps those writes rare: at most one a second, and only when a whole percent (or,
without a total, a MiB) was added. CDI's DataVolume shows the percent as `status.progress`,
formatted "45.20%" (its updateProgressUsingPod).
"""
from __future__ import annotations

import time

MIN_INTERVAL_SECONDS = 1.0
STEP_UNKNOWN_TOTAL = 1 << 20   # without a total: a new write per MiB


def encode(done: int, total: int | None) -> str:
    return f"{done}/{total if total else ''}"


def decode(text: str) -> tuple[int, int | None] | None:
    """(done, total or None) from encode()'s text; None for anything else."""
    done, sep, total = (text or "").partition("/")
    try:
        return (int(done), int(total) if total else None) if sep else None
    except ValueError:
        return None


def percent(done: int, total: int | None) -> str:
    """CDI's status.progress ("45.20%"); "N/A" without a total, as CDI shows before it knows one."""
    if not total:
        return "N/A"
    return f"{min(100.0, 100.0 * done / total):.2f}%"


def human_bytes(n: int) -> str:
    """1536 -> "1.5 KiB" (binary units, as Kubernetes quantities and qemu-img print sizes)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def amount(done: int, total: int | None) -> str:
    """"12.0 MiB of 40.0 MiB", or "12.0 MiB" without a total."""
    return f"{human_bytes(done)} of {human_bytes(total)}" if total else human_bytes(done)


def describe(done: int, total: int | None) -> str:
    """amount() and, with a total, the percent: "12.0 MiB of 40.0 MiB (30.00%)"."""
    return f"{amount(done, total)} ({percent(done, total)})" if total else amount(done, total)


class Throttle:
    """Whether a new figure is worth a write: the first one, then at most one per `interval`
    seconds and only once a whole percent (STEP_UNKNOWN_TOTAL bytes without a total) was added."""

    def __init__(self, interval: float | None = None, clock=time.monotonic):
        self.interval, self.clock = interval or MIN_INTERVAL_SECONDS, clock
        self.last: tuple[int, int | None] | None = None
        self.at = 0.0

    def due(self, done: int, total: int | None) -> bool:
        now = self.clock()
        if self.last is not None:
            if now - self.at < self.interval:
                return False
            before, _ = self.last
            step = total / 100 if total else STEP_UNKNOWN_TOTAL
            if done - before < step and not (total and done >= total > before):
                return False
        self.last, self.at = (done, total), now
        return True
