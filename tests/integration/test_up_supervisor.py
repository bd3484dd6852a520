"""`virtmesh up` hands its children to the lean supervisor (services/cli/supervise.py) once the mesh is
up: the same process, without the CLI's modules, restarts a service killed -9 and on SIGTERM stops the
services and the VMs' launchers."""
from __future__ import annotations

import os
import shutil
import signal

import pytest

from harness import Mesh, short_tmpdir, vm_manifest

pytestmark = pytest.mark.integration


def _modules(pid: int) -> set[str]:
    """What the process has mapped of grpc's and cryptography's native code (their Python modules load it)."""
    with open(f"/proc/{pid}/maps") as f:
        return {lib for line in f for lib in ("cygrpc", "_rust") if lib in line}


def test_up_becomes_a_lean_supervisor_that_restarts_and_stops_the_mesh():
    d = short_tmpdir("vmsup-")
    m = Mesh(d, "test:///default")
    try:
        m.wait_for(lambda: b"mesh is up" in open(os.path.join(d, "up.log"), "rb").read(), 30, "mesh is up")
        m.wait_for(lambda: open(f"/proc/{m.proc.pid}/cmdline", "rb").read().split(b"\0")[2:3]
                   == [b"services.cli.supervise"], 10, "the hand-over")
        assert not _modules(m.proc.pid), "the supervisor still carries the CLI's gRPC or cryptography"
        m.cli("apply", "-f", "-", input=vm_manifest("sup"))
        m.wait_for(lambda: m.vmi_phase("sup") == "Running", 30, "VMI Running")

        controller = m.pid_of("controller")
        os.kill(controller, signal.SIGKILL)
        m.wait_for(lambda: m.pid_of("controller") not in (0, controller), 15, "the controller restarted")
        assert b"controller exited with -9; restarting" in open(os.path.join(d, "up.log"), "rb").read()

        launchers = m.launcher_pids()
        assert launchers
        m.stop()
        assert m.proc.returncode == 0 and not m.leftover
        assert not any(m.pid_of(s) for s in ("api", "controller", "handler"))
        assert b"stopping the mesh" in open(os.path.join(d, "up.log"), "rb").read()
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)
