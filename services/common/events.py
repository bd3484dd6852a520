"""Kubernetes Events, recorded as client-go's legacy recorder (tools/record) records them.

A component gets a `Recorder` (`recorder(api, "virt-handler")`) and calls `normal(obj, reason, message)`
or `warning(...)` where something happens. The call never blocks and never fails: the event goes into a
bounded queue (dropped with a log line when full, as client-go's broadcaster drops) and one task per
process writes it through the api client like any other object — the api's store standalone, a core/v1
Event in the kube-apiserver in cluster mode. Before the write the `Correlator` does what client-go's
EventCorrelator does:

- dedup: the same source + involvedObject + type + reason + message again -> the existing Event's
  count + 1 and lastTimestamp (an update, client-go's patch), not a new Event;
- aggregation: the 10th distinct message for one source + object + type + reason within 10 minutes
  becomes one Event "(combined from similar events): …" that counts on;
- spam filter: a token bucket per source + object (burst 25, one more every 5 minutes), so a hot loop
  cannot flood the store.

Events expire after `TTL_SECONDS` (the kube-apiserver's --event-ttl default; standalone, the api
collects them: services/api/eventttl.py).

Reasons and messages are KubeVirt's (pkg/virt-handler/controller.go, pkg/virt-controller/watch/common,
staging/src/kubevirt.io/api/core/v1 SyncEvent), and so are the source components: virt-controller's
controllers record as "virtualmachine-controller", "node-controller", …; virt-handler as "virt-handler"
with its node as the host.
"""
from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import logging
import random
import time

import grpc

from services.common import names, proto, timeutil

log = logging.getLogger(__name__)

NORMAL, WARNING = "Normal", "Warning"
TTL_SECONDS = 3600.0            # the kube-apiserver's --event-ttl default

# Source components (KubeVirt's recorder names).
VM_CONTROLLER = "virtualmachine-controller"   # virt-controller's VM, VMI and migration controllers
NODE_CONTROLLER = "node-controller"
EVACUATION_CONTROLLER = "evacuation-controller"
HANDLER = "virt-handler"

# Reasons: virt-controller's (pkg/virt-controller/watch/common/events.go, pkg/controller/controller.go).
SUCCESSFUL_CREATE, FAILED_CREATE = "SuccessfulCreate", "FailedCreate"
SUCCESSFUL_DELETE, FAILED_DELETE = "SuccessfulDelete", "FailedDelete"
SUCCESSFUL_MIGRATION, FAILED_MIGRATION = "SuccessfulMigration", "FailedMigration"
NODE_UNRESPONSIVE = "NodeUnresponsive"
# virt-handler's (KubeVirt's SyncEvent values).
CREATED, DELETED, STARTED, SHUTTING_DOWN, STOPPED = "Created", "Deleted", "Started", "ShuttingDown", "Stopped"
PREPARING_TARGET, MIGRATING, MIGRATED, SYNC_FAILED = "PreparingTarget", "Migrating", "Migrated", "SyncFailed"
PAUSED, UNPAUSED = "Paused", "Unpaused"

# virt-handler's messages (pkg/virt-handler/controller.go).
VMI_DEFINED = "VirtualMachineInstance defined."
VMI_STARTED = "VirtualMachineInstance started."
VMI_SHUTDOWN = "The VirtualMachineInstance was shut down."
VMI_CRASHED = "The VirtualMachineInstance crashed."
VMI_MIGRATING = "VirtualMachineInstance is migrating."
VMI_ABORTING_MIGRATION = "VirtualMachineInstance is aborting migration."
VMI_TARGET_PREPARED = "VirtualMachineInstance Migration Target Prepared."
VMI_STOPPING = "VirtualMachineInstance stopping"
VMI_GRACEFUL_SHUTDOWN = "Signaled Graceful Shutdown"
VMI_SIGNAL_DELETION = "Signaled Deletion"
# What virt-handler's lifecycle REST handlers record once the launcher did it (pkg/virt-handler/rest/lifecycle.go),
# by the launcher call that does it.
LIFECYCLE = {"PauseVirtualMachine": (PAUSED, "VirtualMachineInstance paused"),
             "UnpauseVirtualMachine": (UNPAUSED, "VirtualMachineInstance unpaused"),
             "SoftRebootVirtualMachine": ("SoftRebooted", "VirtualMachineInstance soft rebooted")}

# client-go's EventCorrelator defaults (tools/record/events_cache.go) and broadcaster's queue.
LRU_ENTRIES = 4096
AGGREGATE_MAX_EVENTS = 10
AGGREGATE_SECONDS = 600.0
SPAM_BURST = 25
SPAM_QPS = 1.0 / 300.0
QUEUE_SIZE = 1000
MAX_TRIES = 12                  # client-go's maxTriesPerEvent
RETRY_SECONDS = 10.0            # client-go's defaultSleepDuration
COMBINED_PREFIX = "(combined from similar events): "


def phase_event(phase: str) -> tuple[str, str, str] | None:
    """(type, reason, message) virt-handler records when a VMI enters `phase` (recordPhaseChangeEvent)."""
    return {"Running": (NORMAL, STARTED, VMI_STARTED),
            "Succeeded": (NORMAL, STOPPED, VMI_SHUTDOWN),
            "Failed": (WARNING, STOPPED, VMI_CRASHED)}.get(phase)


# ---------------------------------------------------------------------- the event itself

def reference(res) -> proto.events.ObjectReference:
    """An ObjectReference to a stored object (client-go's GetReference)."""
    info = proto.KINDS[proto.KIND_BY_NAME[res.DESCRIPTOR.name]]
    md = res.metadata
    return proto.events.ObjectReference(kind=info.kind, namespace=md.namespace, name=md.name, uid=md.uid,
                                        apiVersion=info.api_version, resourceVersion=md.resourceVersion)


def _stamp(t: float) -> str:
    return timeutil.format_time(dt.datetime.fromtimestamp(t, dt.timezone.utc))


def make(ref: proto.events.ObjectReference, type_: str, reason: str, message: str, component: str, host: str,
         now: float) -> proto.events.Event:
    """A new Event as client-go's makeEvent: named `<object>.<unix nanoseconds in hex>`, in the object's
    namespace ("default" for a cluster-scoped one), count 1, first = last timestamp."""
    ev = proto.events.Event(apiVersion="v1", kind="Event", involvedObject=ref, reason=reason, message=message,
                            type=type_, count=1, firstTimestamp=_stamp(now), lastTimestamp=_stamp(now),
                            source=proto.events.EventSource(component=component, host=host),
                            reportingComponent=component, reportingInstance=host)
    ev.metadata.name = f"{ref.name}.{int(now * 1e9):x}"
    ev.metadata.namespace = ref.namespace or names.DEFAULT_NAMESPACE
    return ev


def _key(ev, message: bool = True) -> tuple:
    o, s = ev.involvedObject, ev.source
    key = (s.component, s.host, o.kind, o.namespace, o.name, o.uid, o.apiVersion)
    return key + (o.fieldPath, ev.type, ev.reason, ev.message) if message else key


# ---------------------------------------------------------------------- the correlator

class _LRU(collections.OrderedDict):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def get(self, key, default=None):
        if key in self:
            self.move_to_end(key)
            return self[key]
        return default

    def put(self, key, value) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)


@dataclasses.dataclass
class _Bucket:
    tokens: float
    at: float


@dataclasses.dataclass
class _Seen:
    count: int
    first: str
    name: str
    resource_version: str


@dataclasses.dataclass
class Result:
    event: proto.events.Event
    update: bool          # an Event of this name exists: write count/lastTimestamp/message onto it
    skip: bool            # the spam filter said no


class Correlator:
    """client-go's EventCorrelator: aggregate, then dedup (count), then the spam filter's token bucket."""

    def __init__(self, clock=time.time, burst: int = SPAM_BURST, qps: float = SPAM_QPS,
                 max_events: int = AGGREGATE_MAX_EVENTS, interval: float = AGGREGATE_SECONDS,
                 lru: int = LRU_ENTRIES):
        self.clock, self.burst, self.qps = clock, burst, qps
        self.max_events, self.interval = max_events, interval
        self._buckets, self._groups, self._seen = _LRU(lru), _LRU(lru), _LRU(lru)

    def _aggregate(self, ev, now: float):
        """The event to write and its dedup key: past max_events distinct messages for one source +
        object + type + reason within the interval, one combined Event that counts on."""
        group = _key(ev, message=False) + (ev.type, ev.reason, ev.reportingComponent, ev.reportingInstance)
        messages, last = self._groups.get(group, (None, 0.0))
        if messages is None or now - last > self.interval:
            messages = set()
        messages.add(ev.message)
        self._groups.put(group, (messages, now))
        if len(messages) < self.max_events:
            return ev, _key(ev)
        messages.pop()   # the set stays at its bound
        combined = make(ev.involvedObject, ev.type, ev.reason, COMBINED_PREFIX + ev.message, ev.source.component,
                        ev.source.host, now)
        return combined, group

    def _allow(self, ev, now: float) -> bool:
        key = _key(ev, message=False)
        b = self._buckets.get(key) or _Bucket(float(self.burst), now)
        b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.qps)
        b.at = now
        self._buckets.put(key, b)
        if b.tokens < 1.0:
            return False
        b.tokens -= 1.0
        return True

    def correlate(self, ev: proto.events.Event) -> Result:
        now = self.clock()
        ev, key = self._aggregate(ev, now)
        out = proto.copy(ev)
        seen = self._seen.get(key)
        if seen is not None:
            out.metadata.name = seen.name
            out.metadata.resourceVersion = seen.resource_version
            out.firstTimestamp = seen.first
            out.count = seen.count + 1
        self._seen.put(key, _Seen(out.count, out.firstTimestamp, out.metadata.name, out.metadata.resourceVersion))
        return Result(out, seen is not None, not self._allow(out, now))

    def update_state(self, ev: proto.events.Event, key: tuple | None = None) -> None:
        """What the server answered (its name, resourceVersion and count) for the next dedup."""
        k = key or _key(ev)
        if ev.message.startswith(COMBINED_PREFIX):
            k = _key(ev, message=False) + (ev.type, ev.reason, ev.reportingComponent, ev.reportingInstance)
        self._seen.put(k, _Seen(ev.count, ev.firstTimestamp, ev.metadata.name, ev.metadata.resourceVersion))


# ---------------------------------------------------------------------- recording

_PERMANENT = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.ALREADY_EXISTS,
              grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED)


class Broadcaster:
    """The process's event writer: a bounded queue and one task that correlates and writes (client-go's
    Broadcaster + recordToSink). `api` is the service's ApiClient or KubeApiClient."""

    def __init__(self, api, host: str = "", clock=time.time, queue_size: int = QUEUE_SIZE,
                 correlator: Correlator | None = None, retry_seconds: float = RETRY_SECONDS):
        self.api, self.host, self.clock = api, host, clock
        self.correlator = correlator or Correlator(clock)
        self.retry_seconds = retry_seconds
        self._queue: collections.deque = collections.deque()
        self._size = queue_size
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0
        self.written = 0
        self._writing = False   # an event taken off the queue is being written

    def recorder(self, component: str) -> "Recorder":
        return Recorder(self, component)

    def put(self, ev: proto.events.Event) -> None:
        """Queue `ev` for writing; never blocks (a full queue drops it, as client-go does)."""
        if len(self._queue) >= self._size:
            self.dropped += 1
            log.error("event queue full (%d): dropped %s %s on %s/%s", self._size, ev.reason, ev.type,
                      ev.involvedObject.kind, ev.involvedObject.name)
            return
        self._queue.append(ev)
        if self._wake is not None and self._loop is not None:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is self._loop:
                self._wake.set()
            else:   # recorded from another thread
                self._loop.call_soon_threadsafe(self._wake.set)

    def start(self) -> asyncio.Task:
        loop = self._loop = asyncio.get_running_loop()
        wake = self._wake = asyncio.Event()
        return loop.create_task(self.run(wake), name="events")

    async def run(self, wake: asyncio.Event) -> None:
        while True:
            while self._queue:
                self._writing = True
                try:
                    await self._record(self._queue.popleft())
                finally:
                    self._writing = False
            wake.clear()
            if not self._queue:
                await wake.wait()

    async def _record(self, ev: proto.events.Event) -> None:
        result = self.correlator.correlate(ev)
        if result.skip:
            log.debug("event %s on %s/%s rate-limited", ev.reason, ev.involvedObject.kind, ev.involvedObject.name)
            return
        for attempt in range(MAX_TRIES):
            try:
                written = await self._write(result)
            except grpc.aio.AioRpcError as e:
                if e.code() in _PERMANENT:
                    log.error("event %s on %s %s/%s refused: %s", ev.reason, ev.involvedObject.kind,
                              ev.involvedObject.namespace, ev.involvedObject.name, e.details())
                    return
                log.warning("writing event %s (try %d of %d): %s", ev.reason, attempt + 1, MAX_TRIES, e.details())
            except Exception as e:  # noqa: BLE001 - a recording never takes the service down
                log.error("writing event %s: %s", ev.reason, e)
                return
            else:
                self.written += 1
                self.correlator.update_state(written)
                return
            # client-go sleeps a randomised first interval, then the full one
            await asyncio.sleep(self.retry_seconds * (random.random() if attempt == 0 else 1.0))
        log.error("event %s on %s/%s: gave up after %d tries", ev.reason, ev.involvedObject.kind,
                  ev.involvedObject.name, MAX_TRIES)

    async def _write(self, result: Result) -> proto.events.Event:
        ev = result.event
        if result.update:
            try:
                return await self._update(ev)
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:   # gone (expired): create it again, as client-go
                    raise
        new = proto.copy(ev)
        new.metadata.resourceVersion = ""
        return await self.api.create(new)

    async def _update(self, ev: proto.events.Event) -> proto.events.Event:
        kube = getattr(self.api, "kube", None)
        if kube is not None:   # the kube-apiserver: a merge patch of what changed (client-go patches)
            patch = {"count": ev.count, "lastTimestamp": ev.lastTimestamp, "message": ev.message}
            obj = await asyncio.to_thread(kube.patch_merge, proto.EVENT, ev.metadata.namespace, ev.metadata.name,
                                          patch)
            return proto.inner(obj)
        out = proto.copy(ev)
        out.metadata.resourceVersion = ""   # no precondition: the count is ours alone
        return await self.api.update(out)

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every queued event is written (or given up on), at most `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while (self._queue or self._writing) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)


class Recorder:
    """client-go's EventRecorder for one source component."""

    def __init__(self, broadcaster: Broadcaster | None, component: str):
        self.broadcaster, self.component = broadcaster, component

    def event(self, obj, type_: str, reason: str, message: str) -> None:
        """Record `reason`/`message` on `obj` (a VM, VMI, Node, migration … message). Never raises."""
        b = self.broadcaster
        if b is None:
            return
        try:
            ev = make(reference(obj), type_, reason, message, self.component, b.host, b.clock())
            b.put(ev)
        except Exception as e:  # noqa: BLE001 - recording must never fail what records it
            log.error("recording event %s: %s", reason, e)

    def normal(self, obj, reason: str, message: str) -> None:
        self.event(obj, NORMAL, reason, message)

    def warning(self, obj, reason: str, message: str) -> None:
        self.event(obj, WARNING, reason, message)


_ATTR = "_event_broadcaster"


def attach(api, host: str = "") -> Broadcaster:
    """Give the service's api client its broadcaster and start writing (call in the event loop)."""
    b = Broadcaster(api, host)
    setattr(api, _ATTR, b)
    b.start()
    return b


def recorder(api, component: str) -> Recorder:
    """The recorder of `component` on `api`'s broadcaster, looked up when an event is recorded (a client
    without one — a unit test's fake — records nothing)."""
    return _LazyRecorder(api, component)


class _LazyRecorder(Recorder):
    def __init__(self, api, component: str):
        super().__init__(None, component)
        self.api = api

    def event(self, obj, type_: str, reason: str, message: str) -> None:
        self.broadcaster = getattr(self.api, _ATTR, None)
        super().event(obj, type_, reason, message)


async def flush(api, timeout: float = 5.0) -> None:
    """Let the queued events of `api`'s broadcaster be written (a stopping service's last ones)."""
    b = getattr(api, _ATTR, None)
    if b is not None:
        await b.flush(timeout)
