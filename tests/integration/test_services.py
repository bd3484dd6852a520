"""Every service is a real process with health checking and reflection; the api also serves TCP;
`virtmesh up` stops everything it started."""
import os
import socket
import subprocess

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from harness import Mesh, short_tmpdir
from integration.test_mesh import VM


def _health_and_services(target: str) -> tuple[int, set[str]]:
    with grpc.insecure_channel(target) as ch:
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=5).status
        req = iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        resp = next(reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo(req, timeout=5))
        return status, {s.name for s in resp.list_services_response.service}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_service_has_health_and_reflection_and_the_api_serves_tcp():
    d = short_tmpdir("vmsvc-")
    port = _free_port()
    m = Mesh(d, "test:///default", extra=["--api-listen", f"127.0.0.1:{port}"])
    try:
        m.cli("apply", "-f", "-", input=VM.format(name="h", strategy="Always"))
        m.wait_for(lambda: m.vm_status("h") == "Running", 30, "VM Running")
        run = os.path.join(d, "run")
        launcher_sock = [f for f in os.listdir(run) if f.startswith("l-") and f.endswith(".sock")][0]
        expected = {
            "api.sock": "virtmesh.v1.Resources",
            "controller.sock": "grpc.health.v1.Health",
            "handler-node01.sock": "virtmesh.v1.Handler",
            launcher_sock: "virtmesh.v1.Cmd",
        }
        for sock, service in expected.items():
            status, services = _health_and_services(f"unix://{os.path.join(run, sock)}")
            assert status == health_pb2.HealthCheckResponse.SERVING, sock
            assert {service, "grpc.reflection.v1alpha.ServerReflection"} <= services, (sock, services)
        # The same api over TCP, from the CLI.
        r = m.cli("--api", f"127.0.0.1:{port}", "get", "vm", "h", "-o", "name")
        assert r.stdout.strip() == "virtualmachine.kubevirt.io/h"
    finally:
        m.stop()
    # Nothing of this mesh is left running: services, launchers, the zygote.
    left = subprocess.run(["pgrep", "-f", "--", d], capture_output=True, text=True).stdout.split()
    assert not left and m.leftover == []
