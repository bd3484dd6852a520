"""Events: client-go's correlation (dedup with a count, aggregation, the spam filter's token bucket) on a
fake clock, and the recorder writing through a real api door into a real SQLite store (count updates,
an expired Event written again, a full queue, the apiserver's namespace rule, expiry after the TTL)."""
from __future__ import annotations

import asyncio
import time

import grpc
import pytest

from services.api import events as api_events
from services.common import client, events, proto, timeutil


class Clock:
    def __init__(self, t: float = 1_800_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def vm(name: str = "web", uid: str = "uid-1", namespace: str = "default"):
    out = proto.kv.VirtualMachine()
    out.metadata.name, out.metadata.namespace, out.metadata.uid = name, namespace, uid
    return out


def event(clock, obj=None, reason="SuccessfulCreate", message="m", type_=events.NORMAL, host=""):
    return events.make(events.reference(obj or vm()), type_, reason, message, events.VM_CONTROLLER, host, clock())


# ---------------------------------------------------------------------- the correlator (client-go's rules)

def test_a_new_event_is_named_after_its_object_and_the_time_and_counts_one():
    clock = Clock()
    ev = event(clock)
    assert ev.metadata.name == f"web.{int(clock() * 1e9):x}" and ev.metadata.namespace == "default"
    assert (ev.count, ev.firstTimestamp, ev.lastTimestamp) == (1, "2027-01-15T08:00:00Z", "2027-01-15T08:00:00Z")
    assert ev.involvedObject.kind == "VirtualMachine" and ev.involvedObject.apiVersion == "kubevirt.io/v1"
    assert ev.source.component == ev.reportingComponent == "virtualmachine-controller"
    node = proto.kv.Node()
    node.metadata.name = "node01"
    assert event(clock, node).metadata.namespace == "default"   # a cluster-scoped object's events


def test_the_same_event_again_counts_on_the_first_ones_name_and_first_timestamp():
    clock = Clock()
    c = events.Correlator(clock)
    first = c.correlate(event(clock))
    assert not first.update and not first.skip and first.event.count == 1
    c.update_state(first.event)
    clock.t += 65
    again = c.correlate(event(clock))
    assert again.update and not again.skip
    assert again.event.metadata.name == first.event.metadata.name
    assert again.event.count == 2 and again.event.firstTimestamp == first.event.firstTimestamp
    assert again.event.lastTimestamp == "2027-01-15T08:01:05Z"
    # another message, reason, type, host or object is another Event
    for other in (event(clock, message="other"), event(clock, reason="SuccessfulDelete"),
                  event(clock, type_=events.WARNING), event(clock, host="node02"), event(clock, vm(uid="uid-2"))):
        assert not c.correlate(other).update


def test_a_source_may_burst_25_events_about_an_object_then_one_every_5_minutes():
    clock = Clock()
    c = events.Correlator(clock)
    results = [c.correlate(event(clock, message=f"m{i % 3}")) for i in range(40)]
    assert [r.skip for r in results] == [False] * 25 + [True] * 15
    assert not c.correlate(event(clock, vm("other", "uid-9"))).skip   # per object
    clock.t += 299
    assert c.correlate(event(clock)).skip
    clock.t += 2   # one token refilled after 300 s
    assert not c.correlate(event(clock)).skip
    assert c.correlate(event(clock)).skip


def test_the_tenth_distinct_message_in_ten_minutes_is_combined_and_counts_on():
    clock = Clock()
    c = events.Correlator(clock, burst=1000)
    out = [c.correlate(event(clock, message=f"Error creating virtual machine instance: {i}")) for i in range(12)]
    assert not any(r.event.message.startswith(events.COMBINED_PREFIX) for r in out[:9])
    combined = out[9:]
    assert [r.event.message for r in combined] == [events.COMBINED_PREFIX + m for m in (
        "Error creating virtual machine instance: 9", "Error creating virtual machine instance: 10",
        "Error creating virtual machine instance: 11")]
    assert [r.event.count for r in combined] == [1, 2, 3] and [r.update for r in combined] == [False, True, True]
    assert len({r.event.metadata.name for r in combined}) == 1
    clock.t += 601   # the window passed: messages are their own again
    assert not c.correlate(event(clock, message="fresh")).event.message.startswith(events.COMBINED_PREFIX)


def test_phase_events_are_virt_handlers():
    assert events.phase_event("Running") == ("Normal", "Started", "VirtualMachineInstance started.")
    assert events.phase_event("Succeeded") == ("Normal", "Stopped", "The VirtualMachineInstance was shut down.")
    assert events.phase_event("Failed") == ("Warning", "Stopped", "The VirtualMachineInstance crashed.")
    assert events.phase_event("Scheduled") is None


# ---------------------------------------------------------------------- through a real api and store

def stored(api_server) -> list:
    return sorted((proto.inner(o) for o in api_server.db.list(proto.EVENT)[0]), key=lambda e: e.metadata.name)


async def test_recorded_events_land_in_the_store_deduplicated_with_a_count(api_server):
    api = client.ApiClient(api_server.target)
    b = events.attach(api, host="node01")
    rec = events.recorder(api, events.HANDLER)
    obj = vm()
    for _ in range(3):
        rec.normal(obj, events.STARTED, events.VMI_STARTED)
    rec.warning(obj, events.STOPPED, events.VMI_CRASHED)
    await b.flush()
    await asyncio.sleep(0.2)
    got = stored(api_server)
    assert [(e.reason, e.type, e.count) for e in got] == [("Started", "Normal", 3), ("Stopped", "Warning", 1)]
    assert got[0].source.host == got[0].reportingInstance == "node01" and got[0].metadata.uid
    assert b.written == 4 and b.dropped == 0
    # The Event expired (deleted) meanwhile: the next sighting creates it again, counting on.
    api_server.db.delete(api_server.db.get(proto.EVENT, "default", got[0].metadata.name))
    rec.normal(obj, events.STARTED, events.VMI_STARTED)
    await b.flush()
    await asyncio.sleep(0.2)
    again = [e for e in stored(api_server) if e.reason == "Started"]
    assert [e.count for e in again] == [4] and again[0].metadata.name == got[0].metadata.name
    await api.close()


async def test_a_hot_loop_cannot_flood_the_store(api_server):
    """1000 distinct events about one object: the spam filter lets 25 writes through (a combined Event
    counting on, past the tenth message), and the recording call itself never waits."""
    api = client.ApiClient(api_server.target)
    b = events.attach(api)
    rec = events.recorder(api, events.VM_CONTROLLER)
    obj = vm()
    started = time.perf_counter()
    for i in range(1000):
        rec.warning(obj, events.FAILED_CREATE, f"Error creating virtual machine instance: try {i}")
    assert time.perf_counter() - started < 5   # queued, not written, by the caller (no store round trip)
    await b.flush(30)
    await asyncio.sleep(0.2)
    got = stored(api_server)
    assert b.written == 25
    assert len(got) == 10   # nine plain messages and one combined Event
    combined = [e for e in got if e.message.startswith(events.COMBINED_PREFIX)]
    assert len(combined) == 1 and combined[0].count == 16
    await api.close()


async def test_a_full_queue_drops_events_and_recording_never_raises():
    class Down:   # no broadcaster task runs: nothing drains the queue
        pass
    api = Down()
    b = events.Broadcaster(api, queue_size=3)
    rec = b.recorder("virt-handler")
    for i in range(5):
        rec.normal(vm(), events.STARTED, f"{i}")
    assert len(b._queue) == 3 and b.dropped == 2
    rec.normal(object(), events.STARTED, "not an object of ours")   # logged, not raised
    events.recorder(Down(), "x").normal(vm(), events.STARTED, "no broadcaster: nothing happens")


async def test_the_api_refuses_an_event_outside_its_objects_namespace(api_server):
    ev = events.make(events.reference(vm(namespace="prod")), events.NORMAL, "Started", "m", "virt-handler", "", time.time())
    ev.metadata.namespace = "default"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(ev)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == 'involvedObject.namespace: Invalid value: "prod": does not match event.namespace'
    ev.metadata.namespace, ev.type = "prod", "Bad"
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(ev)))
    assert e.value.details() == 'type: Unsupported value: "Bad": supported values: "Normal", "Warning"'


async def test_events_expire_an_hour_after_their_last_write(api_server):
    now = time.time()
    for name, age in (("old", 3601), ("fresh", 3599)):
        ev = events.make(events.reference(vm(name)), events.NORMAL, "Started", "m", "virt-handler", "", now - age)
        await api_server.stub.Create(proto.api.CreateRequest(object=proto.wrap(ev)))
    assert api_events.collect(api_server.db, now=now) == 1
    assert [e.involvedObject.name for e in stored(api_server)] == ["fresh"]
    # a count update renews it, as a write renews the apiserver's lease
    ev = stored(api_server)[0]
    ev.lastTimestamp = timeutil.now()
    await api_server.stub.Update(proto.api.UpdateRequest(object=proto.wrap(ev)))
    assert api_events.collect(api_server.db, now=now + 10) == 0
