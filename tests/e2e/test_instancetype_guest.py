"""A real guest sized by a cluster instance type and shaped by a cluster preference (issue 14): the
guest sees the instance type's CPUs in the preference's topology, the VMI carries its memory, and the
VM's spec names only the references."""
from __future__ import annotations

import pytest

from e2e.conftest import GUESTS
from e2e.test_real_vm import console

pytestmark = pytest.mark.e2e

OBJECTS = """
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterInstancetype
metadata: {{name: e2e.small}}
spec:
  cpu: {{guest: 2}}
  memory: {{guest: 160Mi}}
---
apiVersion: instancetype.kubevirt.io/v1beta1
kind: VirtualMachineClusterPreference
metadata: {{name: e2e.tiny-linux}}
spec:
  cpu: {{preferredCPUTopology: cores}}
  devices: {{preferredAutoattachSerialConsole: true}}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: sized, namespace: e2e}}
spec:
  runStrategy: Always
  instancetype: {{name: e2e.small}}
  preference: {{name: e2e.tiny-linux}}
  template:
    spec:
      terminationGracePeriodSeconds: 0
      domain:
        devices: {{}}
        firmware:
          kernelBoot:
            kernelArgs: "console=ttyS0 quiet panic=-1 virtmesh.marker=sized"
            container: {{image: "{guests}/amd64", kernelPath: /kernel, initrdPath: /initrd.img}}
"""


def test_a_real_guest_boots_sized_by_a_cluster_instancetype_and_preference(real_mesh):
    m = real_mesh
    m.cli("apply", "-f", "-", input=OBJECTS.format(guests=GUESTS))
    out = m.wait_for(lambda: (lambda o: o if "VIRTMESH-CPUS" in o else "")(console(m, "sized", 3)), 120,
                     "the guest's CPU line", interval=0.5)
    assert "VIRTMESH-READY sized" in out
    assert "VIRTMESH-CPUS 2" in out, out
    vmi = m.get("vmi", "sized", "e2e")
    cpu = vmi["spec"]["domain"]["cpu"]
    assert (cpu.get("cores"), cpu.get("sockets", 1), cpu.get("threads", 1)) == (2, 1, 1), cpu
    assert vmi["spec"]["domain"]["memory"]["guest"] == "160Mi"
    vm = m.get("vm", "sized", "e2e")
    assert "cpu" not in vm["spec"]["template"]["spec"]["domain"]   # the VM is not rewritten (reference)
    assert vm["status"]["instancetypeRef"]["controllerRevisionRef"]["name"]
    assert vm["status"]["preferenceRef"]["controllerRevisionRef"]["name"]
    m.cli("delete", "vm", "sized", "-n", "e2e", "--wait")
