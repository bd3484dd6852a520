"""dataVolumeTemplates on real QEMU (TCG) (issue 14, item 3): a KubeVirt-style VM whose only disk is a
DataVolume template importing the test guest's BIOS disk (converted to qcow2, served over HTTP) boots that
guest once the node has imported it; until then the VM is Provisioning and has no VMI. Deleting the VM
takes the domain, the DataVolume, its claim and the image along."""
from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
import yaml

from e2e.conftest import GUESTS, VIRSH, domains, qemu_mesh, serial_log
from imageserver import ImageServer

pytestmark = pytest.mark.e2e
NS = "e2edvt"

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  name: fromhttp
  namespace: {ns}
spec:
  runStrategy: Always
  dataVolumeTemplates:
  - metadata:
      name: fromhttp-root
    spec:
      source:
        http:
          url: {url}
      storage:
        resources:
          requests:
            storage: 64Mi
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        memory: {{guest: 128Mi}}
        devices:
          disks:
          - name: root
            bootOrder: 1
            disk: {{bus: virtio}}
      volumes:
      - name: root
        dataVolume: {{name: fromhttp-root}}
"""


@pytest.fixture
def guest_qcow2(host_ready, tmp_path):
    src = os.path.join(GUESTS, "amd64", "disk.img")
    if not os.path.exists(src):
        pytest.skip("the amd64 BIOS disk is not built (tools/build_guest.py)")
    out = tmp_path / "guest.qcow2"
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", src, str(out)], check=True)
    return str(out)


def test_a_vm_boots_a_real_guest_from_its_imported_datavolume(guest_qcow2):
    images = ImageServer()
    try:
        with qemu_mesh("vmdvt-", f"{NS}_", extra=("--import-allow-internal",)) as m:
            url = images.add("/guest.qcow2", guest_qcow2)
            images.gate("/guest.qcow2")
            m.cli("apply", "-f", "-", input=VM.format(ns=NS, url=url))
            m.wait_for(lambda: m.vm_status("fromhttp", NS) == "Provisioning", 60, "VM Provisioning")
            assert m.get("vmi", "fromhttp", NS) is None and f"{NS}_fromhttp" not in domains()

            images.release("/guest.qcow2")
            m.wait_for(lambda: "VIRTMESH-READY" in serial_log(m, "fromhttp", NS), 180, "guest booted from the import")
            log = serial_log(m, "fromhttp", NS)
            assert "VIRTMESH-READY none" in log            # SYSLINUX on the imported disk started it
            m.wait_for(lambda: "VIRTMESH-DISKS vda" in serial_log(m, "fromhttp", NS), 30, "the guest sees its disk")
            assert m.vm_status("fromhttp", NS) == "Running"

            dv = m.get("dv", "fromhttp-root", NS)
            assert (dv["status"]["phase"], dv["status"]["progress"]) == ("Succeeded", "100.0%")
            assert dv["metadata"]["ownerReferences"][0]["name"] == "fromhttp"
            pvc = m.get("pvc", "fromhttp-root", NS)
            image = os.path.join(m.data_dir, "volumes", NS, f"fromhttp-root-{pvc['metadata']['uid']}", "disk.img")
            info = yaml.safe_load(subprocess.run(["qemu-img", "info", "--output=json", image], capture_output=True,
                                                 text=True, check=True).stdout)
            assert (info["format"], info["virtual-size"]) == ("raw", 64 << 20)   # converted, grown to the claim
            xml = ET.fromstring(subprocess.run([*VIRSH, "dumpxml", f"{NS}_fromhttp"], capture_output=True,
                                               text=True, check=True).stdout)
            disk = next(d for d in xml.iter("disk") if d.find("alias") is not None
                        and d.find("alias").get("name") == "ua-root")
            assert disk.find("source").get("file") == image
            assert disk.find("boot").get("order") == "1"

            m.cli("delete", "vm", "fromhttp", "-n", NS)
            m.wait_for(lambda: m.get("vmi", "fromhttp", NS) is None and f"{NS}_fromhttp" not in domains(), 60,
                       "VMI and domain gone")
            m.wait_for(lambda: m.get("dv", "fromhttp-root", NS) is None and m.get("pvc", "fromhttp-root", NS) is None
                       and not os.path.exists(image), 60, "DataVolume, claim and image gone with the VM")
    finally:
        images.close()
