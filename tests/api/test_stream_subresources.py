"""The VMI subresources portforward, vnc and softreboot: KubeVirt's refusals for a soft reboot and the
RBAC each asks for in cluster mode (the streams themselves: tests/e2e/test_guest_access.py)."""
from __future__ import annotations

from services.api import streams
from services.common import authz, proto


def vmi(phase="Running", paused=False, acpi=None, agent=False):
    v = proto.kv.VirtualMachineInstance()
    v.metadata.name, v.metadata.namespace = "web", "prod"
    v.status.phase = phase
    if paused:
        v.status.conditions.add(type="Paused", status="True")
    if agent:
        v.status.conditions.add(type="AgentConnected", status="True")
    if acpi is not None:
        v.spec.domain.features.acpi.enabled = acpi
    return v


def test_soft_reboot_refusals():
    assert streams.soft_reboot_refusal(vmi()) is None
    assert streams.soft_reboot_refusal(vmi(acpi=True)) is None
    assert streams.soft_reboot_refusal(vmi(phase="Scheduled")) == "VM is not running"
    assert streams.soft_reboot_refusal(vmi(paused=True)) == "VMI is paused"
    assert streams.soft_reboot_refusal(vmi(acpi=False)) == \
        "VMI neither have the agent connected nor the ACPI feature enabled"
    assert streams.soft_reboot_refusal(vmi(acpi=False, agent=True)) is None   # the agent reboots it


def test_rbac_of_the_new_subresources():
    first = proto.api.PortForwardRequest(namespace="prod", name="web", port=22)
    for call, verb in (("PortForward", "get"), ("VNC", "get"), ("Console", "get")):
        attrs = authz.resource_attributes(f"/virtmesh.v1.Subresources/{call}", first)
        assert attrs == {"verb": verb, "group": "subresources.kubevirt.io", "resource": "virtualmachineinstances",
                         "subresource": call.lower(), "namespace": "prod", "name": "web"}
    attrs = authz.resource_attributes("/virtmesh.v1.Subresources/SoftReboot",
                                      proto.api.SubresourceRequest(namespace="prod", name="web"))
    assert attrs["verb"] == "update" and attrs["subresource"] == "softreboot"
