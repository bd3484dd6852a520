"""containerDisks from a registry (issue 18, item 5) on libvirt's test driver: the handler pulls the
image from a real registry on loopback (docker-registry, plain HTTP: --insecure-registry) with skopeo
before it starts a launcher; a missing tag leaves the VMI Scheduled with ErrImagePull then
ImagePullBackOff (also the VM's printableStatus) and it starts once the tag is pushed; a second VMI of
the same image downloads no layer again. A real guest booting from such an image: tests/e2e/test_registry_disks.py."""
from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import subprocess
import threading

import grpc
import pytest

from harness import Mesh, short_tmpdir
from registry import Registry, build_image, require_tools
from services.common import proto

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        resources: {{requests: {{memory: 64Mi}}}}
        devices: {{disks: [{{name: root, disk: {{bus: virtio}}}}]}}
      volumes: [{{name: root, containerDisk: {{image: "{image}"{policy}}}}}]
"""


def vm(name, image, policy=""):
    return VM.format(name=name, image=image, policy=f", imagePullPolicy: {policy}" if policy else "")


class Recorder:
    """Every (kind, name, state) a watch of VMIs and VMs shows: a VMI's Synchronized reason and phase,
    a VM's printableStatus (short-lived states included)."""

    def __init__(self, data_dir):
        self.seen: list[tuple[str, str, str]] = []
        ch = grpc.insecure_channel(f"unix://{data_dir}/run/api.sock")
        stub = proto.api_grpc.ResourcesStub(ch)
        self.calls = [stub.Watch(proto.api.WatchRequest(kind=k, namespace="default")) for k in (proto.VMI, proto.VM)]
        for c in self.calls:
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _note(self, item):
        if not self.seen or self.seen[-1] != item:
            self.seen.append(item)

    def _run(self, call):
        try:
            for ev in call:
                if ev.object.HasField("virtualMachineInstance"):
                    v = ev.object.virtualMachineInstance
                    for c in v.status.conditions:
                        if c.type == "Synchronized" and c.status == "False":
                            self._note(("vmi", v.metadata.name, c.reason))
                    self._note(("vmi", v.metadata.name, v.status.phase))
                else:
                    v = ev.object.virtualMachine
                    self._note(("vm", v.metadata.name, v.status.printableStatus))
        except grpc.RpcError:
            pass

    def states(self, kind, name):
        return [s for k, n, s in self.seen if k == kind and n == name]

    def stop(self):
        for c in self.calls:
            c.cancel()


@contextlib.contextmanager
def mesh_of(reg: Registry, tmp_path, prefix: str):
    """A test-driver mesh pulling from `reg` (plain HTTP, short back-off), and a 1 MiB disk image to push."""
    d = short_tmpdir(prefix)
    m = Mesh(d, "test:///default", env={"VIRTMESH_INSECURE_REGISTRIES": reg.host,
                                        "VIRTMESH_IMAGE_PULL_BACKOFF": "1,2"})
    disk = tmp_path / "disk.img"
    disk.write_bytes(os.urandom(1 << 20))
    layout = build_image(str(tmp_path / "layout"), {"/disk/disk.img": str(disk)})
    try:
        yield m, reg, layout
    finally:
        m.stop()
        reg.stop()
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def registry_mesh(tmp_path):
    require_tools()
    with mesh_of(Registry(), tmp_path, "vmimg-") as got:
        yield got


def test_a_missing_tag_backs_off_then_the_vmi_starts_once_it_is_pushed(registry_mesh):
    m, reg, layout = registry_mesh
    rec = Recorder(m.data_dir)
    image = f"{reg.host}/virtmesh/disk:v1"
    m.cli("apply", "-f", "-", input=vm("late", image))
    m.wait_for(lambda: "ImagePullBackOff" in rec.states("vm", "late"), 30, "VM ImagePullBackOff")
    vmi = m.get("vmi", "late")
    assert vmi["status"]["phase"] == "Scheduled"
    assert vmi["spec"]["volumes"][0]["containerDisk"]["imagePullPolicy"] == "IfNotPresent"   # tagged, not latest
    reasons = [s for s in rec.states("vmi", "late") if s in ("ContainerCreating", "ErrImagePull", "ImagePullBackOff")]
    # ContainerCreating (the pull's bytes in its message) while each pull runs
    assert reasons[:3] == ["ContainerCreating", "ErrImagePull", "ImagePullBackOff"], rec.seen
    vm_reasons = [s for s in rec.states("vm", "late") if s in ("ErrImagePull", "ImagePullBackOff")]
    assert vm_reasons[:2] == ["ErrImagePull", "ImagePullBackOff"], rec.seen
    assert m.launcher_pids() == []          # a failed pull holds no launcher
    cond = [c for c in vmi["status"]["conditions"] if c["type"] == "Synchronized"][0]
    assert cond["status"] == "False" and image in cond["message"]

    reg.push(layout, "virtmesh/disk", "v1")
    m.wait_for(lambda: m.vm_status("late") == "Running", 30, "VM Running after the push")
    vmi = m.get("vmi", "late")
    assert not [c for c in vmi["status"].get("conditions", []) if c["type"] == "Synchronized"]
    layer = reg.layers("virtmesh/disk", "v1")[0]
    assert reg.requests("GET", f"/blobs/{layer}") == 1
    # The kubelet's events for the pull, on the VMI.
    events = json.loads(m.cli("get", "events", "-o", "json").stdout)["items"]
    reasons = {e["reason"] for e in events if e["involvedObject"]["name"] == "late"
               and e["involvedObject"]["kind"] == "VirtualMachineInstance"}
    assert {"Pulling", "Failed", "BackOff", "Pulled"} <= reasons, reasons
    failed = next(e for e in events if e["reason"] == "Failed" and e["involvedObject"]["name"] == "late")
    assert failed["type"] == "Warning" and image in failed["message"] and failed["source"]["component"] == "virt-handler"
    rec.stop()


def test_a_second_vmi_of_the_image_downloads_no_layer_again(registry_mesh):
    m, reg, layout = registry_mesh
    reg.push(layout, "virtmesh/disk", "v1")
    image = f"{reg.host}/virtmesh/disk:v1"
    layer = reg.layers("virtmesh/disk", "v1")[0]
    m.cli("apply", "-f", "-", input=vm("first", image))
    m.wait_for(lambda: m.vm_status("first") == "Running", 60, "first Running")
    assert reg.requests("GET", f"/blobs/{layer}") == 1
    manifests = reg.requests("GET", "/manifests/v1")
    # IfNotPresent (the default for a tag): the registry is not asked at all.
    m.cli("apply", "-f", "-", input=vm("second", image))
    m.wait_for(lambda: m.vm_status("second") == "Running", 60, "second Running")
    assert reg.requests("GET", "/manifests/v1") == manifests
    # Always: the tag is resolved at the registry again, the layer comes from the cache.
    m.cli("apply", "-f", "-", input=vm("third", image, "Always"))
    m.wait_for(lambda: m.vm_status("third") == "Running", 60, "third Running")
    assert reg.requests("GET", "/manifests/v1") == manifests + 1
    assert reg.requests("GET", f"/blobs/{layer}") == 1
    images = os.listdir(os.path.join(m.data_dir, "images", "images"))
    assert len(images) == 1                   # unpacked once, by manifest digest
    xml = [open(os.path.join(m.data_dir, "vms", m.get("vmi", n)["metadata"]["uid"], "domain.xml")).read()
           for n in ("first", "third")]
    assert all("container-disks/root.qcow2" in x for x in xml)
    # Never with the image cached starts as well; with an image not cached it waits, never pulling.
    m.cli("apply", "-f", "-", input=vm("never", f"{reg.host}/virtmesh/disk:absent", "Never"))
    def synchronized():
        conds = (m.get("vmi", "never") or {}).get("status", {}).get("conditions", [])
        return next((c for c in conds if c["type"] == "Synchronized"), None)
    cond = m.wait_for(synchronized, 60, "never's Synchronized condition")
    assert cond["status"] == "False" and cond["reason"] == "ErrImageNeverPull"
    assert m.get("vmi", "never")["status"]["phase"] == "Scheduled"
    assert reg.requests("GET", "/manifests/absent") == 0


def test_bad_references_are_refused_at_admission(registry_mesh):
    m, reg, _ = registry_mesh
    r = m.cli("apply", "-f", "-", input=vm("bad", f"{reg.host}/Virtmesh/disk:v1", "Sometimes"), check=False)
    assert r.returncode != 0
    assert "spec.template.spec.volumes[0].containerDisk.imagePullPolicy: Unsupported value: \"Sometimes\"" in r.stderr


KERNEL_VMI = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: kb}}
spec:
  terminationGracePeriodSeconds: 0
  domain:
    resources: {{requests: {{memory: 64Mi}}}}
    devices: {{}}
    firmware:
      kernelBoot:
        kernelArgs: console=ttyS0
        container: {{image: "{image}", kernelPath: /boot/vmlinuz, initrdPath: /boot/initrd.img}}
"""


def test_a_kernel_boot_container_comes_from_the_registry(registry_mesh, tmp_path):
    m, reg, _ = registry_mesh
    (tmp_path / "vmlinuz").write_bytes(b"kernel")
    (tmp_path / "initrd.img").write_bytes(b"initrd")
    layout = build_image(str(tmp_path / "kb"), {"/boot/vmlinuz": str(tmp_path / "vmlinuz"),
                                                "/boot/initrd.img": str(tmp_path / "initrd.img")})
    reg.push(layout, "virtmesh/kernel", "latest")
    m.cli("apply", "-f", "-", input=KERNEL_VMI.format(image=f"{reg.host}/virtmesh/kernel"))   # no tag: latest
    m.wait_for(lambda: m.vmi_phase("kb") == "Running", 30, "VMI Running")
    vmi = m.get("vmi", "kb")
    vm_dir = os.path.join(m.data_dir, "vms", vmi["metadata"]["uid"])
    xml = open(os.path.join(vm_dir, "domain.xml")).read()
    # Kernel and initrd are read through the VM's link to the image (what a migration moves along),
    # which leads into the node's cache.
    paths = re.findall(r"<(?:kernel|initrd)>([^<]+)</", xml)
    unpacked = os.path.join(os.path.realpath(m.data_dir), "images", "images")
    assert len(paths) == 2 and all(p.startswith(os.path.join(os.path.realpath(vm_dir), "images") + "/") for p in paths), xml
    assert all(os.path.realpath(p).startswith(unpacked + "/") for p in paths), paths
    assert [open(p, "rb").read() for p in paths] == [b"kernel", b"initrd"]
    assert reg.requests("GET", "/manifests/latest") == 1


def test_a_pull_reports_the_bytes_it_downloads(tmp_path):
    """ImageCache.pull's progress (handler/pullprogress.py): the bytes of the blobs skopeo wrote, read
    from the cache's blob directory; nothing for blobs the cache already holds."""
    from services.handler import images as node_images

    require_tools()
    reg = Registry()
    try:
        disk = tmp_path / "disk.img"
        disk.write_bytes(os.urandom(8 << 20))
        reg.push(build_image(str(tmp_path / "layout"), {"/disk/disk.img": str(disk)}), "virtmesh/big", "v1")
        raw = reg.layers("virtmesh/big", "v1")
        cache = node_images.ImageCache(str(tmp_path / "cache"), insecure=[reg.host])
        heard = []
        ref = node_images.refs.parse(f"{reg.host}/virtmesh/big:v1")
        cache.pull(ref, lambda done, total: heard.append((done, total)))
        blobs = os.path.join(cache.blobs, "sha256")
        downloaded = sum(os.path.getsize(os.path.join(blobs, n)) for n in os.listdir(blobs))
        assert heard and heard[-1] == (downloaded, None), heard
        assert downloaded > 8 << 20 and raw[0].split(":")[1] in os.listdir(blobs)
        assert [d for d, _ in heard] == sorted(d for d, _ in heard)
        heard.clear()
        shutil.rmtree(cache.image_dir(open(os.path.join(cache.refs, node_images.refs.ref_key(ref))).read()))
        cache.pull(ref, lambda done, total: heard.append((done, total)))
        # the layer and config were there: only the manifest (written by skopeo, not downloaded as a blob)
        assert heard[-1][0] < 4096, heard
    finally:
        reg.stop()


@pytest.fixture
def private_registry_mesh(tmp_path):
    with mesh_of(Registry(auth=("puller", "s3cret-pw")), tmp_path, "vmpriv-") as got:
        yield got


PULL_SECRET = """
apiVersion: v1
kind: Secret
metadata: {{name: {name}}}
type: kubernetes.io/dockerconfigjson
stringData:
  .dockerconfigjson: '{config}'
"""


def test_a_private_registry_needs_the_pull_secret(private_registry_mesh):
    """imagePullSecret: without its Secret the pull is anonymous (the kubelet's warning) and refused; once
    the Secret exists the next pull carries its credentials and the VM starts."""
    m, reg, layout = private_registry_mesh
    reg.push(layout, "virtmesh/private", "v1")
    image = f"{reg.host}/virtmesh/private:v1"
    manifest = VM.format(name="priv", image=image, policy=", imagePullSecret: regcred")
    m.cli("apply", "-f", "-", input=manifest)

    def event(reason):
        items = json.loads(m.cli("get", "events", "-o", "json").stdout)["items"]
        return next((e for e in items if e["reason"] == reason and e["involvedObject"]["name"] == "priv"), None)
    missing = m.wait_for(lambda: event("FailedToRetrieveImagePullSecret"), 30, "the missing Secret's warning")
    assert missing["type"] == "Warning" and missing["message"] == (
        "Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not succeed.")
    failed = m.wait_for(lambda: event("Failed"), 30, "the anonymous pull refused")
    assert "unauthorized" in failed["message"].lower() or "authentication required" in failed["message"].lower(), \
        failed["message"]
    assert m.get("vmi", "priv")["status"]["phase"] == "Scheduled" and m.launcher_pids() == []

    m.cli("apply", "-f", "-", input=PULL_SECRET.format(name="regcred", config=reg.docker_config()))
    m.wait_for(lambda: m.vm_status("priv") == "Running", 60, "VM Running with the pull secret")
    assert reg.requests("GET", "/manifests/v1") >= 1
    # The credentials were only ever in the pull's private directory: besides the store (the Secret itself),
    # no file on the node holds them.
    token = base64.b64encode(b"puller:s3cret-pw").decode()
    found = subprocess.run(["grep", "-rlF", token, m.data_dir], capture_output=True, text=True).stdout.split()
    assert found and all(os.path.dirname(f) == os.path.join(m.data_dir, "store") for f in found), found
