"""Progress of long work while the CLI waits (`wait`, `console` before the VMI runs): what an object
says of its progress (phase, CDI's percent, the node's bytes), and one place that shows it.

On a terminal the line is redrawn in place (carriage return, erase to its end) and cleared when the
wait ends, so what follows reads as kubectl's output; anywhere else each change is a plain line (no
control characters), for logs and pipes. Progress goes to stderr: stdout keeps the verb's own
output (`... condition met`) for scripts.
"""
from __future__ import annotations

import os
import shutil
import sys

from services.common import proto, vmstate, volumes

ERASE = "\r\x1b[K"   # back to the line's start, erase to its end (ECMA-48 EL)


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def summary(kind: proto.api.Kind, doc: dict) -> str:
    """One line of an object's progress, "" for a kind that reports none:
    `datavolume.cdi.kubevirt.io/d: ImportInProgress 45.20% - node n1 is provisioning: 3.0 MiB of 8.0 MiB`,
    `virtualmachineinstance.kubevirt.io/v: Scheduled - ContainerCreating: Pulling image "…": 12.0 MiB`."""
    status = doc.get("status") or {}
    name = f"{proto.KINDS[kind].printed_name}/{(doc.get('metadata') or {}).get('name', '')}"
    conditions = {c.get("type"): c for c in status.get("conditions") or []}
    if kind == proto.DV:
        text = f"{name}: {status.get('phase') or volumes.DV_PENDING}"
        if status.get("progress") not in (None, "", "N/A"):
            text += f" {status['progress']}"
        ready = conditions.get(volumes.DV_READY) or {}
        if ready.get("status") != "True" and ready.get("message"):
            text += f" - {ready['message']}"
        return text
    if kind == proto.VMI:
        text = f"{name}: {status.get('phase') or vmstate.PENDING}"
        sync = conditions.get(vmstate.SYNCHRONIZED) or {}
        if sync.get("status") == "False":
            text += f" - {sync.get('reason', '')}: {sync.get('message', '')}".rstrip(": ")
        return text
    if kind == proto.VM:
        return f"{name}: {status.get('printableStatus') or vmstate.STATUS_STOPPED}"
    return f"{name}: {status['phase']}" if status.get("phase") else ""


class Line:
    """Shows the newest progress text: redrawn in place on a terminal, a plain line per change
    elsewhere (`plain_off_tty=False`: nothing at all off a terminal)."""

    def __init__(self, stream=None, plain_off_tty: bool = True):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream)
        self.enabled = self.tty or plain_off_tty
        self.shown = ""

    def _width(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns
        except (AttributeError, ValueError, OSError):
            return shutil.get_terminal_size().columns

    def show(self, text: str) -> None:
        if not self.enabled or not text or text == self.shown:
            return
        self.shown = text
        if self.tty:
            # one screen row (a wrapped line could not be redrawn in place); no newline until done
            self.stream.write(ERASE + text[:max(self._width() - 1, 10)])
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        """The wait is over: a terminal's line is cleared (the plain lines stay)."""
        if self.tty and self.shown:
            self.stream.write(ERASE)
            self.stream.flush()
        self.shown = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.done()
