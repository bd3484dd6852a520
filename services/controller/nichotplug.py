"""VM template -> running VMI for NICs (KubeVirt's ApplyDynamicIfaceRequestOnVMI).

- An interface in both: the VM's `state` is copied to the VMI when they differ, unless the VMI's
  interface is already `absent` (an unplug is final for that VMI).
- An interface (+ its network) only in the VM template, not absent: appended to the VMI (hotplug).
Nothing else of the template reaches a running VMI here.
"""
from __future__ import annotations

HOTPLUG_ERROR_REASON = "HotPlugNetworkInterfaceError"


def apply_dynamic_iface_request(vm_spec, vmi_spec) -> bool:
    """Mutates `vmi_spec` (a copy the caller owns); True when it changed."""
    changed = False
    vmi_ifaces = {i.name: i for i in vmi_spec.domain.devices.interfaces}
    vmi_nets = {n.name for n in vmi_spec.networks}
    vm_nets = {n.name: n for n in vm_spec.networks}
    for iface in vm_spec.domain.devices.interfaces:
        have = vmi_ifaces.get(iface.name)
        if have is not None:
            if have.state != iface.state and have.state != "absent":
                have.state = iface.state
                changed = True
            continue
        if iface.state == "absent" or iface.name not in vm_nets:
            continue  # nothing to unplug / a template the api would not have accepted
        vmi_spec.domain.devices.interfaces.add().CopyFrom(iface)
        if iface.name not in vmi_nets:
            vmi_spec.networks.add().CopyFrom(vm_nets[iface.name])
        changed = True
    return changed
