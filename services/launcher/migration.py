"""Live migration in the launcher (KubeVirt's virtwrap live-migration-source.go / -target.go).

Source: `MigrateVirtualMachine` records the migration (MigrationMetadata: uid, start, mode) and runs
libvirt's peer-to-peer live migration to the target node's libvirt in the background
(virDomainMigrateToURI3, LIVE | PEER2PEER | PERSIST_DEST, as KubeVirt's generateMigrationFlags), while a
monitor reads libvirt's job statistics every MONITOR_SECONDS from FIRST_MONITOR_SECONDS on: progress for
the handler's /metrics, and KubeVirt's two timeouts — no progress for progressTimeout seconds, or not done after
completionTimeoutPerGiB x the data (GiB, rounded up) — abort the job (or, with allowWorkloadDisruption,
switch to post-copy or pause the guest). The outcome (completed, or failed with KubeVirt's reason and
abort status) goes into the metadata, which rides on every domain event to the handler.

The domain the target receives is the source's migratable XML with every path under the source
launcher's directory moved under the receiving launcher's (migrationState.targetLauncherDirectory):
the serial console's socket and log, an EFI variable store, local disks. Local (ephemeral) disks go
along (copy-storage, NON_SHARED_INC) into the files the target prepared.

Target: `SyncMigrationTarget` prepares what the incoming domain needs on this node (volumes, kernel) and
answers with this launcher's directory; libvirt creates the domain when the migration arrives, and the
launcher's domain watch reports it like any other.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import os
import time
import xml.etree.ElementTree as ET
from typing import Any, Optional

from services.common import migrations, proto, quantity, timeutil
from services.launcher import failures, storage, virt
from services.launcher.domxml import model as m

log = logging.getLogger(__name__)
LM = proto.lmigration
MONITOR_SECONDS = 0.4          # KubeVirt's monitorSleepPeriodMS
# The first reading only after this: each is a query to QEMU that competes with the job, and most migrations
# of a small guest are over sooner (a reading at 0.4 s fell on a 512 MiB guest's switchover: bench/migration.py).
# No timeout is that short, and the statistics go to the handler every STATS_SECONDS anyway.
FIRST_MONITOR_SECONDS = 1.0
# Job statistics go to the handler (its /metrics) at most this often: each publish wakes the handler, and
# a short migration is better off without that CPU on a busy node (bench/migration.py).
STATS_SECONDS = 2.0
# KubeVirt's CancelMigrationFailedVmiNotMigratingErr
NOT_MIGRATING = "failed to cancel migration - vmi is not migrating"
# libvirt's virDomainJobType
JOB_NONE, JOB_BOUNDED, JOB_UNBOUNDED, JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED = range(6)


def target_uris(address: str) -> tuple[str, str]:
    """(libvirt URI, migration data URI) of a target node at `address` (KubeVirt dials the target's
    proxies; here the node's libvirtd listens on TCP and QEMU on its migration ports)."""
    host = f"[{address}]" if ":" in address else address
    return f"qemu+tcp://{host}/system", f"tcp://{host}"


def rewrite_paths(domain_xml: str, source_dir: str, target_dir: str) -> str:
    """The domain as the target node must define it: every attribute or text naming a path under
    `source_dir` names the same path under `target_dir` (KubeVirt's updateFilePathsToNewDomain). A walk over
    the whole XML on purpose: a path may sit in any element, most of which the partial model leaves out."""
    if not target_dir or os.path.normpath(source_dir) == os.path.normpath(target_dir):
        return domain_xml
    src = os.path.normpath(source_dir)
    dst = os.path.normpath(target_dir)

    def moved(value: Optional[str]) -> Optional[str]:
        if value and (value == src or value.startswith(src + os.sep)):
            return dst + value[len(src):]
        return None

    root = ET.fromstring(domain_xml)
    for el in root.iter():
        for k, v in el.attrib.items():
            new = moved(v)
            if new is not None:
                el.set(k, new)
        new = moved(el.text.strip() if el.text else None)
        if new is not None:
            el.text = new
    return ET.tostring(root, encoding="unicode")


def data_size_gib(vmi, local_bytes: int = 0) -> int:
    """KubeVirt's getVMIMigrationDataSize: guest memory (memory.guest, else the request) plus the local
    disks copied along, in GB rounded up (resource.Quantity's ScaledValue(Giga))."""
    mem = vmi.spec.domain.memory.guest or vmi.spec.domain.resources.requests.get("memory", "0")
    total = quantity.to_bytes(mem) + local_bytes
    return math.ceil(total / 1e9) if total > 0 else 0


def bandwidth_mib(value: str) -> int:
    """bandwidthPerMigration (a quantity per second) in MiB/s, libvirt's unit; 0 = no limit."""
    if not value:
        return 0
    return quantity.to_bytes(value) // (1024 * 1024)


@dataclasses.dataclass(frozen=True)
class SourceRead:
    """What migration `uid`'s call needs from the source domain, as read at domain revision `revision`."""
    uid: str
    revision: int
    dom: Any
    migratable_xml: str
    local_disks: list[tuple[str, str]]   # (target, file) copied along
    local_bytes: int


class Migration:
    """One launcher's part in live migrations (source and target), served as LauncherMigration."""

    def __init__(self, launcher):
        self.l = launcher                   # services.launcher.server.Launcher
        self.meta = LM.MigrationMetadata()   # the last migration this domain took part in
        self.task: Optional[asyncio.Task] = None
        self._prepared: Optional[SourceRead] = None   # PrepareMigrationSource's reading, for the next call
        self._abort = asyncio.Event()
        self._stats_at = 0.0

    # ------------------------------------------------------------------ reporting

    def _publish(self) -> None:
        """The metadata goes to the handler now, with the domain as last read (Launcher.publish_migration)."""
        self.l.migration.CopyFrom(self.meta)
        self.l.publish_migration()

    def _result(self, failed: bool, reason: str = "", abort_status: str = "") -> None:
        """KubeVirt's setMigrationResult: the first result sticks; an abort in progress waits for its end."""
        m = self.meta
        if m.endTimestamp:
            return
        if failed:
            m.failed = True
            m.failureReason = reason
        else:
            m.completed = True
        m.abortStatus = abort_status
        if abort_status in ("", migrations.ABORT_SUCCEEDED):
            m.endTimestamp = timeutil.now()
        self._publish()

    # ------------------------------------------------------------------ gRPC

    async def MigrateVirtualMachine(self, request, context):
        st = request.vmi.status.migrationState
        uid = st.migrationUid
        if not uid or not st.targetNodeAddress:
            return LM.MigrationResponse(success=False, message="cannot migrate VMI until migrationState is ready")
        if self.meta.uid == uid:
            if not self.meta.endTimestamp:
                return LM.MigrationResponse(success=True, message="migration already running")
            return LM.MigrationResponse(success=False, reason=proto.reason.MIGRATION_ALREADY_RAN, message=(
                f"migration job {uid} already executed, finished at {self.meta.endTimestamp}, failed: "
                f"{str(self.meta.failed).lower()}, abortStatus: {self.meta.abortStatus}"))
        self.meta = LM.MigrationMetadata(uid=uid, startTimestamp=timeutil.now(), mode=migrations.MODE_PRE_COPY)
        self._abort.clear()
        self._stats_at = time.monotonic()   # the first statistics after STATS_SECONDS: most migrations end first
        # libvirt's job starts before anything else happens: the start's report (a write to the store, and
        # the controller's after it) and this answer then take their CPU beside the job, not before it.
        self.l.outgoing = True
        begun = None
        try:
            begun = await self._begin(request.vmi, request.options)
        finally:
            self.l.outgoing = begun is not None   # no job: nothing moves the domain away
        self._publish()
        if begun is not None:
            self.task = asyncio.create_task(self._run(request.vmi, request.options, *begun))
        return LM.MigrationResponse(success=True, message="migration started")

    async def PrepareMigrationSource(self, request, context):
        """The domain's migratable XML and local disks, read now (while the target gets ready) for the
        migration's call: kept while the domain does not change (its revision)."""
        uid = request.vmi.status.migrationState.migrationUid
        if not uid:
            return LM.MigrationResponse(success=False, message="no migration to prepare")
        try:
            self._prepared = await asyncio.to_thread(self._read_source, uid)
        except (virt.VirtError, ET.ParseError, OSError) as e:
            return failures.migration_response(e)   # the migration's call reads again, and says why
        return LM.MigrationResponse(success=True, message="source prepared")

    async def CancelVirtualMachineMigration(self, request, context):
        m = self.meta
        if m.uid != request.migrationUid or m.endTimestamp or m.failed or not m.startTimestamp:
            return LM.MigrationResponse(success=False, message=NOT_MIGRATING, reason=proto.reason.NOT_MIGRATING)
        if m.abortStatus == migrations.ABORTING:
            return LM.MigrationResponse(success=True, message="abort in progress")
        m.abortStatus = migrations.ABORTING
        self._publish()
        self._abort.set()
        try:
            await asyncio.to_thread(self._abort_job)
        except virt.VirtError as e:
            m.abortStatus = migrations.ABORT_FAILED
            self._publish()
            return failures.migration_response(e)
        return LM.MigrationResponse(success=True, message="abort requested")

    async def SyncMigrationTarget(self, request, context):
        """Prepare this node for the incoming domain: the local disks it will receive into (a container
        disk's overlay on the same image, which its handler pulled by digest), the kernel it boots from
        (checked here too), this launcher's directory."""

        vmi = request.vmi
        if vmi.metadata.uid != self.l.uid:   # (a call sent to a spare launcher the zygote gave another VMI)
            return LM.MigrationResponse(success=False, message=f"this launcher serves VMI uid {self.l.uid}, "
                                        f"not {vmi.metadata.uid}")
        try:
            await asyncio.to_thread(self._prepare_target, request)   # one thread hop: the path to libvirt's call
        except (storage.VolumeError, ValueError) as e:
            return failures.migration_response(e)
        if vmi.spec.HasField("terminationGracePeriodSeconds"):
            self.l.grace_seconds = vmi.spec.terminationGracePeriodSeconds
        self.meta = LM.MigrationMetadata(uid=vmi.status.migrationState.migrationUid)
        self._publish()

        return LM.MigrationResponse(success=True, message="target prepared", directory=self.l.vm_dir)

    def _prepare_target(self, request) -> None:
        images = dict(request.imagePaths)
        storage.prepare_volumes(request.vmi, self.l.vm_dir, dict(request.volumePaths), set(request.featureGates),
                                images, dict(request.volumeFiles))
        storage.resolve_kernel_boot(request.vmi, images, self.l.vm_dir)

    # ------------------------------------------------------------------ the source's migration

    def _abort_job(self) -> None:
        dom = self.l.hv._domain()
        if dom is None:
            raise virt.DomainNotFound(NOT_MIGRATING)
        virt.call("failed to cancel migration", dom.abortJob)

    def _read_source(self, uid: str) -> SourceRead:
        """What migration `uid`'s libvirt call needs from the running domain (one thread hop: libvirt calls)."""
        lv = virt.libvirt
        dom = self.l.hv._domain()
        if dom is None:
            raise virt.DomainNotFound(f"domain {self.l.domain_name} not found")
        migratable = virt.call("XMLDesc", dom.XMLDesc, lv.VIR_DOMAIN_XML_MIGRATABLE | lv.VIR_DOMAIN_XML_SECURE)
        local = local_disks(m.Domain.from_xml(migratable), self.l.vm_dir)   # its disks are the live ones
        return SourceRead(uid, self.l.domain.revision, dom, migratable, local,
                          sum(os.path.getsize(path) for _, path in local))

    def _params(self, vmi, options, read: SourceRead) -> tuple[str, dict, int]:
        """libvirt's migration call's URI, parameters and flags (KubeVirt's generateMigrationFlags)."""
        lv = virt.libvirt
        st = vmi.status.migrationState
        uri, data_uri = target_uris(st.targetNodeAddress)
        xml = rewrite_paths(read.migratable_xml, self.l.vm_dir, st.targetLauncherDirectory)
        params: dict[str, object] = {lv.VIR_MIGRATE_PARAM_URI: data_uri, lv.VIR_MIGRATE_PARAM_DEST_XML: xml,
                                     lv.VIR_MIGRATE_PARAM_PERSIST_XML: xml}
        bw = bandwidth_mib(options.bandwidth)
        if bw > 0:
            params[lv.VIR_MIGRATE_PARAM_BANDWIDTH] = bw
        flags = lv.VIR_MIGRATE_LIVE | lv.VIR_MIGRATE_PEER2PEER | lv.VIR_MIGRATE_PERSIST_DEST
        if read.local_disks:
            flags |= lv.VIR_MIGRATE_NON_SHARED_INC
            params[lv.VIR_MIGRATE_PARAM_MIGRATE_DISKS] = [target for target, _ in read.local_disks]
        # Shared disks outside the launcher's directory are on one file system both nodes see (libvirt 9
        # trusts only cluster file systems: its "unsafe migration" refusal does not apply here).
        flags |= lv.VIR_MIGRATE_UNSAFE
        if options.allowAutoConverge:
            flags |= lv.VIR_MIGRATE_AUTO_CONVERGE
        if options.allowPostCopy:
            flags |= lv.VIR_MIGRATE_POSTCOPY
        if self.l.domain.state == "Paused":
            flags |= lv.VIR_MIGRATE_PAUSED
        return uri, params, flags

    async def _begin(self, vmi, options):
        """libvirt's migration call, started: (the domain, the call, the local disks' bytes), or None when
        its arguments could not be had (the migration failed; the metadata says why)."""
        read, self._prepared = self._prepared, None
        try:
            if read is None or read.uid != self.meta.uid or read.revision != self.l.domain.revision:
                read = await asyncio.to_thread(self._read_source, self.meta.uid)
            uri, params, flags = self._params(vmi, options, read)
        except (virt.VirtError, ET.ParseError, OSError) as e:
            log.warning("migration %s: %s", self.meta.uid, e)
            self._result(True, f"Live migration failed {e}")
            return None
        call = asyncio.ensure_future(asyncio.to_thread(virt.call, "", read.dom.migrateToURI3, uri, params, flags))
        log.info("migrating domain %s to %s (flags %#x)", self.l.domain_name, uri, flags)
        return read.dom, call, read.local_bytes

    async def _run(self, vmi, options, dom, call, local_bytes: int) -> None:
        try:
            await self._job(vmi, options, dom, call, local_bytes)
        finally:
            self.l.outgoing = False
            self.l._wake.set()   # read again: gone (migrated), or as the job left it

    async def _job(self, vmi, options, dom, call, local_bytes: int) -> None:
        lv = virt.libvirt
        started = time.monotonic()
        acceptable = options.completionTimeoutPerGiB * data_size_gib(vmi, local_bytes)
        monitor = Monitor(options.progressTimeout, acceptable, options.allowWorkloadDisruption,
                          options.allowPostCopy)
        aborted = ""
        wait = FIRST_MONITOR_SECONDS
        while not call.done():
            await asyncio.wait([call], timeout=wait)
            wait = MONITOR_SECONDS
            if call.done():
                break
            try:
                stats = await asyncio.to_thread(virt.call, "jobStats", dom.jobStats)
            except virt.VirtError:
                continue
            self._stats(stats)
            if stats.get("type") != JOB_UNBOUNDED or self.meta.abortStatus == migrations.ABORTING:
                continue
            action = monitor.step(time.monotonic(), stats.get("data_remaining", 0))
            if action == Monitor.POST_COPY:
                await self._call_quietly(dom.migrateStartPostCopy, 0)
                self.meta.mode = migrations.MODE_POST_COPY
                self._publish()
            elif action == Monitor.PAUSE:
                await self._call_quietly(dom.suspend)
                self.meta.mode = migrations.MODE_PAUSED
                self._publish()
            elif action in (Monitor.STUCK, Monitor.TOO_LONG) and not aborted:
                if await self._call_quietly(dom.abortJob):
                    aborted = monitor.message(action, time.monotonic())
                    log.warning("migration %s: %s", self.meta.uid, aborted)
        try:
            await call
        except virt.VirtError as e:
            err = f"error encountered during MigrateToURI3 libvirt api call: {e.detail}"
            log.warning("migration %s failed: %s", self.meta.uid, err)
            if aborted:
                self._result(True, aborted, migrations.ABORT_SUCCEEDED)
            elif isinstance(e, virt.OperationAborted) or self.meta.abortStatus == migrations.ABORTING:
                self._result(True, f"Live migration failed {err}", migrations.ABORT_SUCCEEDED)
            else:
                self._result(True, f"Live migration failed {err}")
            if self.meta.mode == migrations.MODE_PAUSED and self.l.domain.state == "Paused":
                await self._call_quietly(dom.resume)   # the guest we paused to help it along runs again here
            return
        try:
            done = await asyncio.to_thread(virt.call, "jobStats", dom.jobStats, lv.VIR_DOMAIN_JOB_STATS_COMPLETED)
            self.meta.downtimeMs = int(done.get("downtime", 0))
            self.meta.timeElapsedMs = int(done.get("time_elapsed", 0))
        except virt.VirtError:
            pass
        log.info("migration %s completed in %.2f s (libvirt's job %d ms, downtime %d ms)", self.meta.uid,
                 time.monotonic() - started, self.meta.timeElapsedMs, self.meta.downtimeMs)
        # The definition libvirt leaves here (Shutoff, Migrated) goes now, and the launcher lets go of the
        # name: the VMI may come back to this node soon, and that domain is its next launcher's.
        try:
            await asyncio.to_thread(self.l.hv.undefine)
        except virt.VirtError as e:
            log.warning("undefining the migrated domain: %s", e)
        self.l.hv.released = True   # read again (_run), the domain is not ours any more: gone, for the handler
        self._result(False)

    def _stats(self, stats: dict) -> None:
        m = self.meta
        new = (stats.get("data_total", 0), stats.get("data_processed", 0), stats.get("data_remaining", 0),
               stats.get("memory_dirty_rate", 0), stats.get("memory_bps", 0))
        old = (m.dataTotalBytes, m.dataProcessedBytes, m.dataRemainingBytes, m.memDirtyRateBytes, m.memoryBps)
        if new != old:
            (m.dataTotalBytes, m.dataProcessedBytes, m.dataRemainingBytes, m.memDirtyRateBytes,
             m.memoryBps) = new
            if time.monotonic() - self._stats_at >= STATS_SECONDS:
                self._stats_at = time.monotonic()
                self._publish()

    @staticmethod
    async def _call_quietly(fn, *args) -> bool:
        try:
            await asyncio.to_thread(virt.call, getattr(fn, "__name__", ""), fn, *args)
            return True
        except virt.VirtError as e:
            log.warning("%s", e)
            return False


def local_disks(live: m.Domain, vm_dir: str) -> list[tuple[str, str]]:
    """(target, file) of the writable disks whose files live in the launcher's directory (vda, sdb …): the
    VM's own (container disk overlays, empty disks), copied along (KubeVirt's getDiskTargetsForMigration)."""
    base = os.path.normpath(vm_dir) + os.sep
    return [(d.target_dev, d.source) for d in live.devices.disks
            if d.device in ("disk", "lun") and not d.readonly and d.type == "file" and d.source
            and os.path.normpath(d.source).startswith(base) and d.target_dev]


class Monitor:
    """KubeVirt's migrationMonitor decisions, pure: fed the time and libvirt's remaining data, it says
    when the migration is stuck (no progress for progress_timeout s) or too long (past acceptable s),
    and whether the guest should then be helped along (post-copy, or paused) instead of aborted."""

    STUCK, TOO_LONG, POST_COPY, PAUSE = "stuck", "too-long", "post-copy", "pause"

    def __init__(self, progress_timeout: int, acceptable: int, allow_disruption: bool, allow_post_copy: bool,
                 start: Optional[float] = None):
        self.progress_timeout, self.acceptable = progress_timeout, acceptable
        self.allow_disruption, self.allow_post_copy = allow_disruption, allow_post_copy
        self.start = time.monotonic() if start is None else start
        self.last_progress = self.start
        self.watermark = 0
        self.assisted = False
        self.post_copy = False

    def step(self, now: float, remaining: int) -> Optional[str]:
        if self.post_copy:
            return None   # the target runs the guest now: aborting would lose it (KubeVirt tracks nothing)
        if self.watermark == 0 or remaining < self.watermark:
            self.last_progress = now
        self.watermark = remaining
        elapsed = now - self.start
        too_long = self.acceptable > 0 and elapsed > self.acceptable
        if too_long and self.allow_disruption and not self.assisted:
            self.assisted = True
            if self.allow_post_copy:
                self.post_copy = True
                return self.POST_COPY
            self.acceptable *= 2   # paused: give it the time to finish before aborting
            return self.PAUSE
        if self.progress_timeout and now - self.last_progress > self.progress_timeout:
            return self.STUCK
        if too_long:
            return self.TOO_LONG
        return None

    def message(self, action: str, now: float) -> str:
        if action == self.STUCK:
            return f"Live migration stuck for {int(now - self.last_progress)} seconds and has been aborted"
        return f"Live migration is not completed after {self.acceptable} seconds and has been aborted"
