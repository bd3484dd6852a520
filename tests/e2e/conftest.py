"""Real guests: libvirtd (tools/host.sh start) + QEMU under TCG + guests from tools/build_guest.py.

Locally these tests skip when the host is not set up; in CI (CI=true) a missing prerequisite is a
failure, because .ci/run sets everything up first.
"""
from __future__ import annotations

import contextlib
import os
import queue
import shutil
import subprocess
import threading
import time

import grpc
import pytest

from harness import Mesh, short_tmpdir
from services.common import proto

GUESTS = os.environ.get("VIRTMESH_GUEST_DIR", "/var/cache/virtmesh/guests")
VIRSH = ["virsh", "-c", "qemu:///system"]


def domains() -> list[str]:
    """Names of every libvirt domain on the host (running or not)."""
    return subprocess.run([*VIRSH, "list", "--all", "--name"], capture_output=True, text=True).stdout.split()


def remove_domains(prefix: str) -> None:
    """Destroy and undefine every domain named `prefix...`: what a failed test left behind."""
    for name in domains():
        if name.startswith(prefix):
            subprocess.run([*VIRSH, "destroy", name], capture_output=True)
            subprocess.run([*VIRSH, "undefine", "--nvram", name], capture_output=True)


def serial_log(m, name: str, namespace: str = "default") -> str:
    """Everything the VMI's guest wrote (the launcher's console log), read from the node."""
    vmi = m.get("vmi", name, namespace)
    if not vmi:
        return ""
    try:
        with open(os.path.join(m.data_dir, "vms", vmi["metadata"]["uid"], "serial0.log"), "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def guest_shell(m, namespace: str, name: str, command: str, until: str, timeout: float = 60) -> str:
    """Type one command line on the guest's serial shell through the api's Console stream; what the
    guest wrote up to `until` (asserted to come within `timeout` seconds)."""
    ch = grpc.insecure_channel(f"unix://{m.data_dir}/run/api.sock")
    sub = proto.api_grpc.SubresourcesStub(ch)
    inbox: queue.Queue = queue.Queue()
    done = threading.Event()

    def requests():
        yield proto.api.ConsoleRequest(namespace=namespace, name=name)
        time.sleep(0.5)
        yield proto.api.ConsoleRequest(data=b"\r")
        time.sleep(0.3)
        yield proto.api.ConsoleRequest(data=command.encode() + b"\r")
        done.wait(timeout + 5)

    call = sub.Console(requests())

    def reader():
        try:
            for chunk in call:
                inbox.put(chunk.data)
        except grpc.RpcError:
            pass
    threading.Thread(target=reader, daemon=True).start()
    out = b""
    deadline = time.monotonic() + timeout
    try:
        while until.encode() not in out and time.monotonic() < deadline:
            try:
                out += inbox.get(timeout=0.2)
            except queue.Empty:
                pass
    finally:
        done.set()
        call.cancel()
        ch.close()
    text = out.decode(errors="replace")
    assert until in text, f"no {until!r} after {command!r} on {name}:\n{text[-3000:]}"
    return text


def _missing() -> str:
    try:
        import libvirt  # noqa: F401
    except ImportError:
        return "libvirt-python is not installed"
    r = subprocess.run(["virsh", "-c", "qemu:///system", "version"], capture_output=True, text=True)
    if r.returncode != 0:
        return "libvirtd is not answering on qemu:///system (run tools/host.sh start)"
    for f in ("amd64/kernel", "amd64/initrd.img"):
        if not os.path.exists(os.path.join(GUESTS, f)):
            return f"test guest {f} is missing (run tools/build_guest.py)"
    return ""


@pytest.fixture(scope="session")
def host_ready():
    why = _missing()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"e2e prerequisite missing in CI: {why}")
        pytest.skip(why)


@contextlib.contextmanager
def qemu_mesh(tmp_prefix: str, domain_prefix: str = "e2e_", extra=()):
    """A real `virtmesh up` on qemu:///system in a fresh data dir (`extra`: more `up` flags); afterwards
    no guest of `domain_prefix` is left behind for the next test, nor the data dir."""
    d = short_tmpdir(tmp_prefix)
    m = Mesh(d, "qemu:///system", extra=extra)
    try:
        yield m
    finally:
        m.stop()
        remove_domains(domain_prefix)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def real_mesh(host_ready):
    with qemu_mesh("vme2e-") as m:
        yield m
