"""Kubernetes timestamps: RFC 3339 strings in UTC, second precision (like metav1.Time)."""
from __future__ import annotations

import datetime as dt


def now() -> str:
    return format_time(dt.datetime.now(dt.timezone.utc))


def format_time(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse(s: str) -> dt.datetime:
    return dt.datetime.fromisoformat(s.replace("Z", "+00:00"))


def age_seconds(s: str) -> float:
    return (dt.datetime.now(dt.timezone.utc) - parse(s)).total_seconds()
