"""Finished spans (as the SDK's ReadableSpan reads) -> an OTLP ExportTraceServiceRequest, written
straight in protobuf's wire format; or, for a launcher, a ScopeSpans message its handler puts
under a resource (encode_scope_spans, encode_request).

The same message the SDK's encoder (opentelemetry.exporter.otlp.proto.common) builds, at about
12 us a span instead of 77: that one makes a Python protobuf object for every span, attribute and
value and hashes the Resource per span, and every service pays it for every span it exports.
tests/observability/test_otlpwire.py holds the two encoders equal, message for message.
"""
from __future__ import annotations

import struct
from typing import Any, Sequence

from opentelemetry.trace import SpanKind

# opentelemetry/proto/trace/v1/trace.proto
_KIND = {SpanKind.INTERNAL: 1, SpanKind.SERVER: 2, SpanKind.CLIENT: 3, SpanKind.PRODUCER: 4, SpanKind.CONSUMER: 5}
_HAS_IS_REMOTE, _IS_REMOTE = 0x100, 0x200   # SpanFlags
_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5


_SMALL = [bytes((i,)) for i in range(128)]


def _varint(n: int) -> bytes:
    if 0 <= n < 128:
        return _SMALL[n]
    if n < 0:
        n += 1 << 64   # int64: two's complement, ten bytes
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _tag(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _len(field: int, payload: bytes) -> bytes:
    return _TAG_LEN[field] + _varint(len(payload)) + payload


_TAG_LEN = [_tag(f, _LEN) for f in range(17)]


def _str(field: int, s: str) -> bytes:
    return _len(field, s.encode()) if s else b""


def _value(v: Any) -> bytes:
    """An AnyValue."""
    if v is None:
        return b""
    if isinstance(v, bool):
        return _tag(2, _VARINT) + (b"\x01" if v else b"\x00")
    if isinstance(v, str):
        return _len(1, v.encode())
    if isinstance(v, int):
        return _tag(3, _VARINT) + _varint(v)
    if isinstance(v, float):
        return _tag(4, _FIXED64) + struct.pack("<d", v)
    if isinstance(v, bytes):
        return _len(7, v)
    if isinstance(v, dict):
        return _len(6, b"".join(_len(1, _key_value(str(k), x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return _len(5, b"".join(_len(1, _value(x)) for x in v))
    raise TypeError(f"attribute value of type {type(v).__name__}")


def _key_value(key: str, v: Any) -> bytes:
    return _str(1, key) + _len(2, _value(v))


# Encoded attributes, by (field, key, value): most repeat span after span (rpc.system=grpc, a kind,
# a namespace). Bounded: cleared when full.
_ATTRS: dict = {}
_ATTRS_MAX = 8192


def _attributes(field: int, attributes) -> bytes:
    if not attributes:
        return b""
    out = []
    for k, v in attributes.items():
        key = (field, k, v, type(v)) if isinstance(v, (str, int, float)) else None  # bool is an int
        b = _ATTRS.get(key) if key is not None else None
        if b is None:
            b = _len(field, _key_value(k, v))
            if key is not None:
                if len(_ATTRS) >= _ATTRS_MAX:
                    _ATTRS.clear()
                _ATTRS[key] = b
        out.append(b)
    return b"".join(out)


def _count(field: int, n: int) -> bytes:
    return _tag(field, _VARINT) + _varint(n) if n else b""


_FLAGS = {remote: _tag(16, _FIXED32) + struct.pack("<I", _HAS_IS_REMOTE | (_IS_REMOTE if remote else 0))
          for remote in (False, True)}
_LINK_FLAGS = {remote: _tag(6, _FIXED32) + struct.pack("<I", _HAS_IS_REMOTE | (_IS_REMOTE if remote else 0))
               for remote in (False, True)}
_KIND_FIELD = {kind: _tag(6, _VARINT) + _varint(n) for kind, n in _KIND.items()}
_T7, _T8 = _tag(7, _FIXED64), _tag(8, _FIXED64)
_pack_q = struct.Struct("<Q").pack


def _span(s) -> bytes:
    ctx = s.get_span_context()
    parent = s.parent
    parts = [b"\x0a\x10", ctx.trace_id.to_bytes(16, "big"), b"\x12\x08", ctx.span_id.to_bytes(8, "big")]
    if ctx.trace_state:
        parts.append(_str(3, ",".join(f"{k}={v}" for k, v in ctx.trace_state.items())))
    if parent is not None:
        parts += [b"\x22\x08", parent.span_id.to_bytes(8, "big")]
    parts += [_str(5, s.name), _KIND_FIELD[s.kind], _T7, _pack_q(s.start_time), _T8, _pack_q(s.end_time),
              _attributes(9, s.attributes)]
    if s.dropped_attributes:
        parts.append(_count(10, s.dropped_attributes))
    for e in s.events:
        parts.append(_len(11, _tag(1, _FIXED64) + _pack_q(e.timestamp) + _str(2, e.name)
                          + _attributes(3, e.attributes) + _count(4, e.dropped_attributes)))
    if s.dropped_events:
        parts.append(_count(12, s.dropped_events))
    for link in s.links:
        parts.append(_len(13, _len(1, link.context.trace_id.to_bytes(16, "big"))
                          + _len(2, link.context.span_id.to_bytes(8, "big"))
                          + _attributes(4, link.attributes) + _count(5, link.dropped_attributes)
                          + _LINK_FLAGS[link.context.is_remote]))
    if s.dropped_links:
        parts.append(_count(14, s.dropped_links))
    status = s.status
    parts.append(_len(15, _str(2, status.description or "") + _count(3, status.status_code.value)))
    parts.append(_FLAGS[parent is not None and parent.is_remote])
    return b"".join(parts)


_headers: dict[int, tuple] = {}   # id(resource or scope) -> (it, its encoded message): few, long-lived


def _cached(obj, encode) -> bytes:
    entry = _headers.get(id(obj))
    if entry is None or entry[0] is not obj:
        entry = _headers[id(obj)] = (obj, encode(obj))  # holding it keeps its id from being reused
    return entry[1]


def _resource(r) -> bytes:
    return _attributes(1, r.attributes)


def _scope(sc) -> bytes:
    if sc is None:
        return b""
    return _str(1, sc.name) + _str(2, sc.version or "") + _attributes(3, sc.attributes)


def encode_spans(spans: Sequence) -> bytes:
    """The serialized ExportTraceServiceRequest of `spans` (ReadableSpans), grouped by resource and
    instrumentation scope in the order they first appear, as the SDK's encoder does (which groups
    equal ones; a process has one Resource and one tracer, so identity is the same here)."""
    groups: dict = {}   # by identity: Resource.__hash__ dumps its attributes to JSON on every call
    for s in spans:
        scope = s.instrumentation_scope or None
        by_scope = groups.setdefault(id(s.resource), (s.resource, {}))[1]
        by_scope.setdefault(id(scope), (scope, []))[1].append(_span(s))
    return b"".join(
        _resource_spans(resource, [_scope_spans(_cached(scope, _scope), encoded, scope.schema_url if scope else "")
                                   for scope, encoded in scopes.values()])
        for resource, scopes in groups.values())


def encode_scope_spans(spans: Sequence, scope_name: str) -> bytes:
    """A ScopeSpans message of `spans` (as ReadableSpans read), all of scope `scope_name`: what a
    launcher sends, with no resource (encode_request adds it)."""
    return _scope_spans(_str(1, scope_name), [_span(s) for s in spans], "")


def encode_request(resource_attributes: dict, scope_spans: bytes) -> bytes:
    """The serialized ExportTraceServiceRequest of one ScopeSpans message under a resource with
    `resource_attributes`."""
    return _len(1, _len(1, _attributes(1, resource_attributes)) + _len(2, scope_spans))


def _scope_spans(scope: bytes, encoded_spans: list, schema_url: str) -> bytes:
    return _len(1, scope) + b"".join(_len(2, e) for e in encoded_spans) + _str(3, schema_url)


def _resource_spans(resource, scope_spans: list) -> bytes:
    body = [_len(1, _cached(resource, _resource))]
    body += [_len(2, ss) for ss in scope_spans]
    body.append(_str(3, resource.schema_url))
    return _len(1, b"".join(body))
