"""This node's registration: labels, capacity, the handler's address, and heartbeats
(virt-handler's heartbeat sets kubevirt.io/schedulable and kubevirt.io/heartbeat), plus the
node-labeller's labels (labeller.py) from libvirt's capabilities (hostcaps.py), re-read every
LABELLER_SECONDS and re-applied on every beat."""
from __future__ import annotations

import asyncio
import logging
import os
import platform
import time
from collections.abc import Callable

import grpc

from services.common import arch, names, proto, timeutil
from services.handler import hostcaps, labeller

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 10.0
LABELLER_SECONDS = 180.0  # KubeVirt re-runs its labeller every 3 minutes


def _memory_bytes() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class NodeMissing(Exception):
    pass


class NodeAgent:
    """`kubelet`: standalone, the handler also plays the kubelet's part — it creates the Node object and
    posts its status (capacity, Ready). On a cluster the kubelet owns both: the handler waits for the
    Node and writes only what virt-handler writes (labels and annotations)."""

    def __init__(self, api, name: str, address: str, extra_labels: dict[str, str] | None = None,
                 libvirt_uri: str | None = None, kubelet: bool = True, on_node: Callable | None = None):
        self.api, self.name, self.address = api, name, address
        self.on_node = on_node                  # called with the Node each heartbeat reads
        self.kubelet = kubelet
        self.extra_labels = extra_labels or {}
        self.libvirt_uri = libvirt_uri          # None: no node-labeller
        self.labels: labeller.Result | None = None
        self._labels_read_at = -LABELLER_SECONDS
        self._labeller_error = ""

    async def refresh_labels(self) -> None:
        """Re-read libvirt's capabilities when due; a failure keeps the last good result."""
        if self.libvirt_uri is None or time.monotonic() - self._labels_read_at < LABELLER_SECONDS:
            return
        try:
            caps = await asyncio.to_thread(hostcaps.read, self.libvirt_uri)
            self.labels = labeller.compute(caps)
            self._labels_read_at = time.monotonic()
            if self._labeller_error:
                log.info("node-labeller: capabilities readable again")
            self._labeller_error = ""
        except (hostcaps.CapsError, ValueError) as e:  # ValueError: XML we cannot parse
            if str(e) != self._labeller_error:
                log.warning("node-labeller: %s", e)
            self._labeller_error = str(e)

    def _desired(self, node) -> None:
        md = node.metadata
        md.name = self.name
        md.labels.update({
            names.HOSTNAME_LABEL: self.name,
            names.ARCH_LABEL: arch.host_arch(),
            names.OS_LABEL: "linux",
            names.SCHEDULABLE_LABEL: "true",
            **self.extra_labels,
        })
        md.annotations[names.HANDLER_ADDRESS_ANNOTATION] = self.address
        md.annotations[names.HEARTBEAT_ANNOTATION] = timeutil.now()
        if self.labels is not None:
            labeller.apply(node, self.labels)

    def _status(self, node) -> None:
        st = node.status
        cpus, mem = str(os.cpu_count() or 1), str(_memory_bytes())
        st.capacity.update({"cpu": cpus, "memory": mem})
        st.allocatable.update({"cpu": cpus, "memory": mem})
        st.nodeInfo.CopyFrom(proto.kv.NodeSystemInfo(
            architecture=arch.host_arch(), kernelVersion=platform.release(), operatingSystem="linux",
            osImage=platform.platform()))
        del st.conditions[:]
        st.conditions.add(type="Ready", status="True", reason="VirtHandlerReady",
                          message="virt-handler is posting ready status", lastProbeTime=timeutil.now())

    async def beat(self) -> None:
        await self.refresh_labels()
        node = await self.api.get_or_none(proto.NODE, "", self.name)
        if node is None and not self.kubelet:
            raise NodeMissing(f'node "{self.name}" does not exist (the kubelet registers it); waiting')
        if node is None:
            node = proto.kv.Node()
            self._desired(node)
            node = await self.api.create(node)
            log.info("registered node %s", self.name)
        else:
            if self.on_node is not None:
                self.on_node(node)
            self._desired(node)
            node = await self.api.update(node)
        if self.kubelet:
            self._status(node)
            await self.api.update_status(node)

    async def run(self, registered: asyncio.Event) -> None:
        while True:
            try:
                await self.beat()
                registered.set()
                await asyncio.sleep(HEARTBEAT_SECONDS)
            except grpc.aio.AioRpcError as e:
                log.debug("heartbeat failed (%s), retrying", e.code().name)
                await asyncio.sleep(0.5)
            except NodeMissing as e:
                log.warning("%s", e)
                await asyncio.sleep(HEARTBEAT_SECONDS / 2)
