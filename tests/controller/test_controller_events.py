"""The controller's Events, recorded where KubeVirt's virt-controller records them (its reasons, texts
and source components), through a fake api that keeps what is written; a failing write is recorded as
a Warning and still fails the reconcile."""
from __future__ import annotations

import asyncio

import grpc
import pytest

from services.common import events, names, proto
from services.controller.node import NodeController
from services.controller.vm import VMController


class Api:
    def __init__(self, fail_create: bool = False):
        self.events: list = []
        self.fail_create = fail_create

    async def create(self, res, traceparent: str = ""):
        if isinstance(res, proto.events.Event):
            self.events.append(res)
            return res
        if self.fail_create:
            raise grpc.aio.AioRpcError(grpc.StatusCode.INVALID_ARGUMENT, grpc.aio.Metadata(), grpc.aio.Metadata(),
                                       "spec.domain.devices: Invalid value")
        return res

    async def update(self, res, traceparent: str = ""):
        return res

    async def delete(self, kind, namespace, name, uid=""):
        return None


class Cache(dict):
    def items(self):   # the informer's: the objects
        return list(self.values())


def recorded(api) -> events.Broadcaster:
    b = events.Broadcaster(api)
    setattr(api, events._ATTR, b)
    b.start()
    return b


async def written(b, api) -> list:
    await b.flush()
    await asyncio.sleep(0.05)
    return api.events


def vm():
    out = proto.kv.VirtualMachine()
    out.metadata.name, out.metadata.namespace, out.metadata.uid = "web", "default", "vm-uid"
    out.spec.runStrategy = "Always"
    return out


async def test_vm_start_and_stop_are_recorded_on_the_vm():
    api = Api()
    b = recorded(api)
    ctl = VMController(api, Cache({"default/web": vm()}), Cache())
    await ctl._start(vm(), "")
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace, vmi.metadata.uid = "web", "default", "vmi-uid"
    await ctl._stop(vmi)
    got = await written(b, api)
    assert [(e.type, e.reason, e.message) for e in got] == [
        ("Normal", "SuccessfulCreate", "Started the virtual machine by creating the new virtual machine instance web"),
        ("Normal", "SuccessfulDelete", "Stopped the virtual machine by deleting the virtual machine instance vmi-uid")]
    assert all(e.involvedObject.kind == "VirtualMachine" and e.involvedObject.uid == "vm-uid" for e in got)
    assert {e.source.component for e in got} == {"virtualmachine-controller"} and not got[0].source.host


async def test_a_failed_start_is_a_warning_and_the_reconcile_still_fails():
    api = Api(fail_create=True)
    b = recorded(api)
    ctl = VMController(api, Cache({"default/web": vm()}), Cache())
    with pytest.raises(grpc.aio.AioRpcError):
        await ctl._start(vm(), "")
    (ev,) = await written(b, api)
    assert (ev.type, ev.reason, ev.message) == (
        "Warning", "FailedCreate", "Error creating virtual machine instance: spec.domain.devices: Invalid value")


async def test_a_silent_node_is_recorded_unresponsive_on_the_node():
    api = Api()
    b = recorded(api)
    node = proto.kv.Node()
    node.metadata.name, node.metadata.uid = "node01", "node-uid"
    node.metadata.labels[names.SCHEDULABLE_LABEL] = "true"
    node.metadata.annotations[names.HEARTBEAT_ANNOTATION] = "2020-01-01T00:00:00Z"
    await NodeController(api, Cache({"node01": node})).reconcile("node01")
    (ev,) = await written(b, api)
    assert (ev.type, ev.reason, ev.message, ev.source.component) == (
        "Normal", "NodeUnresponsive", "virt-handler is not responsive, marking node as unresponsive",
        "node-controller")
    # a cluster-scoped object's Events live in "default"
    assert (ev.involvedObject.kind, ev.involvedObject.namespace, ev.metadata.namespace) == ("Node", "", "default")


async def test_without_a_broadcaster_nothing_is_recorded_and_nothing_breaks():
    api = Api()
    await VMController(api, Cache({"default/web": vm()}), Cache())._start(vm(), "")
    assert api.events == []
