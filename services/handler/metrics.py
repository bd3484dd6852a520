"""virt-handler's per-VMI domain metrics (KubeVirt's domainstats collector).

On each scrape the collector asks every launcher of this node for GetDomainStats, concurrently
and with a short deadline, on the handler's event loop (the scrape runs in the HTTP thread).
A launcher that does not answer in time is left out of that scrape, as in KubeVirt.
"""
from __future__ import annotations

import asyncio
import logging
import re

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from services.common import proto

log = logging.getLogger(__name__)
L = proto.launcher
SCRAPE_TIMEOUT = 5.0  # KubeVirt's collector gives up on a domain after 5 s too
_LABEL_CHARS = re.compile(r"[./-]")


def vmi_labels(vmi, node: str) -> tuple[list[str], list[str]]:
    """node, namespace, name and every VMI label as kubernetes_vmi_label_<label> (domainstats.go)."""
    names, values = ["node", "namespace", "name"], [node, vmi.metadata.namespace, vmi.metadata.name]
    for k, v in sorted(vmi.metadata.labels.items()):
        names.append("kubernetes_vmi_label_" + _LABEL_CHARS.sub("_", k))
        values.append(v)
    return names, values


class _Families:
    """One family per metric name; label sets differ per VMI (its labels), which Prometheus allows."""

    def __init__(self):
        self.by_name: dict[str, Metric] = {}

    def add(self, kind, name: str, help_: str, names: list[str], values: list[str], value: float) -> None:
        fam = self.by_name.get(name)
        if fam is None:
            fam = self.by_name[name] = kind(name, help_, labels=[])
        # Families take one fixed label list; samples added directly may carry per-VMI label sets.
        # (A counter family drops "_total" from its name; its samples keep it, as here.)
        fam.add_sample(name, dict(zip(names, values)), value)


def stats_families(items: list[tuple[object, L.DomainStats]], node: str) -> list:
    f = _Families()
    C, G = CounterMetricFamily, GaugeMetricFamily
    for vmi, st in items:
        if not st.exists:
            continue
        n, v = vmi_labels(vmi, node)
        f.add(C, "kubevirt_vmi_cpu_usage_seconds_total",
              "Total CPU time spent in all modes (sum of both vcpu and hypervisor usage).",
              n, v, st.cpuTimeSeconds)
        if st.cpuUserSeconds or st.cpuSystemSeconds:
            f.add(C, "kubevirt_vmi_cpu_user_usage_seconds_total", "Total CPU time spent in user mode.", n, v,
                  st.cpuUserSeconds)
            f.add(C, "kubevirt_vmi_cpu_system_usage_seconds_total", "Total CPU time spent in system mode.", n, v,
                  st.cpuSystemSeconds)
        for vc in st.vcpus:
            f.add(C, "kubevirt_vmi_vcpu_seconds_total", "Total amount of time spent in each state by each vcpu "
                  "(cpu_time excluding hypervisor time). Where `id` is the vcpu identifier and `state` can be one of "
                  "the following: [`OFFLINE`, `RUNNING`, `BLOCKED`].", n + ["id", "state"], v + [str(vc.id), vc.state],
                  vc.timeSeconds)
        for name, value, help_ in (
                ("kubevirt_vmi_memory_resident_bytes", st.memoryResidentBytes,
                 "Resident set size of the process running the domain."),
                ("kubevirt_vmi_memory_available_bytes", st.memoryAvailableBytes,
                 "Amount of usable memory as seen by the domain."),
                ("kubevirt_vmi_memory_usable_bytes", st.memoryUsableBytes,
                 "The amount of memory which can be reclaimed by balloon without pushing the guest system to swap."),
                ("kubevirt_vmi_memory_domain_bytes", st.memoryDomainBytes,
                 "The amount of memory in bytes allocated to the domain.")):
            if value:
                f.add(G, name, help_, n, v, value)
        for i in st.interfaces:
            ni, vi = n + ["interface"], v + [i.name]
            for name, value, help_ in (
                    ("kubevirt_vmi_network_receive_bytes_total", i.rxBytes, "Total network traffic received in bytes."),
                    ("kubevirt_vmi_network_transmit_bytes_total", i.txBytes,
                     "Total network traffic transmitted in bytes."),
                    ("kubevirt_vmi_network_receive_packets_total", i.rxPackets,
                     "Total network traffic received packets."),
                    ("kubevirt_vmi_network_transmit_packets_total", i.txPackets,
                     "Total network traffic transmitted packets."),
                    ("kubevirt_vmi_network_receive_errors_total", i.rxErrors, "Total network received error packets."),
                    ("kubevirt_vmi_network_transmit_errors_total", i.txErrors,
                     "Total network transmitted error packets."),
                    ("kubevirt_vmi_network_receive_packets_dropped_total", i.rxDrops,
                     "The total number of rx packets dropped on vNIC interfaces."),
                    ("kubevirt_vmi_network_transmit_packets_dropped_total", i.txDrops,
                     "The total number of tx packets dropped on vNIC interfaces.")):
                f.add(C, name, help_, ni, vi, value)
        for b in st.blocks:
            nb, vb = n + ["drive"], v + [b.name]
            for name, value, help_ in (
                    ("kubevirt_vmi_storage_read_traffic_bytes_total", b.readBytes,
                     "Total number of bytes read from storage."),
                    ("kubevirt_vmi_storage_write_traffic_bytes_total", b.writeBytes,
                     "Total number of written bytes."),
                    ("kubevirt_vmi_storage_iops_read_total", b.readRequests, "Total number of I/O read operations."),
                    ("kubevirt_vmi_storage_iops_write_total", b.writeRequests,
                     "Total number of I/O write operations.")):
                f.add(C, name, help_, nb, vb, value)
    return list(f.by_name.values())


class DomainStatsCollector(Collector):
    def __init__(self, loop: asyncio.AbstractEventLoop, vmis, launchers, node: str):
        self.loop, self.vmis, self.launchers, self.node = loop, vmis, launchers, node

    async def _scrape(self) -> list:
        pairs = []
        for vmi in self.vmis.items():
            h = self.launchers.get(vmi.metadata.uid)
            if h is not None and not h.dead and h.synced:
                pairs.append((vmi, h))

        async def one(vmi, h):
            try:
                resp = await h.stub.GetDomainStats(L.EmptyRequest(), timeout=SCRAPE_TIMEOUT)
                return vmi, resp.stats
            except Exception as e:  # noqa: BLE001 - a busy or exiting launcher misses one scrape
                log.debug("domain stats of %s/%s: %s", vmi.metadata.namespace, vmi.metadata.name, e)
                return None

        got = await asyncio.gather(*(one(v, h) for v, h in pairs))
        return [g for g in got if g is not None]

    def collect(self):
        try:
            items = asyncio.run_coroutine_threadsafe(self._scrape(), self.loop).result(SCRAPE_TIMEOUT + 1)
        except Exception as e:  # noqa: BLE001 - loop stopping, or timed out
            log.debug("domain stats scrape: %s", e)
            return []
        return stats_families(items, self.node)

    def describe(self):
        return []
