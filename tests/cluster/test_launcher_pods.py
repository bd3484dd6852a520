"""virt-launcher pods (issue 16, item 3) and the handler restart (item 4's done-when) on real parts: a real
kube-apiserver and kube-scheduler (built from the same module), `virtmesh up --kubeconfig --launcher-pods`,
the kubelet stand-in (tests/kubelet_standin.py) running each pod's container command, and real QEMU guests.

- a VMI gets its pod with KubeVirt's facts; the kube-scheduler binds it; the VMI's node is the binding;
  the stand-in runs the launcher (not the handler), and the guest boots;
- the handler killed and restarted: the guest's TICK lines go on (no second boot), the console works;
- deleting the VMI: the pod goes only after the guest is down;
- the launcher killed: its pod fails, the VMI fails, and no QEMU is left.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from harness import ROOT, short_tmpdir

from cluster.conftest import ClusterMesh
from e2e.conftest import GUESTS, domains, host_ready, remove_domains, serial_log  # noqa: F401 (fixture)
from services.common import launcherlock, paths

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.timeout(900)]
TICK = re.compile(r"VIRTMESH-TICK (\d+)")
NS = "default"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def vmi_manifest(name: str) -> str:
    """A VMI of examples/vm-demo.yaml's template (no VM: a failed VMI is not started again)."""
    with open(os.path.join(ROOT, "examples", "vm-demo.yaml")) as f:
        vm = yaml.safe_load(f.read().replace("/var/cache/virtmesh/guests", GUESTS))
    tpl = vm["spec"]["template"]
    tpl["spec"]["domain"]["firmware"]["kernelBoot"]["kernelArgs"] = \
        f"console=ttyS0 quiet panic=-1 virtmesh.marker={name}"
    return yaml.safe_dump({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                           "metadata": {"name": name, "labels": {"app": name}}, "spec": tpl["spec"]})


class Plane:
    """The scheduler and the kubelet stand-in next to the control plane and the mesh."""

    def __init__(self, cp, d: str):
        self.cp, self.d = cp, d
        # Short: the handler dials <pods dir>/<pod uid>/volumes/kubernetes.io~empty-dir/sockets/launcher-sock.
        self.pods_dir = tempfile.mkdtemp(prefix="k", dir="/tmp")
        self.sched_log = open(os.path.join(d, "kube-scheduler.log"), "ab")
        self.scheduler = subprocess.Popen(
            [os.path.join(cp.bin, "kube-scheduler"), "--kubeconfig", cp.kubeconfig,
             "--authentication-kubeconfig", cp.kubeconfig, "--authorization-kubeconfig", cp.kubeconfig,
             "--leader-elect=false", "--bind-address=127.0.0.1", f"--secure-port={_free_port()}", "-v=2"],
            stdout=self.sched_log, stderr=subprocess.STDOUT, start_new_session=True)
        self.standin_log = open(os.path.join(d, "kubelet-standin.log"), "ab")
        self.standin = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "kubelet_standin.py"), "--kubeconfig", cp.kubeconfig,
             "--node-name", "node01", "--pods-dir", self.pods_dir, "--image", f"virtmesh={ROOT}",
             "--log-dir", os.path.join(d, "containers")],
            stdout=self.standin_log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)

    def pods(self, name: str = "") -> list[dict]:
        sel = "kubevirt.io=virt-launcher" + (f",kubevirt.io/created-by={name}" if name else "")
        return self.cp.kube.request("GET", f"/api/v1/namespaces/{NS}/pods", {"labelSelector": sel}).get("items", [])

    def stop(self) -> None:
        shutil.copy(os.path.join(self.d, "kubelet-standin.log"), "/tmp/last-kubelet-standin.log")   # for a failure's reader
        for p in (self.standin, self.scheduler):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.sched_log.close()
        self.standin_log.close()
        subprocess.run(["umount", "-R", self.pods_dir], capture_output=True)
        shutil.rmtree(self.pods_dir, ignore_errors=True)


def qemu_running(uid: str) -> bool:
    return bool(subprocess.run(["pgrep", "-f", f"qemu-system.*{uid}"], capture_output=True, text=True).stdout.strip())


def ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def launcher_pid(m, uid: str) -> int:
    return launcherlock.holder(paths.DataDir(m.data_dir).launcher_pid(uid))


def boot(m, plane, name: str) -> tuple[dict, dict]:
    plane.cp.kubectl("apply", "-f", "-", input=vmi_manifest(name))
    m.wait_for(lambda: f"VIRTMESH-READY {name}" in serial_log(m, name), 300, f"{name}'s ready line", interval=0.5)
    vmi = m.get("vmi", name)
    pods = plane.pods(vmi["metadata"]["uid"])
    assert len(pods) == 1, pods
    return vmi, pods[0]


def ticks(m, name: str) -> list[int]:
    return [int(n) for n in TICK.findall(serial_log(m, name))]


def stop_up(data_dir: str) -> None:
    """SIGTERM the `virtmesh up` whose api serves `data_dir` (it stops its services), as Mesh.stop would."""
    out = subprocess.run(["pgrep", "-f", f"-m services.api --data-dir {data_dir}"], capture_output=True, text=True)
    for pid in out.stdout.split():
        try:
            os.kill(ppid(int(pid)), signal.SIGTERM)
        except (OSError, ValueError):
            pass


@pytest.fixture
def pod_mesh(control_plane, host_ready):
    cp = control_plane
    if not cp.kube.request("GET", "/api/v1/nodes").get("items"):
        cp.create_node()
    d = short_tmpdir("vmklp-")
    plane = Plane(cp, d)
    m = None
    try:
        try:
            m = ClusterMesh(d, "qemu:///system", cp, extra=("--launcher-pods", plane.pods_dir))
        except BaseException:
            stop_up(d)   # the constructor's wait failed: its `virtmesh up` would outlive the test
            raise
        yield m, plane
    finally:
        if m is not None:
            m.stop()
        plane.stop()
        remove_domains("default_lp")
        shutil.rmtree(d, ignore_errors=True)


def test_launcher_pods_end_to_end(pod_mesh):
    m, plane = pod_mesh
    cp = plane.cp

    # 1. The pod, as KubeVirt renders it, bound by the kube-scheduler; the stand-in runs the launcher.
    vmi, pod = boot(m, plane, "lp1")
    uid = vmi["metadata"]["uid"]
    md, spec = pod["metadata"], pod["spec"]
    assert md["generateName"] == "virt-launcher-lp1-" and md["name"].startswith("virt-launcher-lp1-")
    assert md["ownerReferences"] == [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "name": "lp1",
                                      "uid": uid, "controller": True, "blockOwnerDeletion": True}]
    assert md["labels"]["kubevirt.io"] == "virt-launcher" and md["labels"]["kubevirt.io/created-by"] == uid
    assert md["labels"]["vm.kubevirt.io/name"] == "lp1" and md["labels"]["app"] == "lp1"
    assert md["annotations"]["kubevirt.io/domain"] == "lp1"
    overhead = int(md["annotations"]["kubevirt.io/memory-overhead-bytes"])
    assert overhead > 200 * 2 ** 20
    req = spec["containers"][0]["resources"]["requests"]
    assert int(req["memory"]) == 128 * 2 ** 20 + overhead and req["cpu"] == "100m"
    assert spec["nodeSelector"]["kubevirt.io/schedulable"] == "true"
    assert spec["nodeSelector"]["machine-type.node.kubevirt.io/q35"] == "true"
    assert spec["restartPolicy"] == "Never" and spec["schedulerName"] == "default-scheduler"
    assert spec["nodeName"] == "node01" and vmi["status"]["nodeName"] == "node01"
    m.wait_for(lambda: re.search(rf'"Successfully bound pod to node".*pod="{NS}/{md["name"]}"',
                                 open(os.path.join(plane.d, "kube-scheduler.log")).read()), 10,
               "the kube-scheduler's binding in its log")
    st = plane.pods(uid)[0]["status"]
    assert st["phase"] == "Running" and "running" in st["containerStatuses"][0]["state"]
    lpid = launcher_pid(m, uid)
    assert lpid and ppid(lpid) == plane.standin.pid, "the launcher is the kubelet's child, not the handler's"
    assert "started launcher pid" not in open(os.path.join(m.data_dir, "logs", "handler.log")).read()
    # The kube-scheduler accounts for it: the Node's allocated requests include the pod's.
    assert cp.kubectl("describe", "node", "node01").stdout.count(md["name"]) == 1

    print(time.strftime("%H:%M:%S"), '2.', flush=True)
    # 2. The handler dies (kill -9) and comes back: the guest runs on, no reboot, and its console works.
    m.wait_for(lambda: len(ticks(m, "lp1")) >= 2, 30, "TICK lines")
    handler_log = os.path.join(m.data_dir, "logs", "handler.log")
    starts = open(handler_log).read().count("handler serving")
    old = m.pid_of("handler")
    os.kill(old, signal.SIGKILL)
    before = ticks(m, "lp1")[-1]
    m.wait_for(lambda: m.pid_of("handler") not in (0, old), 30, "handler restarted")
    m.wait_for(lambda: open(handler_log).read().count("handler serving") > starts, 60, "the new handler serving")
    m.wait_for(lambda: ticks(m, "lp1")[-1] >= before + 3, 60, "TICK lines after the restart")
    seen = ticks(m, "lp1")
    assert seen == list(range(1, seen[-1] + 1)), "the guest rebooted or a TICK went missing"
    assert serial_log(m, "lp1").count("VIRTMESH-READY lp1") == 1
    assert launcher_pid(m, uid) == lpid and m.vmi_phase("lp1") == "Running"
    out = m.cli("console", "lp1", "--no-stdin", "--stop-after", "3", timeout=60).stdout
    assert "VIRTMESH-TICK" in out

    print(time.strftime("%H:%M:%S"), '3.', flush=True)
    # 3. Deleting the VMI: the guest goes down first, then its pod.
    pod_name = md["name"]
    samples = [(qemu_running(uid), False)]   # just before the delete (the guest may be down by the next)
    cp.kubectl("delete", "vmi", "lp1", "--wait=false")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        p = [x for x in plane.pods(uid) if x["metadata"]["name"] == pod_name]
        deleting = not p or bool(p[0]["metadata"].get("deletionTimestamp"))
        samples.append((qemu_running(uid), deleting))
        if not p:
            break
        time.sleep(0.1)
    assert not p, f"the pod was not deleted: {samples[-5:]}"
    assert not any(q and d for q, d in samples), "the pod was deleted while QEMU still ran"
    assert samples[0][0], "QEMU ran when the deletion began"
    m.wait_for(lambda: cp.kubectl("get", "vmi", "lp1", check=False).returncode != 0, 30, "VMI gone")
    assert "default_lp1" not in domains()

    print(time.strftime("%H:%M:%S"), '4.', flush=True)
    # 4. The launcher dies: its pod fails, so does the VMI, and no QEMU is left.
    vmi, pod = boot(m, plane, "lp2")
    uid = vmi["metadata"]["uid"]
    assert qemu_running(uid)
    os.kill(launcher_pid(m, uid), signal.SIGKILL)
    m.wait_for(lambda: m.vmi_phase("lp2") == "Failed", 60, "the VMI failed")
    m.wait_for(lambda: not qemu_running(uid), 30, "QEMU gone")
    m.wait_for(lambda: "default_lp2" not in domains(), 30, "domain gone")
    events = open(os.path.join(plane.d, "kubelet-standin.log")).read()
    assert re.search(rf"pod {NS}/{pod['metadata']['name']}: container exited with 137", events)
    m.wait_for(lambda: not plane.pods(uid), 30, "the failed pod deleted (its VMI is final)")
    cp.kubectl("delete", "vmi", "lp2")
    deadline = time.monotonic() + 30
    while plane.pods() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not plane.pods(), [(p["metadata"]["name"], p["status"].get("phase"), p["metadata"].get("deletionTimestamp"))
                              for p in plane.pods()]
