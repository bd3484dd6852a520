"""Persistent TPM state bookkeeping (handler/tpmstate.py) on real directories."""
from __future__ import annotations

import os

from services.common import proto
from services.handler.tpmstate import Owner, TpmStates, owner_of

UUID = "6a1f1c59-64b1-5b5e-9a4c-5a0f0d0f3b11"


def vmi(persistent=True, enabled=None, vm="vm1"):
    v = proto.kv.VirtualMachineInstance()
    v.metadata.namespace, v.metadata.name, v.metadata.uid = "ns", "vm1", "vmi-uid"
    if vm:
        v.metadata.ownerReferences.add(kind="VirtualMachine", name=vm, uid="vm-uid")
    v.spec.domain.devices.tpm.persistent = persistent
    if enabled is not None:
        v.spec.domain.devices.tpm.enabled = enabled
    return v


def test_owner_is_the_vm_or_the_standalone_vmi():
    assert owner_of(vmi(), UUID) == Owner(UUID, "ns", "VirtualMachine", "vm1", "vm-uid")
    assert owner_of(vmi(vm=None), UUID) == Owner(UUID, "ns", "VirtualMachineInstance", "vm1", "vmi-uid")
    assert owner_of(vmi(), "") is None  # no domain yet


def test_no_owner_without_persistent_state():
    assert owner_of(vmi(persistent=False), UUID) is None
    assert owner_of(vmi(enabled=False), UUID) is None     # explicitly disabled wins over persistent
    assert owner_of(proto.kv.VirtualMachineInstance(), UUID) is None


async def test_sweep_removes_state_of_gone_owners_only(tmp_path):
    states = TpmStates(str(tmp_path / "records"), str(tmp_path / "swtpm"))
    owners = [Owner(f"uuid-{i}", "ns", "VirtualMachine", f"vm{i}", f"uid{i}") for i in range(3)]
    for o in owners:
        states.remember(o)
        os.makedirs(tmp_path / "swtpm" / o.uuid / "tpm2")
    assert sorted(states.owners(), key=lambda o: o.uuid) == owners

    alive = {"vm0"}

    async def exists(o):
        return o.name in alive

    # vm1 is gone; vm2 is gone but a domain here still uses its UUID; vm0 exists.
    await states.sweep(exists, in_use={"uuid-2"})
    assert sorted(os.listdir(tmp_path / "swtpm")) == ["uuid-0", "uuid-2"]
    assert [o.name for o in sorted(states.owners(), key=lambda o: o.uuid)] == ["vm0", "vm2"]

    await states.sweep(exists, in_use=set())
    assert os.listdir(tmp_path / "swtpm") == ["uuid-0"]
    assert [o.name for o in states.owners()] == ["vm0"]


async def test_an_unreadable_record_is_left_alone(tmp_path):
    states = TpmStates(str(tmp_path / "records"), str(tmp_path / "swtpm"))
    os.makedirs(tmp_path / "records")
    (tmp_path / "records" / "broken.json").write_text("{not json")
    assert states.owners() == []

    async def exists(o):
        raise AssertionError("nothing to ask about")
    await states.sweep(exists, in_use=set())
    assert (tmp_path / "records" / "broken.json").exists()
