"""Defaulting on create: what KubeVirt's mutating webhooks and the apiserver fill in."""
from __future__ import annotations

import uuid

from services.common import arch, proto, timeutil

VMI_FINALIZER = "foregroundDeleteVirtualMachine"
DEFAULT_GRACE_PERIOD = 30


def object_meta(md, namespaced: bool) -> None:
    if namespaced and not md.namespace:
        md.namespace = "default"
    if not namespaced:
        md.namespace = ""
    if not md.name and md.generateName:
        md.name = md.generateName + uuid.uuid4().hex[:5]
    md.uid = str(uuid.uuid4())
    md.generation = 1
    md.creationTimestamp = timeutil.now()
    md.ClearField("deletionTimestamp")
    md.ClearField("resourceVersion")


def vmi_spec(spec) -> None:
    if not spec.architecture:
        spec.architecture = arch.host_arch()
    if not spec.domain.machine.type and spec.architecture in arch.DEFAULT_MACHINE:
        spec.domain.machine.type = arch.DEFAULT_MACHINE[spec.architecture]
    if not spec.HasField("terminationGracePeriodSeconds"):
        spec.terminationGracePeriodSeconds = DEFAULT_GRACE_PERIOD
    cpu = spec.domain.cpu
    cpu.sockets = cpu.sockets or 1
    cpu.cores = cpu.cores or 1
    cpu.threads = cpu.threads or 1


def create(obj: proto.api.Object) -> None:
    kind = proto.kind_of(obj)
    res = proto.inner(obj)
    _, api_version, kind_name, namespaced = proto.KINDS[kind]
    res.apiVersion, res.kind = api_version, kind_name
    object_meta(res.metadata, namespaced)
    if kind == proto.VMI:
        vmi_spec(res.spec)
        if VMI_FINALIZER not in res.metadata.finalizers:
            res.metadata.finalizers.append(VMI_FINALIZER)
    elif kind == proto.VM:
        # Neither running nor runStrategy: KubeVirt's VM mutator defaults to Halted.
        if not res.spec.HasField("running") and not res.spec.HasField("runStrategy"):
            res.spec.runStrategy = "Halted"
