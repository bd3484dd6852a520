"""Everything that leaves a traced process honours the standard OTEL_EXPORTER_OTLP_* settings,
the launchers' spans relayed through their handler included: a handler (its tracing, set up from
the environment alone) sends its own span and a launcher's relayed ones to a real OTLP receiver,
which sees the headers, the compression, the deadline, and TLS with a client certificate."""
from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import textwrap

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from observability.otlp import Keep, Receiver, Tap
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

# A handler's tracing, set up from the environment as its main does, with one traced pass that
# calls a launcher whose reply carries the launcher's spans (as the SDK's encoder writes them).
HANDLER = textwrap.dedent(f"""
    import asyncio, os
    import grpc
    from services.common import tracing
    assert tracing.setup("handler")

    class Reply:
        traceSpans = bytes.fromhex(os.environ["LAUNCHER_SPANS"])

    async def launcher(details, request):
        done = asyncio.get_running_loop().create_future()
        done.set_result(Reply)
        return done

    async def main():
        details = grpc.aio.ClientCallDetails("/virtmesh.v1.Cmd/SyncVirtualMachine", None, None, None, None)
        with tracing.span("vmi.sync", parent="{PARENT} vm=1"):
            await tracing.client_interceptors("uid-a")[0].intercept_unary_unary(launcher, details, None)

    asyncio.run(main())
    tracing.shutdown()
""")


def _launcher_spans() -> str:
    keep = Keep()
    provider = TracerProvider(resource=Resource.create({"service.name": "virtmesh-launcher"}))
    provider.add_span_processor(SimpleSpanProcessor(keep))
    remote = TraceContextTextMapPropagator().extract({"traceparent": PARENT, "tracestate": "vm=1"})
    with provider.get_tracer("virtmesh").start_as_current_span("libvirt.defineAndStart", context=remote):
        pass
    return encode_spans(keep.spans).SerializeToString().hex()


def _run_handler(env: dict) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | env
    subprocess.run([sys.executable, "-c", HANDLER], env=env | {"PYTHONPATH": ROOT, "LAUNCHER_SPANS": _launcher_spans()},
                   cwd=ROOT, check=True, timeout=60)


def _sent_both(receiver: Receiver) -> None:
    spans = {(s.service, s.name): s for s in receiver.snapshot()}
    assert set(spans) == {("virtmesh-handler", "vmi.sync"), ("virtmesh-launcher", "libvirt.defineAndStart")}
    assert all(s.trace_state == "vm=1" for s in spans.values())


@pytest.mark.parametrize("compression", ["gzip", ""])
def test_headers_compression_and_timeout_apply_to_the_handler_s_spans_and_the_launchers(compression):
    receiver = Receiver().start()
    tap = Tap(receiver.port)
    try:
        _run_handler({"OTEL_EXPORTER_OTLP_ENDPOINT": tap.endpoint,
                      "OTEL_EXPORTER_OTLP_HEADERS": "x-tenant=mesh-a,authorization=Bearer%20secret",
                      "OTEL_EXPORTER_OTLP_TIMEOUT": "7"} | ({"OTEL_EXPORTER_OTLP_COMPRESSION": compression} if compression else {}))
        _sent_both(receiver)
        assert receiver.requests and tap.compressed
        for r in receiver.requests:
            assert r["metadata"]["x-tenant"] == "mesh-a" and r["metadata"]["authorization"] == "Bearer secret"
            assert 0 < r["deadline"] <= 7
        assert tap.compressed == [compression == "gzip"] * len(tap.compressed)
    finally:
        tap.close()
        receiver.stop()


def test_the_traces_settings_an_endpoint_without_scheme_and_insecure():
    receiver = Receiver().start()
    try:
        _run_handler({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"127.0.0.1:{receiver.port}",
                      "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true",
                      "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-tenant=mesh-b"})
        _sent_both(receiver)
        assert all(r["metadata"]["x-tenant"] == "mesh-b" for r in receiver.requests)
    finally:
        receiver.stop()


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject: str, key, issuer=None, issuer_key=None, sans=(), ca=False) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    b = (x509.CertificateBuilder().subject_name(name).issuer_name(issuer.subject if issuer else name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
    return b.sign(issuer_key or key, hashes.SHA256())


def test_an_https_collector_with_its_ca_and_a_client_certificate(tmp_path):
    ca_key, server_key, client_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    ca = _cert("otlp test ca", ca_key, ca=True)
    server = _cert("localhost", server_key, ca, ca_key,
                   sans=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = _cert("virtmesh-handler-test", client_key, ca, ca_key)
    pem = serialization.Encoding.PEM
    files = {"ca.pem": ca.public_bytes(pem), "client.pem": client.public_bytes(pem), "client.key": _pem_key(client_key)}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    receiver = Receiver(tls=(_pem_key(server_key), server.public_bytes(pem)), client_ca=ca.public_bytes(pem)).start()
    try:
        _run_handler({"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                      "OTEL_EXPORTER_OTLP_CERTIFICATE": str(tmp_path / "ca.pem"),
                      "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(tmp_path / "client.pem"),
                      "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(tmp_path / "client.key")})
        _sent_both(receiver)
        assert {r["peer"] for r in receiver.requests} == {"virtmesh-handler-test"}
    finally:
        receiver.stop()
