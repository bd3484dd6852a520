"""End to end with real QEMU (TCG): a manifest boots the test guest, its console is read through
the mesh, and stop/start/restart/pause/kill/delete behave as in KubeVirt."""
from __future__ import annotations

import os
import signal
import threading
import time

import grpc
import pytest

from services.common import proto

from e2e.conftest import GUESTS, domains

pytestmark = pytest.mark.e2e

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: {name}
  namespace: e2e
spec:
  runStrategy: {strategy}
  template:
    spec:
      terminationGracePeriodSeconds: {grace}
      domain:
        cpu: {{cores: 1}}
        memory: {{guest: 128Mi}}
        devices: {{autoattachSerialConsole: true}}
        firmware:
          kernelBoot:
            kernelArgs: "console=ttyS0 quiet panic=-1 virtmesh.marker={marker}"
            container: {{image: "{guests}/amd64", kernelPath: /kernel, initrdPath: /initrd.img}}
"""


def manifest(name, marker, strategy="Always", grace=10):
    return VM.format(name=name, marker=marker, strategy=strategy, grace=grace, guests=GUESTS)


def console(mesh, name, seconds):
    r = mesh.cli("console", name, "-n", "e2e", "--no-stdin", "--stop-after", str(seconds), check=False,
                 timeout=seconds + 30)
    return r.stdout


def wait_ready_line(mesh, name, marker, timeout=60):
    def ready():
        out = console(mesh, name, 3)
        return out if f"VIRTMESH-READY {marker}" in out else ""
    return mesh.wait_for(ready, timeout, f"ready line of {name}", interval=0.5)


class PhaseRecorder:
    """Every phase a VMI goes through, from the api's watch (short phases included)."""

    def __init__(self, mesh, name):
        self.phases: list[tuple[str, str]] = []
        ch = grpc.insecure_channel(f"unix://{mesh.data_dir}/run/api.sock")
        self.call = proto.api_grpc.ResourcesStub(ch).Watch(proto.api.WatchRequest(kind=proto.VMI, namespace="e2e"))
        threading.Thread(target=self._run, args=(name,), daemon=True).start()

    def _run(self, name):
        try:
            for ev in self.call:
                v = ev.object.virtualMachineInstance
                if v.metadata.name == name and v.status.phase and (not self.phases or self.phases[-1] != (
                        v.metadata.uid, v.status.phase)):
                    self.phases.append((v.metadata.uid, v.status.phase))
        except grpc.RpcError:
            pass

    def seen(self, uid, phase):
        return (uid, phase) in self.phases


def qemu_pid(domain):
    path = f"/run/libvirt/qemu/{domain}.pid"
    return int(open(path).read()) if os.path.exists(path) else 0


def test_real_guest_lifecycle(real_mesh):
    m = real_mesh
    rec = PhaseRecorder(m, "tiny")
    m.cli("apply", "-f", "-", input=manifest("tiny", "m1"))
    m.wait_for(lambda: m.vm_status("tiny", "e2e") == "Running", 60, "VM Running")
    vmi = m.get("vmi", "tiny", "e2e")
    assert vmi["status"]["domainType"] == "qemu"  # TCG: /dev/kvm here is not usable for guests
    assert vmi["status"]["machine"]["type"].startswith("pc-q35")
    out = wait_ready_line(m, "tiny", "m1")
    assert "VIRTMESH-READY m1" in out

    # stop: ACPI shutdown -> the VMI Succeeds -> the VM is Stopped
    uid = vmi["metadata"]["uid"]
    m.cli("stop", "tiny", "-n", "e2e")
    m.wait_for(lambda: m.vm_status("tiny", "e2e") == "Stopped" and m.get("vmi", "tiny", "e2e") is None, 60, "stopped")
    assert rec.seen(uid, "Succeeded"), rec.phases
    assert "e2e_tiny" not in domains()

    # start again
    m.cli("start", "tiny", "-n", "e2e")
    m.wait_for(lambda: m.vm_status("tiny", "e2e") == "Running", 60, "Running again")
    wait_ready_line(m, "tiny", "m1")

    # restart: a new VMI boots
    old = m.get("vmi", "tiny", "e2e")["metadata"]["uid"]
    m.cli("restart", "tiny", "-n", "e2e")
    m.wait_for(lambda: (m.get("vmi", "tiny", "e2e") or {}).get("metadata", {}).get("uid") not in (None, old)
               and m.vmi_phase("tiny", "e2e") == "Running", 90, "restarted")
    wait_ready_line(m, "tiny", "m1")

    # pause: the guest stops printing; unpause: it goes on
    m.cli("pause", "vm", "tiny", "-n", "e2e")
    m.wait_for(lambda: m.vm_status("tiny", "e2e") == "Paused", 30, "Paused")
    before = console(m, "tiny", 2)
    time.sleep(2)
    assert console(m, "tiny", 2) == before, "a paused guest kept writing to its console"
    m.cli("unpause", "vm", "tiny", "-n", "e2e")
    m.wait_for(lambda: m.vm_status("tiny", "e2e") == "Running", 30, "unpaused")
    m.wait_for(lambda: len(console(m, "tiny", 2)) > len(before), 20, "guest writes again")

    # kill QEMU from outside: VMI Failed, a new VMI runs (it had been Running: no backoff)
    failed_uid = m.get("vmi", "tiny", "e2e")["metadata"]["uid"]
    os.kill(qemu_pid("e2e_tiny"), signal.SIGKILL)
    m.wait_for(lambda: rec.seen(failed_uid, "Failed"), 30, "VMI Failed")
    m.wait_for(lambda: (m.get("vmi", "tiny", "e2e") or {}).get("metadata", {}).get("uid") not in (None, failed_uid)
               and m.vmi_phase("tiny", "e2e") == "Running", 90, "replacement VMI Running")
    wait_ready_line(m, "tiny", "m1")

    # delete: nothing left behind
    m.cli("delete", "vm", "tiny", "-n", "e2e")
    m.wait_for(lambda: m.get("vm", "tiny", "e2e") is None and m.get("vmi", "tiny", "e2e") is None, 60, "deleted")
    m.wait_for(lambda: not m.launcher_pids(), 30, "launchers gone")
    assert "e2e_tiny" not in domains()
    assert not qemu_pid("e2e_tiny")


def test_interactive_console_both_ways(real_mesh):
    """`virtmesh console` in a terminal: keys reach the guest's shell, Ctrl-] leaves."""
    import pty
    import select
    import sys

    m = real_mesh
    m.cli("apply", "-f", "-", input=manifest("talk", "t1"))
    m.wait_for(lambda: m.vm_status("talk", "e2e") == "Running", 60, "VM Running")
    wait_ready_line(m, "talk", "t1")
    pid, fd = pty.fork()
    if pid == 0:  # child: the CLI, attached to a terminal
        os.execve(sys.executable, [sys.executable, "-m", "services.cli", "console", "talk", "-n", "e2e"], m.env)
    out = b""

    def read_until(needle: bytes, timeout: float) -> bool:
        nonlocal out
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                try:
                    out += os.read(fd, 4096)
                except OSError:
                    return needle in out
            if needle in out:
                return True
        return False

    assert read_until(b"Successfully connected to talk console", 20), out
    time.sleep(1)
    os.write(fd, b"echo HELLO-$((6*7))\r")
    assert read_until(b"HELLO-42", 20), out[-2000:]
    os.write(fd, b"\x1d")  # Ctrl-]
    deadline = time.monotonic() + 15
    status = None
    while time.monotonic() < deadline and status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        status = st if done else None
        read_until(b"\x00", 0.2)
    assert status is not None and os.waitstatus_to_exitcode(status) == 0, "console did not leave on Ctrl-]"
    assert m.vm_status("talk", "e2e") == "Running"  # leaving the console does not touch the VM
