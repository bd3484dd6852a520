"""Domain errors of the api and their one mapping to gRPC status codes."""
from __future__ import annotations

import functools
import inspect

import grpc

from services.api import store


class Invalid(Exception):
    """Validation failure; str() names the field: `spec.runStrategy: ...`. With several causes at once
    (KubeVirt's StatusCauses), `causes` holds them as (field, message) pairs."""

    def __init__(self, message: str, causes: tuple[tuple[str, str], ...] = ()):
        super().__init__(message)
        self.causes = tuple(causes)


class Causes:
    """KubeVirt's StatusCauses being collected: (field, message) pairs, raised together by `check()`."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))

    def absorb(self, e: Invalid) -> None:
        """The causes of an `Invalid` a first-fault helper raised (its `field: message` when it has none)."""
        if e.causes:
            self.items.extend(e.causes)
        else:
            where, _, text = str(e).partition(": ")
            self.add(where, text)

    def run(self, check, *args, **kwargs):
        """`check(*args, **kwargs)`, its `Invalid` collected here instead of raised; None then."""
        try:
            return check(*args, **kwargs)
        except Invalid as e:
            self.absorb(e)
            return None

    def check(self) -> None:
        if self.items:
            raise Invalid("; ".join(f"{p}: {m}" for p, m in self.items), tuple(self.items))


class RequestConflict(Exception):
    """A subresource request that the object's state refuses (KubeVirt's HTTP 409)."""


class Unavailable(Exception):
    """A node (handler) the request must reach is not answering."""


_CODES = [
    (Invalid, grpc.StatusCode.INVALID_ARGUMENT),
    (store.NotFound, grpc.StatusCode.NOT_FOUND),
    (store.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (store.Conflict, grpc.StatusCode.ABORTED),
    (store.Gone, grpc.StatusCode.OUT_OF_RANGE),
    (store.Full, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (store.Failed, grpc.StatusCode.UNAVAILABLE),
    (RequestConflict, grpc.StatusCode.FAILED_PRECONDITION),
    (Unavailable, grpc.StatusCode.UNAVAILABLE),
]


def _code(exc: Exception):
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    if isinstance(exc, grpc.aio.AioRpcError):  # the Kubernetes store's errors carry their status already
        return exc.code()
    return None


def grpc_errors(method):
    """Map domain exceptions raised by a servicer method to status codes (unary or streaming)."""
    if inspect.isasyncgenfunction(method):
        @functools.wraps(method)
        async def stream(self, request, context):
            try:
                async for item in method(self, request, context):
                    yield item
            except Exception as e:  # noqa: BLE001 - mapped or re-raised
                code = _code(e)
                if code is None:
                    raise
                await context.abort(code, _details(e))
        return stream

    @functools.wraps(method)
    async def unary(self, request, context):
        try:
            return await method(self, request, context)
        except Exception as e:  # noqa: BLE001
            code = _code(e)
            if code is None:
                raise
            await context.abort(code, _details(e))
    return unary


# The status message travels in trailing metadata, percent-encoded (up to 3 bytes per UTF-8 byte):
# past gRPC's 8 KiB soft limit a client may get "Stream removed" instead of the error.
DETAILS_MAX = 2000  # UTF-8 bytes


def _details(e: Exception) -> str:
    text = (e.details() or "") if isinstance(e, grpc.aio.AioRpcError) else str(e)
    raw = text.encode()
    if len(raw) <= DETAILS_MAX:
        return text
    return raw[:DETAILS_MAX].decode(errors="ignore") + f"... ({len(raw)} bytes, truncated)"
