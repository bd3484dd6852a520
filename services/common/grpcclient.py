"""Channels to other services: retries on UNAVAILABLE only (a restarting peer), and addresses
written either as `unix:///path` or `host:port`. Async channels carry the tracing interceptors
when tracing is on, and channels to the api the client request metrics (clientmetrics)."""
from __future__ import annotations

import json

import grpc

from services.common import clientmetrics, tracing

_RETRY = json.dumps({
    "methodConfig": [{
        "name": [{}],
        "retryPolicy": {
            "maxAttempts": 5,
            "initialBackoff": "0.1s",
            "maxBackoff": "1s",
            "backoffMultiplier": 2,
            "retryableStatusCodes": ["UNAVAILABLE"],
        },
    }],
})
_OPTIONS = [
    ("grpc.enable_retries", 1),
    ("grpc.service_config", _RETRY),
    # A restarted server comes back quickly: don't let the channel back off for seconds.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.max_receive_message_length", 64 * 1024 * 1024),
]


def aio_channel(target: str, metrics: bool = False, launcher: str = "") -> grpc.aio.Channel:
    """`metrics`: count calls in kubevirt_rest_client_* (clients of the api, KubeVirt's REST clients).
    `launcher`: the uid of the VMI whose launcher this channel reaches (its replies carry its spans)."""
    interceptors = tracing.client_interceptors(launcher)
    if metrics:
        interceptors += clientmetrics.interceptors(target)
    return grpc.aio.insecure_channel(target, options=_OPTIONS, interceptors=interceptors or None)


def channel(target: str) -> grpc.Channel:
    return grpc.insecure_channel(target, options=_OPTIONS)


def unix(path: str) -> str:
    return f"unix://{path}"
