"""One log format for every service: `time level service[pid] logger: message`, on stderr (the log
file `virtmesh up` or the pod gives it).

Each record goes out in one write(2) of a whole line. When the log's disk is full (or failing) a
record that cannot be written is counted: the first line that fits again says how many were lost
and why, on a line of its own (and that the line before it was cut short, when the disk filled in
the middle of one). logging's StreamHandler drops them silently through its buffer and glues the
next line to a cut one."""
from __future__ import annotations

import argparse
import logging
import os
import sys

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENV_LEVEL = "VIRTMESH_LOG_LEVEL"   # the level when no --log-level is given


def level(value: str) -> str:
    """--log-level's type, in every service and `virtmesh up`: a bad level is a usage error at once, not a
    service that dies at its start (and, under `virtmesh up`, is restarted to die again)."""
    if value.upper() not in LEVELS:
        raise argparse.ArgumentTypeError(f"{value!r} is not one of {', '.join(LEVELS)}")
    return value.upper()


def env_level_error() -> str:
    """What is wrong with $VIRTMESH_LOG_LEVEL ("" when it is unset or a level)."""
    value = os.environ.get(ENV_LEVEL, "")
    try:
        if value:
            level(value)
    except argparse.ArgumentTypeError as e:
        return f"{ENV_LEVEL}: {e}"
    return ""


class LineHandler(logging.Handler):
    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd
        self.lost = 0
        self.cut = False   # the last line written is incomplete
        self.why = ""

    def _write(self, data: bytes) -> bool:
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except InterruptedError:
                continue
            except OSError as e:
                self.why = e.strerror or str(e)
                self.cut = self.cut or len(view) < len(data)
                return False
            view = view[n:]
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = (self.format(record) + "\n").encode("utf-8", "backslashreplace")
        except Exception:  # noqa: BLE001 - logging's own policy for a bad record
            self.handleError(record)
            return
        if self.lost or self.cut:
            note = logging.makeLogRecord({
                "name": __name__, "levelno": logging.WARNING, "levelname": "WARNING",
                "msg": "%d log record(s) lost%s: could not write the log (%s)",
                "args": (self.lost, ", the line above cut short" if self.cut else "", self.why)})
            text = ("\n" if self.cut else "") + self.format(note) + "\n"
            if not self._write(text.encode()):
                self.lost += 1
                return
            self.lost, self.cut = 0, False
        if not self._write(line):
            self.lost += 1


def setup(service: str, level: str | None = None) -> None:
    wrong = "" if level else env_level_error()
    if wrong:   # a usage error, as a bad --log-level is (`virtmesh up` then stops instead of restarting us)
        print(f"{service}: {wrong}", file=sys.stderr, flush=True)
        raise SystemExit(2)
    handler = LineHandler(sys.stderr.fileno())
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {service}[%(process)d] %(name)s: %(message)s"))
    logging.basicConfig(level=(level or os.environ.get(ENV_LEVEL, "INFO")).upper(), handlers=[handler])
