"""A launcher's machine-readable failure reason (proto LauncherReason) as it crosses the handler -> api hop.

The launcher answers the handler with Response.reason / MigrationResponse.reason. When the handler fails
one of the api's calls because of it (pause, unpause, soft reboot), the gRPC status code says the class
of failure and the trailing metadata under METADATA_KEY carries the reason's name, so the api decides on
the reason too, never on the status message's words.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import cast

import grpc

from services.common import proto

R = proto.reason
METADATA_KEY = "virtmesh-launcher-reason"
# The domain's state (or absence) refuses the request: the caller's conflict (KubeVirt's 409), not a fault.
STATE_REASONS = frozenset({R.DOMAIN_NOT_FOUND, R.DOMAIN_STATE_INVALID})


def status_code(reason: int) -> grpc.StatusCode:
    """The gRPC code a handler answers with for a launcher's failure reason."""
    if reason in STATE_REASONS:
        return grpc.StatusCode.FAILED_PRECONDITION
    if reason in (R.HYPERVISOR_UNSUPPORTED,):
        return grpc.StatusCode.UNIMPLEMENTED
    return grpc.StatusCode.INTERNAL


def metadata(reason: int) -> tuple[tuple[str, str], ...]:
    """Trailing metadata carrying `reason` (nothing for UNSPECIFIED)."""
    return ((METADATA_KEY, R.LauncherReason.Name(reason)),) if reason else ()


def of_error(e: grpc.RpcError) -> int:
    """The LauncherReason an RPC error carries in its trailing metadata, else UNSPECIFIED."""
    # (grpc's stub types RpcError's trailing metadata as objects with .key and .value; the errors
    # calls raise, sync and aio, yield (key, value) pairs, as a Call's trailing metadata does.)
    get = getattr(e, "trailing_metadata", None)
    trailing = cast("Iterable[tuple[str, str]] | None", get() if callable(get) else None)
    for key, value in trailing or ():
        if key == METADATA_KEY:
            try:
                return R.LauncherReason.Value(value)
            except ValueError:   # a newer handler's reason this api does not know yet
                return R.LAUNCHER_REASON_UNSPECIFIED
    return R.LAUNCHER_REASON_UNSPECIFIED
