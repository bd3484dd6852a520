"""Test harness: a real `virtmesh up` driven through the CLI, as a user would."""
from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from services.common import proto

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# The smallest VM for libvirt's test driver: what the mesh tests create.
TEST_DRIVER_VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: {name}
spec:
  runStrategy: {strategy}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        resources: {{requests: {{memory: 64Mi}}}}
        devices: {{}}
"""


def vm_manifest(name: str, strategy: str = "Always") -> str:
    return TEST_DRIVER_VM.format(name=name, strategy=strategy)


def halted_vm(name: str):
    """A Halted VirtualMachine message in `default` (for tests that drive the api's gRPC door)."""
    vm = proto.kv.VirtualMachine()
    vm.metadata.name, vm.metadata.namespace = name, "default"
    vm.spec.runStrategy = "Halted"
    vm.spec.template.spec.domain.memory.guest = "64Mi"
    return vm


async def until(cond, timeout: float = 30) -> None:
    """Poll `cond` on the event loop until it holds; fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def scrape_metrics(data_dir: str, service: str) -> str:
    """A mesh service's /metrics text: HTTPS, presenting the data dir's admin certificate."""
    import urllib.request
    from services.common import meshtls
    port = open(os.path.join(data_dir, "run", f"metrics-{service}.port")).read().strip()
    ctx = meshtls.MeshPKI(os.path.join(data_dir, "pki")).ensure("admin", (meshtls.ADMINS_GROUP,)).client_ssl_context()
    ctx.check_hostname = False  # the services' names are in the certificates, not 127.0.0.1
    return urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=10, context=ctx).read().decode()


@contextlib.contextmanager
def small_tmpfs(prefix: str, size: str):
    """A tmpfs of `size` (e.g. "2m") mounted on a fresh directory, for tests of a full disk; skips the
    test where mounting is not allowed (not root)."""
    import pytest
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    d = short_tmpdir(prefix)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", d], capture_output=True)
    if r.returncode != 0:
        os.rmdir(d)
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.decode().strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", d])
        shutil.rmtree(d, ignore_errors=True)


def short_tmpdir(prefix: str) -> str:
    # Unix socket paths must stay under 108 bytes: pytest's tmp_path can be too deep.
    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


class Mesh:
    """A `virtmesh up` child process plus helpers to drive it through the CLI."""

    def __init__(self, data_dir: str, libvirt_uri: str, extra=(), env: dict | None = None):
        self.data_dir = data_dir
        self.env = dict(os.environ, VIRTMESH_DATA_DIR=data_dir,
                        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        self.env.pop("KUBECONFIG", None)  # standalone unless the caller selects a cluster
        self.env.update(env or {})
        self.log = open(os.path.join(data_dir, "up.log"), "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "services.cli", "up", "--libvirt-uri", libvirt_uri,
                                      "--node-name", "node01", *extra],
                                     env=self.env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.wait_for(lambda: self.node_ready("node01"), timeout=60, what="node01 registered")

    def cli(self, *args, input: str | None = None, check: bool = True, timeout: float = 60):
        r = subprocess.run([sys.executable, "-m", "services.cli", *args], env=self.env, cwd=ROOT,
                           capture_output=True, text=True, input=input, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"virtmesh {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def get(self, resource: str, name: str, namespace: str = "default"):
        r = self.cli("get", resource, name, "-n", namespace, "-o", "json", check=False)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def node_ready(self, name: str) -> bool:
        n = self.get("node", name)
        return bool(n) and n["metadata"].get("labels", {}).get("kubevirt.io/schedulable") == "true"

    def wait_for(self, predicate, timeout: float = 30, what: str = "condition", interval: float = 0.1):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = predicate()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}\n"
                             + self.logs_tail())

    def logs_tail(self, n: int = 30) -> str:
        out = []
        for name in ("api", "controller", "handler"):
            p = os.path.join(self.data_dir, "logs", f"{name}.log")
            if os.path.exists(p):
                out.append(f"--- {name}.log ---\n" + "".join(open(p).readlines()[-n:]))
        return "\n".join(out)

    def vmi_phase(self, name: str, namespace: str = "default"):
        v = self.get("vmi", name, namespace)
        return v.get("status", {}).get("phase") if v else None

    def scrape(self, service: str) -> str:
        """`service`'s /metrics, over HTTPS with the mesh's admin certificate (meshtls)."""
        return scrape_metrics(self.data_dir, service)

    def vm_status(self, name: str, namespace: str = "default"):
        v = self.get("vm", name, namespace)
        return v.get("status", {}).get("printableStatus") if v else None

    def pid_of(self, service: str) -> int:
        out = subprocess.run(["pgrep", "-f", "--", f"-m services.{service} .*--data-dir {self.data_dir}"],
                             capture_output=True, text=True).stdout.split()
        return int(out[0]) if out else 0

    def launcher_pids(self) -> list[int]:
        """Live launcher processes of this mesh (from the pid files each launcher writes and locks)."""
        pids = []
        for name in os.listdir(os.path.join(self.data_dir, "run")):
            if name.startswith("l-") and name.endswith(".pid"):
                try:
                    pid = int(open(os.path.join(self.data_dir, "run", name)).read())
                    with open(f"/proc/{pid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                            pids.append(pid)
                except (OSError, ValueError):
                    pass
        return pids

    def stop(self):
        """SIGTERM `virtmesh up` like Ctrl-C would; whatever launcher outlives it is recorded
        in `leftover` (and then killed, so one test cannot leak into the next)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.leftover = self.launcher_pids()
        for pid in self.leftover:
            os.kill(pid, signal.SIGKILL)
        for pidfile in glob.glob(os.path.join(self.data_dir, "net", "*", "dnsmasq.pid")):  # a node's pod DHCP
            try:
                pid = int(open(pidfile).read())
                if open(f"/proc/{pid}/comm").read().strip() == "dnsmasq":
                    os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass
        self.log.close()
