"""Channels to other services: retries on UNAVAILABLE only (a restarting peer), and addresses
written either as `unix:///path` (plain: the socket's mode decides who connects) or `host:port`
(mutual TLS: this process's mesh identity, `use_identity`, and the server must prove the service
name asked for, not the address). Async channels carry the tracing interceptors when tracing is
on, and channels to the api the client request metrics (clientmetrics)."""
from __future__ import annotations

import json

import grpc

from services.common import clientmetrics, meshtls, tracing

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
# A unix connection costs nothing to keep, so it is never closed for being idle (gRPC's default: after 30
# minutes without a call): a spare launcher the handler dialled may wait that long for its VMI.
_UNIX_OPTIONS = [*_OPTIONS, ("grpc.client_idle_timeout_ms", 2**31 - 1)]


_identity: meshtls.Identity | None = None


def use_identity(identity: meshtls.Identity | None) -> None:
    """The certificate this process presents on TCP channels (read anew for each channel, so a
    renewed certificate is used from the next channel on)."""
    global _identity
    _identity = identity


def identity() -> meshtls.Identity | None:
    return _identity


def is_unix(target: str) -> bool:
    return target.startswith("unix:")


def _tls(target: str, server_name: str) -> tuple[grpc.ChannelCredentials, list]:
    if _identity is None:
        raise meshtls.NoCertificate(f"{target}: TCP to the mesh is mutual TLS, and this process has no "
                                    "certificate (the CLI: --certs DIR or the data dir's pki/admin)")
    return _identity.channel_credentials(), [*_OPTIONS, ("grpc.ssl_target_name_override", server_name)]


def aio_channel(target: str, metrics: bool = False, launcher: tracing.LauncherUid = "",
                server_name: str = meshtls.API_SERVER_NAME) -> grpc.aio.Channel:
    """`metrics`: count calls in kubevirt_rest_client_* (clients of the api, KubeVirt's REST clients).
    `launcher`: the uid of the VMI whose launcher this channel reaches (its replies carry its spans), or
    what tells it (a spare launcher's channel: dialled before the spare has a VMI).
    `server_name`: the service a TCP target must prove to be."""
    interceptors = tracing.client_interceptors(launcher) or None
    if is_unix(target):
        channel = grpc.aio.insecure_channel(target, options=_UNIX_OPTIONS, interceptors=interceptors)
    else:
        creds, options = _tls(target, server_name)
        channel = grpc.aio.secure_channel(target, creds, options=options, interceptors=interceptors)
    return clientmetrics.MeteredChannel(channel, target) if metrics else channel


def channel(target: str, server_name: str = meshtls.API_SERVER_NAME) -> grpc.Channel:
    if is_unix(target):
        return grpc.insecure_channel(target, options=_UNIX_OPTIONS)
    creds, options = _tls(target, server_name)
    return grpc.secure_channel(target, creds, options=options)


def unix(path: str) -> str:
    return f"unix://{path}"
