"""`virtmesh` storage verbs through the real CLI (a subprocess) against a real api process:
apply/get/delete for PVCs and DataVolumes, addvolume/removevolume, one-line errors."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import grpc
import pytest

from services.cli import main as cli
from services.common import proto, vmstate

from harness import ROOT, short_tmpdir

CLAIMS = """\
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data1}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: dv1}
spec:
  source: {blank: {}}
  storage: {resources: {requests: {storage: 512Mi}}}
"""


class Api:
    """`python -m services.api` on its own data dir, plus a gRPC client for what the CLI cannot do
    (a VMI's Running phase is the handler's to write)."""

    def __init__(self):
        self.dir = short_tmpdir("vmcli-")
        self.env = dict(os.environ, VIRTMESH_DATA_DIR=self.dir,
                        PYTHONPATH=os.pathsep.join(p for p in (ROOT, os.environ.get("PYTHONPATH")) if p))
        self.env.pop("VIRTMESH_API", None)
        self.log = open(os.path.join(self.dir, "api.log"), "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "services.api", "--data-dir", self.dir],
                                     env=self.env, cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        sock = os.path.join(self.dir, "run", "api.sock")
        deadline = time.monotonic() + 20
        while not os.path.exists(sock):
            assert self.proc.poll() is None and time.monotonic() < deadline, "api did not start"
            time.sleep(0.05)
        self.channel = grpc.insecure_channel(f"unix://{sock}")
        grpc.channel_ready_future(self.channel).result(timeout=20)
        self.stub = proto.api_grpc.ResourcesStub(self.channel)

    def cli(self, *args, input=None):
        return subprocess.run([sys.executable, "-m", "services.cli", *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, input=input, timeout=60)

    def ok(self, *args, input=None) -> str:
        r = self.cli(*args, input=input)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def fails(self, *args) -> str:
        """The command exits 1 with exactly one line on stderr; returns it."""
        r = self.cli(*args)
        assert r.returncode == 1, r.stdout
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1, r.stderr
        return lines[0]

    def get(self, kind, name):
        return proto.inner(self.stub.Get(proto.api.GetRequest(ref=proto.ref(kind, "default", name))))

    def running_vmi(self, name="vm1"):
        vmi = proto.kv.VirtualMachineInstance()
        vmi.metadata.name = name
        vmi.spec.domain.memory.guest = "64Mi"
        vmi.spec.volumes.add(name="root").containerDisk.image = "cirros"
        vmi.spec.domain.devices.disks.add(name="root").disk.bus = "virtio"
        vmi = proto.inner(self.stub.Create(proto.api.CreateRequest(object=proto.wrap(vmi))))
        vmstate.set_phase(vmi, vmstate.RUNNING)
        return proto.inner(self.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi))))

    def vm(self, name="vm1"):
        vm = proto.kv.VirtualMachine()
        vm.metadata.name = name
        vm.spec.runStrategy = "Halted"
        vm.spec.template.spec.domain.memory.guest = "64Mi"
        return proto.inner(self.stub.Create(proto.api.CreateRequest(object=proto.wrap(vm))))

    def stop(self):
        self.channel.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def api():
    a = Api()
    yield a
    a.stop()


@pytest.mark.parametrize("word, kind", [
    ("pvc", proto.PVC), ("pvcs", proto.PVC), ("PersistentVolumeClaim", proto.PVC),
    ("persistentvolumeclaims", proto.PVC), ("dv", proto.DV), ("dvs", proto.DV), ("datavolume", proto.DV),
    ("DataVolumes", proto.DV), ("datavolumes.cdi.kubevirt.io", proto.DV),
])
def test_storage_aliases(word, kind):
    assert cli._kind(word) == kind


def test_bad_cache_and_disk_type_fail_before_any_call(tmp_path, capsys):
    rc = cli.main(["--data-dir", str(tmp_path), "addvolume", "vm1", "--volume-name=data1", "--cache=sometimes"])
    assert rc == 1 and capsys.readouterr().err.strip() == "error: error adding volume, invalid cache value sometimes"
    rc = cli.main(["--data-dir", str(tmp_path), "addvolume", "vm1", "--volume-name=data1", "--disk-type=floppy"])
    assert rc == 1
    assert capsys.readouterr().err.strip() == "error: Invalid disk type 'floppy'. Only LUN and Disk are supported."


def test_apply_get_delete_claims(api):
    out = api.ok("apply", "-f", "-", input=CLAIMS)
    assert out.splitlines() == ["persistentvolumeclaim/data1 created", "datavolume.cdi.kubevirt.io/dv1 created"]
    # Re-applying the same manifests: the server's defaults (volumeMode) make it a no-op.
    assert api.ok("apply", "-f", "-", input=CLAIMS).splitlines() == [
        "persistentvolumeclaim/data1 unchanged", "datavolume.cdi.kubevirt.io/dv1 unchanged"]

    table = api.ok("get", "pvc").splitlines()
    assert table[0].split() == ["NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS", "MODES", "STORAGECLASS", "AGE"]
    assert table[1].split()[:3] == ["data1", "Pending", "<unset>"]

    # Bound by the node: capacity and abbreviated access modes show.
    pvc = api.get(proto.PVC, "data1")
    pvc.spec.volumeName = "pv-data1"
    pvc = proto.inner(api.stub.Update(proto.api.UpdateRequest(object=proto.wrap(pvc))))
    pvc.status.phase = "Bound"
    pvc.status.capacity["storage"] = "1Gi"
    pvc.status.accessModes.extend(["ReadWriteOnce", "ReadWriteMany"])
    api.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(pvc)))
    row = api.ok("get", "persistentvolumeclaims", "data1").splitlines()[1].split()
    assert row[:6] == ["data1", "Bound", "pv-data1", "1Gi", "RWO,RWX", "<unset>"]
    assert api.ok("get", "pvc", "-o", "wide").splitlines()[1].split()[-1] == "Filesystem"

    dvs = api.ok("get", "dv").splitlines()
    assert dvs[0].split() == ["NAME", "PHASE", "PROGRESS", "RESTARTS", "AGE"]
    assert dvs[1].split()[:4] == ["dv1", "Pending", "N/A", "0"]

    doc = json.loads(api.ok("get", "pvc", "data1", "-o", "json"))
    assert doc["kind"] == "PersistentVolumeClaim" and doc["spec"]["volumeMode"] == "Filesystem"
    assert doc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    assert "apiVersion: cdi.kubevirt.io/v1beta1" in api.ok("get", "dv", "dv1", "-o", "yaml")
    assert api.ok("get", "dvs", "-o", "name").strip() == "datavolume.cdi.kubevirt.io/dv1"

    assert api.ok("delete", "dv", "dv1").strip() == 'datavolume.cdi.kubevirt.io "dv1" deleted'
    assert api.ok("delete", "pvc", "data1").strip() == 'persistentvolumeclaim "data1" deleted'
    assert api.get(proto.PVC, "data1").metadata.deletionTimestamp  # the node removes the finalizer


def test_apply_invalid_claim_is_one_line(api):
    bad = CLAIMS.split("---")[0].replace("ReadWriteOnce", "ReadWriteSometimes")
    r = api.cli("apply", "-f", "-", input=bad)
    assert r.returncode == 1
    assert r.stderr.strip() == ('Error from server (Invalid): spec.accessModes: Unsupported value: '
                                '"ReadWriteSometimes": supported values: "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", '
                                '"ReadWriteOncePod"')
    r = api.cli("apply", "-f", "-", input=CLAIMS.split("---")[1].replace("cdi.kubevirt.io/v1beta1", "v1"))
    assert r.returncode == 1
    assert r.stderr.strip() == "error: error validating -: apiVersion: 'v1' is not served for DataVolume " \
                               "(use cdi.kubevirt.io/v1beta1)"


def test_addvolume_and_removevolume_on_a_vmi(api):
    api.ok("apply", "-f", "-", input=CLAIMS)
    before = api.running_vmi()
    out = api.ok("addvolume", "vm1", "--volume-name=data1", "--serial", "S1", "--cache", "none")
    assert out.strip() == "Successfully submitted add volume request to VMI vm1 for volume data1"
    vmi = api.get(proto.VMI, "vm1")
    assert vmi.metadata.generation == before.metadata.generation + 1
    vol, disk = vmi.spec.volumes[-1], vmi.spec.domain.devices.disks[-1]
    assert (vol.name, vol.persistentVolumeClaim.claimName, vol.persistentVolumeClaim.hotpluggable) == \
        ("data1", "data1", True)
    assert (disk.name, disk.disk.bus, disk.serial, disk.cache) == ("data1", "scsi", "S1", "none")

    # A DataVolume of that name exists: the source is the DataVolume; serial defaults to the name.
    api.ok("addvolume", "vm1", "--volume-name", "dv1")
    vmi = api.get(proto.VMI, "vm1")
    assert vmi.spec.volumes[-1].dataVolume.name == "dv1" and vmi.spec.domain.devices.disks[-1].serial == "dv1"

    # In use now: deleting the claim is refused, one line, nothing changes.
    rv = api.get(proto.PVC, "data1").metadata.resourceVersion
    assert api.fails("delete", "pvc", "data1") == \
        'Error from server (Conflict): persistentvolumeclaims "data1" is in use by VirtualMachineInstance default/vm1'
    assert api.get(proto.PVC, "data1").metadata.resourceVersion == rv

    out = api.ok("removevolume", "vm1", "--volume-name=data1")
    assert out.strip() == "Successfully submitted remove volume request to VMI vm1 for volume data1"
    assert [v.name for v in api.get(proto.VMI, "vm1").spec.volumes] == ["root", "dv1"]


def test_addvolume_errors_are_one_line_and_change_nothing(api):
    api.ok("apply", "-f", "-", input=CLAIMS)
    rv = api.running_vmi().metadata.resourceVersion
    assert api.fails("addvolume", "vm1", "--volume-name=data1", "--bus=virtio") == \
        "Error from server (Invalid): hotplugged Disk data1 does not use a scsi bus"
    assert api.fails("addvolume", "vm1", "--volume-name=nope") == \
        'Error from server (NotFound): persistentvolumeclaims "nope" not found'
    assert api.fails("addvolume", "ghost", "--volume-name=data1") == \
        'Error from server (NotFound): virtualmachineinstance "ghost" not found'
    assert api.fails("removevolume", "vm1", "--volume-name=root") == \
        "Error from server (Conflict): Unable to remove volume [root] because it is not hotpluggable"
    api.ok("addvolume", "vm1", "--volume-name=data1")
    assert api.fails("addvolume", "vm1", "--volume-name=data1") == \
        "Error from server (Conflict): Unable to add volume [data1] because volume with that name already exists"
    assert int(api.get(proto.VMI, "vm1").metadata.resourceVersion) == int(rv) + 1  # only the one good add


def test_dry_run_changes_nothing(api):
    api.ok("apply", "-f", "-", input=CLAIMS)
    rv = api.running_vmi().metadata.resourceVersion
    out = api.ok("addvolume", "vm1", "--volume-name=data1", "--dry-run")
    assert out.splitlines() == ["Dry Run execution",
                                "Successfully submitted add volume request to VMI vm1 for volume data1 (dry run)"]
    assert api.get(proto.VMI, "vm1").metadata.resourceVersion == rv


def test_persist_goes_to_the_vm_volume_requests(api):
    api.ok("apply", "-f", "-", input=CLAIMS)
    api.vm()
    out = api.ok("addvolume", "vm1", "--volume-name=data1", "--persist")
    assert out.strip() == "Successfully submitted add volume request to VM vm1 for volume data1"
    vm = api.get(proto.VM, "vm1")
    [req] = vm.status.volumeRequests
    assert req.addVolumeOptions.name == "data1" and req.addVolumeOptions.disk.disk.bus == "scsi"
    assert api.fails("addvolume", "vm1", "--volume-name=data1", "--persist") == \
        "Error from server (Conflict): add volume request for volume [data1] already exists"
    assert api.fails("delete", "pvc", "data1") == \
        'Error from server (Conflict): persistentvolumeclaims "data1" is in use by VirtualMachine default/vm1'
    # A remove with --persist checks the template: data1 is not there yet (the controller applies adds).
    assert api.fails("removevolume", "vm1", "--volume-name=data1", "--persist") == \
        "Error from server (Conflict): Unable to remove volume [data1] because it does not exist"
