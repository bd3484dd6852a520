"""Feature gates come from the KubeVirt object (spec.configuration.developerConfiguration.featureGates), as in
KubeVirt: the api admits a gated feature once the object enables it, the handler passes the gates in effect to
the launcher, which checks them again where it acts. A mesh on libvirt's test driver (real processes, real
gRPC, a real SQLite store)."""
from __future__ import annotations

import os

import pytest

from harness import Mesh, short_tmpdir
from services.common import hostpaths

KUBEVIRT = """
apiVersion: kubevirt.io/v1
kind: KubeVirt
metadata: {{name: kubevirt, namespace: kubevirt}}
spec:
  configuration:
    developerConfiguration: {{featureGates: [{gates}]}}
"""

VMI = """
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata: {{name: {name}}}
spec:
  domain:
    memory: {{guest: 64Mi}}
    devices: {{disks: [{{name: data, disk: {{}}}}]}}
  volumes:
    - name: data
      hostDisk: {{path: "{path}", type: DiskOrCreate, capacity: 1Mi}}
"""

REFUSED = "spec.volumes[0]: HostDisk feature gate is not enabled"


@pytest.fixture(scope="module")
def mesh():
    d = short_tmpdir("vmgates-")
    disks = os.path.join(d, "hostdisks")
    os.makedirs(disks)
    # The operator allows host disks in one directory, but enables no gate for the whole mesh.
    env = {hostpaths.ENV_HOST_PATHS: disks}
    m = Mesh(d, "test:///default", env={**env, hostpaths.ENV_FEATURE_GATES: ""})
    m.disks = disks
    yield m
    m.stop()


def test_host_disk_follows_the_kubevirt_object(mesh):
    m = mesh
    path = os.path.join(m.disks, "a.img")
    r = m.cli("apply", "-f", "-", input=VMI.format(name="a", path=path), check=False)
    assert r.returncode != 0 and REFUSED in r.stderr, r.stderr

    m.cli("apply", "-f", "-", input=KUBEVIRT.format(gates="HostDisk"))
    m.cli("apply", "-f", "-", input=VMI.format(name="a", path=path))
    # The launcher made the disk: the node saw the gate too (it refuses a hostDisk without it).
    m.wait_for(lambda: m.vmi_phase("a") == "Running", 60, "VMI a Running", interval=0.5)
    assert os.path.getsize(path) == 1 << 20

    # Gates can go again: a new VMI is refused, the running one is left alone.
    m.cli("apply", "-f", "-", input=KUBEVIRT.format(gates=""))
    r = m.cli("apply", "-f", "-", input=VMI.format(name="b", path=os.path.join(m.disks, "b.img")), check=False)
    assert r.returncode != 0 and REFUSED in r.stderr, r.stderr
    assert m.vmi_phase("a") == "Running"
    m.cli("delete", "vmi", "a")
