"""Kubernetes timestamps: RFC 3339 strings in UTC, second precision (like metav1.Time); Go durations
(metav1.Duration, a Go program's duration flag)."""
from __future__ import annotations

import datetime as dt
import re


def now() -> str:
    return format_time(dt.datetime.now(dt.timezone.utc))


def format_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def age_seconds(s: str) -> float:
    return (dt.datetime.now(dt.timezone.utc) - parse(s)).total_seconds()


_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Go's time.ParseDuration (a metav1.Duration as JSON): "5m0s", "1h30m", "90s", "0" -> seconds."""
    s = text.strip()
    sign = -1.0 if s.startswith("-") else 1.0
    s = s.lstrip("+-")
    if s == "0":
        return 0.0
    if not s:
        raise ValueError(f"time: invalid duration {text!r}")
    total, pos = 0.0, 0
    for m in _PART.finditer(s):
        if m.start() != pos:
            raise ValueError(f"time: invalid duration {text!r}")
        total += float(m.group(1)) * _UNIT[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise ValueError(f"time: invalid duration {text!r}")
    return sign * total
