"""Two controllers on one cluster (issue 16): one holds the Lease and acts, the other waits with
warm caches; kill -9 the leader and the other takes over once the Lease runs out, and every VM ends
with exactly one VMI."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from cluster.conftest import NODE, vm_uid_to_vmis
from harness import ROOT, short_tmpdir, vm_manifest
from services.common import proto

LEASE = ("--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "1")


class Controllers:
    """api and handler (one node, libvirt's test driver) and two controllers, as processes."""

    def __init__(self, cp, data_dir: str):
        self.cp, self.data_dir = cp, data_dir
        self.env = dict(os.environ, PYTHONPATH=ROOT)
        self.env.pop("KUBECONFIG", None)
        os.makedirs(os.path.join(data_dir, "logs"), exist_ok=True)
        self.procs: dict[str, subprocess.Popen] = {}
        self.start("api", "services.api", "--webhook-client-ca", os.path.join(cp.dir, "pki", "ca.crt"))
        self.wait_log("api", "serving on")
        self.start("handler", "services.handler", "--node-name", NODE, "--libvirt-uri", "test:///default")
        for name in ("c1", "c2"):
            # Each its own data dir (its health socket, its certificate), as two pods have.
            self.start(name, "services.controller", *LEASE, data_dir=os.path.join(data_dir, name))
            self.wait_log(name, "caches synced")

    def start(self, name: str, module: str, *args, data_dir: str | None = None) -> None:
        with open(self.log(name), "ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", module, "--data-dir", data_dir or self.data_dir,
                 "--kubeconfig", self.cp.kubeconfig, *args],
                env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self, name: str) -> str:
        return os.path.join(self.data_dir, "logs", f"{name}.log")

    def wait_log(self, name: str, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in open(self.log(name)).read():
            assert self.procs[name].poll() is None, f"{name} exited:\n{open(self.log(name)).read()[-3000:]}"
            assert time.monotonic() < deadline, f"{name}: no {text!r}:\n{open(self.log(name)).read()[-3000:]}"
            time.sleep(0.1)

    def holder(self) -> str:
        lease = self.cp.kube.request("GET", "/apis/coordination.k8s.io/v1/namespaces/default/leases/virt-controller")
        return lease["spec"]["holderIdentity"]

    def identity(self, name: str) -> str:
        text = open(self.log(name)).read()
        return text.split("candidate ", 1)[1].split(" ", 1)[0]

    def leading(self) -> list[str]:
        return [n for n in ("c1", "c2") if "leading as" in open(self.log(n)).read()]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        subprocess.run(["pkill", "-9", "-f", "--", f"--data-dir {self.data_dir}"])   # "--": the pattern is no option


@pytest.fixture
def controllers(control_plane):
    if not control_plane.kube.request("GET", "/api/v1/nodes").get("items"):
        control_plane.create_node()
    d = short_tmpdir("vmle-")
    c = Controllers(control_plane, d)
    try:
        yield c
    finally:
        c.stop()
        shutil.rmtree(d, ignore_errors=True)


def running(cp, names) -> set[str]:
    return {proto.inner(o).metadata.name for o in cp.kube.list(proto.VMI, "default")[0]
            if proto.inner(o).status.phase == "Running"} & set(names)


def test_one_controller_acts_and_the_other_takes_over_from_a_killed_leader(controllers):
    cp, c = controllers.cp, controllers
    deadline = time.monotonic() + 30
    while not c.leading():
        assert time.monotonic() < deadline, "no controller leads"
        time.sleep(0.2)
    time.sleep(2)  # the follower keeps trying meanwhile, and must not lead too
    (leader,) = c.leading()
    follower = "c2" if leader == "c1" else "c1"
    assert c.holder() == c.identity(leader) != c.identity(follower)

    first = [f"le-a{i}" for i in range(10)]
    for name in first:
        cp.kubectl("apply", "-f", "-", input=vm_manifest(name))
    deadline = time.monotonic() + 60
    while running(cp, first) != set(first):
        assert time.monotonic() < deadline, f"not Running: {set(first) - running(cp, first)}"
        time.sleep(0.2)
    assert "leading as" not in open(c.log(follower)).read()

    # kill -9 the leader while VMs are being created: the follower leads once the Lease ran out.
    second = [f"le-b{i}" for i in range(10)]
    for name in second[:5]:
        cp.kubectl("apply", "-f", "-", input=vm_manifest(name))
    killed_at = time.monotonic()
    os.kill(c.procs[leader].pid, signal.SIGKILL)
    for name in second[5:]:
        cp.kubectl("apply", "-f", "-", input=vm_manifest(name))
    c.wait_log(follower, "leading as", timeout=30)
    took_over = time.monotonic() - killed_at
    assert took_over < 4 + 3 + 2, took_over   # the lease duration, plus a retry period and some slack
    assert c.holder() == c.identity(follower)
    deadline = time.monotonic() + 60
    while running(cp, first + second) != set(first + second):
        assert time.monotonic() < deadline, f"not Running: {set(first + second) - running(cp, first + second)}"
        time.sleep(0.2)
    # Exactly one VMI per VM (by owner uid): the two controllers never both acted on one.
    vmis = vm_uid_to_vmis(cp)
    assert all(len(v) == 1 for v in vmis.values()) and len(vmis) >= 20

    # The killed one, restarted in place (same host and data dir), is a candidate again and waits.
    c.start(leader, "services.controller", *LEASE, data_dir=os.path.join(c.data_dir, leader))
    deadline = time.monotonic() + 30
    while open(c.log(leader)).read().count("candidate ") < 2:
        assert time.monotonic() < deadline, "the restarted controller is no candidate"
        time.sleep(0.2)
    time.sleep(3)
    assert c.holder() == c.identity(follower) and open(c.log(leader)).read().count("leading as") == 1
    for name in first + second:
        cp.kubectl("delete", "vm", name, "--wait=false")
