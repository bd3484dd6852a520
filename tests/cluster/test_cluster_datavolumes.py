"""dataVolumeTemplates in cluster mode (issue 14, item 3): the VM CRD takes them, the api's webhook refuses
a bad template with KubeVirt's cause, and a VM applied with kubectl gets a real cdi.kubevirt.io
DataVolume owned by it, shows Provisioning while the node imports over HTTP, runs on libvirt's test
driver, and takes its DataVolume and claim along when deleted (no garbage collector runs here); what
`virtmesh create vm` prints applies with kubectl as it is."""
from __future__ import annotations

import json
import shutil

import pytest
import yaml

from harness import short_tmpdir
from imageserver import ImageServer

from .conftest import ClusterMesh

pytestmark = pytest.mark.cluster


def vm(name: str, url: str, volume: str = "") -> str:
    return f"""
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}}}
spec:
  runStrategy: Always
  dataVolumeTemplates:
  - apiVersion: cdi.kubevirt.io/v1beta1
    kind: DataVolume
    metadata: {{name: {name}-disk}}
    spec:
      source: {{http: {{url: "{url}"}}}}
      storage: {{resources: {{requests: {{storage: 8Mi}}}}}}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {{guest: 64Mi}}
        devices: {{disks: [{{name: disk, disk: {{bus: virtio}}}}]}}
      volumes: [{{name: disk, dataVolume: {{name: {volume or name + "-disk"}}}}}]
"""


@pytest.fixture
def importing_mesh(control_plane):
    if not control_plane.kube.request("GET", "/api/v1/nodes").get("items"):
        control_plane.create_node()
    d = short_tmpdir("vmkdv-")
    m = ClusterMesh(d, "test:///default", control_plane, extra=("--import-allow-internal",))
    try:
        yield m
    finally:
        m.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_a_vm_makes_its_datavolume_waits_runs_and_takes_it_along(importing_mesh, tmp_path):
    m, cp = importing_mesh, importing_mesh.cp
    disk = tmp_path / "disk.img"
    disk.write_bytes(b"\0" * (1 << 20))
    images = ImageServer()
    try:
        url = images.add("/disk.img", str(disk))
        r = cp.kubectl("apply", "-f", "-", input=vm("orphan", url, volume="someone-else"), check=False)
        assert r.returncode != 0
        assert ("spec.dataVolumeTemplate[0]: DataVolumeTemplate entry spec.dataVolumeTemplate[0] must be "
                "referenced in the VMI template's 'volumes' list") in r.stderr, r.stderr

        images.gate("/disk.img")
        cp.kubectl("apply", "-f", "-", input=vm("kdv", url))
        m.wait_for(lambda: m.vm_status("kdv") == "Provisioning", 60, "VM Provisioning")
        row = cp.kubectl("get", "vm", "kdv", "--no-headers").stdout.split()
        assert row[0] == "kdv" and "Provisioning" in row
        dv = json.loads(cp.kubectl("get", "datavolumes.cdi.kubevirt.io", "kdv-disk", "-o", "json").stdout)
        vm_uid = json.loads(cp.kubectl("get", "vm", "kdv", "-o", "json").stdout)["metadata"]["uid"]
        assert dv["metadata"]["ownerReferences"] == [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                                                      "name": "kdv", "uid": vm_uid, "controller": True,
                                                      "blockOwnerDeletion": True}]
        assert dv["metadata"]["labels"] == {"kubevirt.io/created-by": vm_uid}
        assert cp.kubectl("get", "vmi", "kdv", check=False).returncode != 0

        images.release("/disk.img")
        m.wait_for(lambda: m.vm_status("kdv") == "Running", 60, "VM Running")
        dv = yaml.safe_load(cp.kubectl("get", "dv", "kdv-disk", "-o", "yaml").stdout)
        assert dv["status"]["phase"] == "Succeeded"
        pvc = json.loads(cp.kubectl("get", "pvc", "kdv-disk", "-o", "json").stdout)
        assert pvc["status"]["phase"] == "Bound" and pvc["metadata"]["ownerReferences"][0]["kind"] == "DataVolume"

        cp.kubectl("delete", "vm", "kdv")
        m.wait_for(lambda: cp.kubectl("get", "dv", "kdv-disk", check=False).returncode != 0, 60, "DataVolume deleted")
        m.wait_for(lambda: cp.kubectl("get", "pvc", "kdv-disk", check=False).returncode != 0, 60, "claim deleted")

        # What `virtmesh create vm` prints (virtctl's manifest, creationTimestamp: null and all) goes straight
        # into kubectl: the CRD takes it, and the VM runs on its imported volume.
        made = m.cli("create", "vm", "--name=made", "--memory=64Mi", "--termination-grace-period=0",
                     f"--volume-import=type:http,url:{url},size:8Mi,name:made-disk").stdout
        assert "vm.kubevirt.io/made created" in cp.kubectl("apply", "-f", "-", input=made).stdout.replace(
            "virtualmachine.", "vm.")
        m.wait_for(lambda: m.vm_status("made") == "Running", 60, "the created VM Running")
        cp.kubectl("delete", "vm", "made")
        m.wait_for(lambda: cp.kubectl("get", "dv", "made-disk", check=False).returncode != 0, 60, "its DataVolume gone")
    finally:
        images.close()
