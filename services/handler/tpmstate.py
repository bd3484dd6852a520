"""Persistent TPM state on this node, and its removal once its owner is gone.

A persistent TPM (`devices.tpm.persistent: true`) keeps swtpm's state directory, which libvirt names
after the domain UUID, across a VM's restarts: the launcher undefines such domains with
KEEP_TPM, and a VM's domain UUID is its stable firmware UUID. libvirt knows nothing of VMs, so
the node records which VM (or standalone VMI) each state belongs to and deletes the state once that
owner no longer exists -- as KubeVirt garbage-collects a VM's backend-storage PVC with the VM,
including a VM deleted while stopped or while this handler was down (the sweep is level-triggered).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import asdict, dataclass

log = logging.getLogger(__name__)
SWTPM_STATE_DIR = "/var/lib/libvirt/swtpm"   # libvirt's swtpm_storage for qemu:///system


@dataclass(frozen=True)
class Owner:
    uuid: str        # the domain UUID naming swtpm's state directory
    namespace: str
    kind: str        # VirtualMachine | VirtualMachineInstance
    name: str
    uid: str         # the owner's uid: a VM re-created under the same name is a new owner


def persistent_tpm(vmi) -> bool:
    tpm = vmi.spec.domain.devices.tpm
    return (vmi.spec.domain.devices.HasField("tpm") and tpm.persistent
            and (not tpm.HasField("enabled") or tpm.enabled))


def owner_of(vmi, domain_uuid: str) -> Owner | None:
    """Who the persistent TPM state of `vmi`'s domain belongs to; None when it keeps none."""
    if not persistent_tpm(vmi) or not domain_uuid:
        return None
    md = vmi.metadata
    vm = next((r for r in md.ownerReferences if r.kind == "VirtualMachine"), None)
    if vm is not None:
        return Owner(domain_uuid, md.namespace, "VirtualMachine", vm.name, vm.uid)
    return Owner(domain_uuid, md.namespace, "VirtualMachineInstance", md.name, md.uid)


class TpmStates:
    def __init__(self, records_dir: str, state_dir: str = SWTPM_STATE_DIR):
        self.records_dir, self.state_dir = records_dir, state_dir
        self._known: set[Owner] = set()   # recorded by this process: no rewrite on every status pass

    def _record(self, uuid: str) -> str:
        return os.path.join(self.records_dir, f"{uuid}.json")

    def remember(self, owner: Owner) -> None:
        if owner in self._known:
            return
        path = self._record(owner.uuid)
        os.makedirs(self.records_dir, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(asdict(owner), f)
        os.replace(tmp, path)  # a crash never leaves half a record
        self._known.add(owner)

    def owners(self) -> list[Owner]:
        out: list[Owner] = []
        try:
            names = sorted(os.listdir(self.records_dir))
        except FileNotFoundError:
            return out
        for n in names:
            if not n.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.records_dir, n)) as f:
                    out.append(Owner(**json.load(f)))
            except (OSError, ValueError, TypeError) as e:
                log.warning("TPM state record %s unreadable, left alone: %s", n, e)
        return out

    def forget(self, owner: Owner) -> None:
        """Delete the state, then the record (a crash in between retries on the next sweep)."""
        state = os.path.join(self.state_dir, owner.uuid)
        if os.path.isdir(state):
            shutil.rmtree(state)
            log.info("removed the persistent TPM state of %s %s/%s (%s)", owner.kind, owner.namespace,
                     owner.name, state)
        try:
            os.unlink(self._record(owner.uuid))
        except FileNotFoundError:
            pass
        self._known.discard(owner)

    async def sweep(self, exists, in_use: set[str]) -> None:
        """Forget every owner that `await exists(owner)` denies, unless a domain here still uses
        its UUID (`in_use`)."""
        for owner in self.owners():
            if owner.uuid not in in_use and not await exists(owner):
                self.forget(owner)
