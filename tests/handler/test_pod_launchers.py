"""The handler's part of launcher pods (services/handler/launcherpods.py): a launcher that died leaves
its domain to the handler, which destroys it also when the controller deleted the pod (its VMI is
final) before the handler got to it. The real path, with QEMU and a kill -9, is
tests/cluster/test_launcher_pods.py's."""
import shutil

import pytest

from harness import short_tmpdir
from services.common import launcherpods as lp
from services.common import names, paths, proto
from services.handler import launcherpods

VMI_UID = "0b5c1b0e-vmi-uid"


@pytest.fixture
def data_dir():
    d = short_tmpdir("vmpl-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def pod(phase: str, rv: int) -> dict:
    return {"metadata": {"name": "virt-launcher-vm1-abcde", "namespace": "default", "uid": "pod-uid",
                         "resourceVersion": str(rv), "labels": {names.CREATED_BY_LABEL: VMI_UID},
                         "annotations": {lp.DOMAIN_ANNOTATION: "vm1"}},
            "status": {"phase": phase}}


async def test_a_dead_launchers_domain_is_destroyed_after_its_pod_was_deleted(data_dir, monkeypatch):
    destroyed = []
    monkeypatch.setattr(launcherpods, "destroy_leftover", lambda *args: destroyed.append(args) or True)
    cache = lp.PodCache(None, lambda uid, p: None, node_name="n1")
    cache._apply("ADDED", pod("Running", 1))
    ls = launcherpods.PodLaunchers(paths.DataDir(data_dir).ensure(), "qemu:///system", "emulation",
                                   lambda uid: None, pods=cache, pods_dir=data_dir)
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.uid, vmi.metadata.namespace, vmi.metadata.name = VMI_UID, "default", "vm1"
    h = await ls.spawn(vmi)
    assert h.alive()   # the pod runs and its launcher has not taken its lock yet: the pod's word
    cache._apply("MODIFIED", pod("Failed", 2))   # the launcher was killed
    cache._apply("DELETED", pod("Failed", 3))    # the VMI went final; the controller deleted the pod
    assert not h.alive()
    await ls.forget(VMI_UID)
    assert destroyed == [("qemu:///system", "default_vm1", VMI_UID)]
    assert ls.get(VMI_UID) is None


async def test_a_launcher_that_never_had_a_pod_destroys_nothing(data_dir, monkeypatch):
    destroyed = []
    monkeypatch.setattr(launcherpods, "destroy_leftover", lambda *args: destroyed.append(args) or True)
    monkeypatch.setattr(launcherpods, "POD_WAIT_SECONDS", 0.05)
    cache = lp.PodCache(None, lambda uid, p: None, node_name="n1")
    ls = launcherpods.PodLaunchers(paths.DataDir(data_dir).ensure(), "qemu:///system", "emulation",
                                   lambda uid: None, pods=cache, pods_dir=data_dir)
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.uid, vmi.metadata.namespace, vmi.metadata.name = VMI_UID, "default", "vm1"
    h = await ls.spawn(vmi)
    assert not h.alive()
    await ls.forget(VMI_UID)
    assert destroyed == []
