"""Desired vs live NICs of a running domain -> the device operations that reconcile them
(KubeVirt's nichotplug.go: hotplug, hot-unplug, link state). Pure: domain models in, ops out.

- attach: a desired interface (by `ua-` alias) missing from the live domain; its XML carries
  `<link state="down"/>` when it is to be plugged in down.
- detach: a live interface whose VMI interface is `state: absent`. Interfaces merely missing from the
  spec are left alone (KubeVirt never removes a NIC that way).
- update: the live definition with only the link state changed, and only when it differs
  (no `<link>` means up). The live interface is reused so target, MAC and PCI address stay as they are.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from services.launcher.domxml import model as m


@dataclass(frozen=True)
class Op:
    action: str   # attach | detach | update
    alias: str
    xml: str


def _link(i: m.Interface) -> str:
    return i.link_state or "up"


def plan(desired: list[m.Interface], live: m.Domain, absent: set[str]) -> list[Op]:
    """`desired`: the converter's interfaces; `live`: the running domain; `absent`: aliases to unplug."""
    have = {i.alias: i for i in live.user_interfaces().values() if i.alias}   # (all: each has a ua- alias)
    ops: list[Op] = []
    for alias, i in have.items():
        if alias in absent:
            ops.append(Op("detach", alias, m.device_xml(i)))
    for want in desired:
        assert want.alias is not None, "the converter names every interface (ua-NAME)"
        cur = have.get(want.alias)
        if cur is None:
            ops.append(Op("attach", want.alias, m.device_xml(want)))
            continue
        state = _link(want)
        if _link(cur) != state:
            # explicit "up": an absent <link> would mean "no change" to libvirt
            ops.append(Op("update", want.alias, m.device_xml(dataclasses.replace(cur, link_state=state))))
    return ops


def interfaces_status(live: m.Domain) -> list[tuple[str, str, str, str]]:
    """(name, mac, linkState, target dev) of each of our interfaces in the live domain."""
    return [(name, i.mac or "", _link(i), i.target_dev or "") for name, i in live.user_interfaces().items()]
