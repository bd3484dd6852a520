"""An OTLP/gRPC trace endpoint for benchmarks, run as its own process (as Jaeger's collector is):
it answers TraceService/Export and keeps the raw requests, decoding them only when asked for a
count. The tests' receiver (tests/observability/otlp.py) decodes every span as it arrives, in
the process that would be timing the mesh: fine for assertions, not for measuring.

    with Sink() as sink:            # starts `python bench/otlpsink.py` and reads its port
        ... sink.endpoint ...
        sink.spans()                # {service name: span count} received so far
        sink.cpu()                  # CPU seconds the sink itself used
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent import futures

import grpc

METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def serve() -> None:
    """Child: serve Export (raw bytes in, empty response out); print the port; on a line "count" on
    stdin, print "service count ..." of everything received; exit at end of stdin."""
    received: list[bytes] = []
    lock = threading.Lock()

    def export(request: bytes, context) -> bytes:
        with lock:
            received.append(request)
        return b""  # an empty ExportTraceServiceResponse

    handler = grpc.method_handlers_generic_handler("opentelemetry.proto.collector.trace.v1.TraceService", {
        "Export": grpc.unary_unary_rpc_method_handler(export)})
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), handlers=[handler])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    for line in sys.stdin:
        if line.startswith("dump "):
            # every span as a JSON line (service, name, ids, start/end ns, attributes) into the file named
            import json

            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
            with lock:
                batch = list(received)
            n = 0
            with open(line[5:].strip(), "w") as out:
                for raw in batch:
                    for rs in ExportTraceServiceRequest.FromString(raw).resource_spans:
                        service = next((a.value.string_value for a in rs.resource.attributes
                                        if a.key == "service.name"), "")
                        for ss in rs.scope_spans:
                            for sp in ss.spans:
                                out.write(json.dumps({
                                    "service": service, "name": sp.name, "trace": sp.trace_id.hex(),
                                    "span": sp.span_id.hex(), "parent": sp.parent_span_id.hex(),
                                    "start": sp.start_time_unix_nano, "end": sp.end_time_unix_nano,
                                    "attributes": {a.key: a.value.string_value or a.value.int_value
                                                   for a in sp.attributes}}) + "\n")
                                n += 1
            print(n, flush=True)
        elif line.strip() == "count":
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
            counts: dict[str, int] = {}
            with lock:
                batch = list(received)
            for raw in batch:
                for rs in ExportTraceServiceRequest.FromString(raw).resource_spans:
                    service = next((a.value.string_value for a in rs.resource.attributes
                                    if a.key == "service.name"), "")
                    counts[service] = counts.get(service, 0) + sum(len(ss.spans) for ss in rs.scope_spans)
            print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())) or "-", flush=True)
    server.stop(0)


class Sink:
    def __enter__(self) -> "Sink":
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        self.endpoint = f"http://127.0.0.1:{int(self.proc.stdout.readline())}"
        return self

    def spans(self) -> dict[str, int]:
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        return {} if line == "-" else {k: int(v) for k, v in (kv.split("=") for kv in line.split())}

    def dump(self, path: str) -> int:
        """Every span received so far, as JSON lines in `path` (read them with bench/stages.py)."""
        self.proc.stdin.write(f"dump {path}\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def cpu(self) -> float:
        from proccpu import proc_stat
        return proc_stat(self.proc.pid)[1]

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


if __name__ == "__main__":
    serve()
