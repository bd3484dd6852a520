"""Domain statistics for GetDomainStats (what KubeVirt's launcher reads with GetAllDomainStats).

Uses the per-call libvirt APIs (info, vcpus, memoryStats, interfaceStats, blockStats) on the
domain object virt.Hypervisor found: unlike the bulk stats call they work on every driver,
including the test driver. Each piece is optional: a driver without it leaves it unset.
"""
from __future__ import annotations

import logging

from services.common import proto
from services.launcher import virt
from services.launcher.domxml import model as m

log = logging.getLogger(__name__)
L = proto.launcher
VCPU_STATES = {0: "offline", 1: "running", 2: "blocked"}
NS = 1e-9


def _try(what: str, fn):
    try:
        return virt.call(what, fn)
    except virt.VirtError as e:  # a driver without this statistic, or the domain went meanwhile
        log.debug("domain stats: %s", e)
        return None


def collect(dom) -> L.DomainStats:
    if dom is None or not _try("isActive", dom.isActive):
        return L.DomainStats(exists=False)
    out = L.DomainStats(exists=True)
    info = _try("info", dom.info)
    if info:
        out.cpuTimeSeconds = info[4] * NS
    cpu = _try("getCPUStats", lambda: dom.getCPUStats(True))
    if cpu:
        out.cpuTimeSeconds = cpu[0].get("cpu_time", 0) * NS or out.cpuTimeSeconds
        out.cpuUserSeconds = cpu[0].get("user_time", 0) * NS
        out.cpuSystemSeconds = cpu[0].get("system_time", 0) * NS
    vcpus = _try("vcpus", dom.vcpus)
    if vcpus:
        for number, state, cpu_time, _cpu in vcpus[0]:
            out.vcpus.add(id=number, state=VCPU_STATES.get(state, "unknown"), timeSeconds=cpu_time * NS)
    mem = _try("memoryStats", dom.memoryStats) or {}
    out.memoryResidentBytes = mem.get("rss", 0) * 1024
    out.memoryAvailableBytes = mem.get("available", 0) * 1024
    out.memoryUsableBytes = mem.get("usable", 0) * 1024
    # Without a balloon (or on the test driver) the domain's current memory still comes from info().
    out.memoryDomainBytes = mem.get("actual", info[2] if info else 0) * 1024
    live = _try("XMLDesc", lambda: m.Domain.from_xml(dom.XMLDesc(0)))
    if live is None:
        return out
    for iface in live.devices.interfaces:
        dev = iface.target_dev
        st = _try(f"interfaceStats({dev})", lambda: dom.interfaceStats(dev)) if dev else None
        if st is None:
            continue
        out.interfaces.add(name=m.parse_alias(iface.alias) or dev, rxBytes=st[0], rxPackets=st[1], rxErrors=st[2],
                           rxDrops=st[3], txBytes=st[4], txPackets=st[5], txErrors=st[6], txDrops=st[7])
    for disk in live.devices.disks:
        dev = disk.target_dev
        st = _try(f"blockStats({dev})", lambda: dom.blockStats(dev)) if dev else None
        if st is None:
            continue
        out.blocks.add(name=dev, readRequests=max(st[0], 0), readBytes=max(st[1], 0),
                       writeRequests=max(st[2], 0), writeBytes=max(st[3], 0))
    return out
