"""Node heartbeat watchdog: a node whose handler stopped beating is no longer schedulable
(virt-controller's node controller)."""
from __future__ import annotations

import logging

from services.common import events, names, timeutil
from services.controller import scheduler

log = logging.getLogger(__name__)


class NodeController:
    def __init__(self, api, nodes):
        self.api, self.nodes = api, nodes
        self.recorder = events.recorder(api, events.NODE_CONTROLLER)

    async def reconcile(self, key: str):
        node = self.nodes.get(key)
        if node is None:
            return None
        beat = node.metadata.annotations.get(names.HEARTBEAT_ANNOTATION)
        if node.metadata.labels.get(names.SCHEDULABLE_LABEL) != "true":
            return None
        age = timeutil.age_seconds(beat) if beat else scheduler.HEARTBEAT_TIMEOUT
        if age < scheduler.HEARTBEAT_TIMEOUT:
            return scheduler.HEARTBEAT_TIMEOUT - age + 0.5  # look again when it would expire
        log.warning("node %s: no heartbeat for %.0fs, marking it unschedulable", key, age)
        out = type(node)()
        out.CopyFrom(node)
        out.metadata.labels[names.SCHEDULABLE_LABEL] = "false"
        await self.api.update(out)
        self.recorder.normal(node, events.NODE_UNRESPONSIVE,
                             "virt-handler is not responsive, marking node as unresponsive")
        return None
