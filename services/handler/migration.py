"""The node's side of live migration (virt-handler's MigrationSourceController and
MigrationTargetController, and the LiveMigratable condition of its VirtualMachineController).

Source (the VMI's node; called from VMIController for its VMIs): once the target has published its
address, the VMI's launcher runs the migration (LauncherMigration.MigrateVirtualMachine with the options
of migrationState.migrationConfiguration); an abort request cancels libvirt's job; what the launcher
reports (start, mode, failure with its reason and abort status) goes into the VMI's migrationState.
A domain that left (Shutoff, Migrated) keeps the VMI's phase: the target owns it from then on.

Target (a node started with a migration address; its own informer over every VMI, acting on those
labelled kubevirt.io/migrationTargetNodeName=<this node>): pulls the VMI's registry images by the digests its
node resolved (status.containerImageIDs; a failed pull fails the migration with its reason, as the
kubelet's would keep the target pod from starting), starts a receiving launcher for the VMI
(targetPod: Scheduled), prepares it (SyncMigrationTarget) and publishes targetNodeAddress with the
launcher's directory (TargetReady), reports the domain's arrival (targetNodeDomainDetected) and, once it
runs here, moves the VMI (status.nodeName, completed, endTimestamp: KubeVirt's ackMigrationCompletion)
and drops the label. A migration that failed or was taken over leaves nothing here: the receiving
launcher (and any half-arrived domain) goes. A receiving launcher that dies mid-way asks the source to
abort (KubeVirt fails a migration whose target pod went down), and a new launcher watches the domain.
"""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

import grpc

from services.common import informer, kvconfig, migrations, network, paths, proto, timeutil, vmstate, workqueue
from services.common import events
from services.common import images as refs
from services.common import volumes
from services.common.volumes import claim_name
from services.handler import configvolumes
from services.handler.images import ImagePulls

log = logging.getLogger(__name__)
LM = proto.lmigration
# Volumes whose disks are files in the launcher's directory: libvirt copies them along (block migration).
BLOCK_MIGRATED = ("containerDisk", "emptyDisk", *volumes.CLOUD_INIT_SOURCES, *volumes.CONFIG_SOURCES)
LAUNCHER_READY_TIMEOUT = 60.0
TARGET_LAUNCHER_EXITED = "the receiving virt-launcher on the target node exited during the migration"
DETECTED_REPORT_SECONDS = 3.0   # an arriving domain is reported alone only once it has been arriving this long
START_REPORT_SECONDS = 1.0      # a migration's start is reported alone only once it has been running this long
# The zygote's next spare after a receiving launcher: once a small guest's job is over (0.3-0.5 s here). Its
# making (a fork, a gRPC server, a libvirt connection: ~15 ms of CPU) and the handler's dial of it slowed the
# job even at idle priority: these machines give two busy vCPUs ~0.7 of a host CPU each, so CPU the guest
# sees idle is not free (bench/migration.py: the mesh's in-job CPU 30 -> 0 ms in the handler and the spare).
SPARE_AFTER_TARGET = 1.0


# ------------------------------------------------------------------------------ LiveMigratable

def _non_shared_pvc(claim: str) -> str:
    return (f"cannot migrate VMI: PVC {claim} is not shared, live migration requires that all PVCs must be "
            f"shared (using ReadWriteMany access mode)")


def migratable(vmi) -> tuple[str, str, str]:
    """(reason, message, method) for the LiveMigratable condition (KubeVirt's
    calculateLiveMigrationCondition): reason "" means migratable; method is BlockMigration when local
    disks (container disks, empty disks, cloud-init, ConfigMap and Secret disks) go along, else
    LiveMigration. Interfaces are judged first, volumes last, as in KubeVirt."""
    ifaces = {i.name: i for i in vmi.spec.domain.devices.interfaces}
    for net in vmi.spec.networks:
        iface = ifaces.get(net.name)
        if iface is None or network.binding(iface) != "bridge" or iface.state == "absent":
            continue
        if network.is_default_network(net) and migrations.ALLOW_POD_BRIDGE_ANNOTATION not in vmi.metadata.annotations:
            return (migrations.REASON_INTERFACE,
                    "cannot migrate VMI which does not use masquerade, bridge with "
                    f"{migrations.ALLOW_POD_BRIDGE_ANNOTATION} VM annotation or a migratable plugin to connect "
                    "to the pod network", "")
        # Virtmesh: a bridge binding is a tap on a node bridge, which the target has no twin of.
        return (migrations.REASON_INTERFACE,
                f"cannot migrate VMI: interface {iface.name} is bound to a tap on this node's bridge", "")
    statuses = {s.name: s for s in vmi.status.volumeStatus}
    readonly = {d.name for d in vmi.spec.domain.devices.disks
                if d.HasField("cdrom") and (not d.cdrom.HasField("readonly") or d.cdrom.readonly)}
    block = False
    for vol in vmi.spec.volumes:
        claim = claim_name(vol)
        if claim is not None:
            st = statuses.get(vol.name)
            if st is None or not st.HasField("persistentVolumeClaimInfo"):
                return (migrations.REASON_DISKS,
                        f"cannot migrate VMI: Unable to determine if PVC {claim} is shared, live migration "
                        f"requires that all PVCs must be shared (using ReadWriteMany access mode)", "")
            if "ReadWriteMany" not in st.persistentVolumeClaimInfo.accessModes:
                return migrations.REASON_DISKS, _non_shared_pvc(claim), ""
            # Virtmesh's claims are files on the node that provisioned them, whatever the access mode.
            return (migrations.REASON_DISKS, f"cannot migrate VMI: PVC {claim} is a node-local image: this mesh "
                    f"has no shared storage", "")
        if vol.HasField("hostDisk"):
            if not (vol.hostDisk.HasField("shared") and vol.hostDisk.shared):
                return migrations.REASON_DISKS, "cannot migrate VMI with non-shared HostDisk", ""
            continue
        if vol.name in readonly:
            continue
        if any(vol.HasField(k) for k in BLOCK_MIGRATED):
            block = True
    return "", "", migrations.BLOCK_MIGRATION if block else migrations.LIVE_MIGRATION


def set_live_migratable(out) -> None:
    """The VMI's LiveMigratable condition and migrationMethod (on `out`, a status being written)."""
    reason, message, method = migratable(out)
    if reason:
        vmstate.set_condition(out, migrations.LIVE_MIGRATABLE, "False", reason, message)
    else:
        vmstate.set_condition(out, migrations.LIVE_MIGRATABLE, "True")
        out.status.migrationMethod = method


def options_of(config) -> LM.MigrationOptions:
    """migrationState.migrationConfiguration -> the launcher's options (KubeVirt's migrateVMI)."""
    disruption = config.allowWorkloadDisruption if config.HasField("allowWorkloadDisruption") \
        else config.allowPostCopy
    return LM.MigrationOptions(bandwidth=config.bandwidthPerMigration, progressTimeout=config.progressTimeout,
                               completionTimeoutPerGiB=config.completionTimeoutPerGiB,
                               unsafeMigration=config.unsafeMigrationOverride,
                               allowAutoConverge=config.allowAutoConverge, allowPostCopy=config.allowPostCopy,
                               allowWorkloadDisruption=disruption)


def lstub(h):
    """The launcher's LauncherMigration service, on the channel the handler already has to it."""
    stub = h.extra.get("migration_stub")
    if stub is None:
        stub = h.extra["migration_stub"] = proto.lmigration_grpc.LauncherMigrationStub(h.channel)
    return stub


def domain_left(dom) -> bool:
    """The source domain after a successful migration: Shutoff (Migrated), or gone once its launcher let
    go of it (its migration completed)."""
    if dom is None:
        return False
    if dom.exists:
        return dom.state == "Shutoff" and dom.reason == "Migrated"
    return dom.migration.completed


def _active(dom) -> bool:
    """KubeVirt's domainIsActiveOnTarget: running, or paused by the user."""
    return dom is not None and dom.exists and (dom.state == "Running" or (
        dom.state == "Paused" and dom.reason == "User"))


RECEIVING_FILE = "receiving"   # in the VM's directory: the migration uid its launcher receives for


class Receiving(dict):
    """VMI uid -> the migration uid its receiving launcher is for, also written into the VM's directory: a
    handler started again (after kill -9) knows which of the launchers it finds are receiving, which the
    orphan sweep would otherwise take for launchers without a VMI here."""

    def __init__(self, data):
        super().__init__()
        self.data = data

    def __setitem__(self, uid: str, migration_uid: str) -> None:
        if self.get(uid) != migration_uid:
            path = os.path.join(paths.private_dir(self.data.vm_dir(uid)), RECEIVING_FILE)
            with open(path + ".tmp", "w") as f:
                f.write(migration_uid)
            os.replace(path + ".tmp", path)
        super().__setitem__(uid, migration_uid)

    def pop(self, uid: str, default=None):
        try:
            os.unlink(os.path.join(self.data.vm_dir(uid), RECEIVING_FILE))
        except (FileNotFoundError, ValueError):
            pass
        return super().pop(uid, default)

    def restore(self, uids) -> None:
        """After discovering the launchers still running: those that were receiving."""
        for uid in uids:
            try:
                with open(os.path.join(self.data.vm_dir(uid), RECEIVING_FILE)) as f:
                    super().__setitem__(uid, f.read().strip())
            except (FileNotFoundError, ValueError):
                pass


class Migrations:
    feature_gates = staticmethod(lambda: kvconfig.ClusterConfig().gates())   # the handler's: the KubeVirt object's
    images: ImagePulls | None = None   # the node's (None with launcher pods: their kubelet pulls)

    def __init__(self, api, launchers, node: str, address: str = ""):
        self.api, self.launchers, self.node, self.address = api, launchers, node, address
        self.vmis: informer.Informer | None = None   # the VMIs migrating here (with an address only)
        self.queue: workqueue.WorkQueue | None = None
        self.receiving = Receiving(launchers.data)   # VMI uid -> the migration its receiving launcher is for
        self.keys: dict[str, str] = {}         # VMI key -> uid, of the VMIs labelled for this node
        self._spawned_again: set[str] = set()  # migration uids whose dead receiving launcher we replaced
        self.left: dict[str, str] = {}         # VMI uid -> the migration that took its domain away from here
        self._detected_at: dict[str, float] = {}   # migration uid -> when its domain was first seen arriving here
        self._arrived_at: dict[str, str] = {}      # the same, on the wall clock (the start the target reports)
        self._started_at: dict[str, float] = {}    # migration uid -> when its start was first seen (the source)
        self._pulls: dict[str, asyncio.Task] = {}   # migration uid -> pulling its VMI's images here
        self.recorder = events.recorder(api, events.HANDLER)

    # ------------------------------------------------------------------ wiring (handler __main__)

    def target_informer(self):
        """The informer and queue of the target side (nothing without a migration address)."""
        if not self.address:
            return None
        # Only the VMIs whose migration targets this node (KubeVirt's target informer), not every VMI
        # of the cluster on every node: one that stops being a target leaves the cache (DELETED).
        self.vmis = self.api.informer(proto.VMI, self._on_vmi,
                                      labels={migrations.MIGRATION_TARGET_NODE_LABEL: self.node})
        self.queue = workqueue.WorkQueue("handler-migration-target", self.reconcile_target, workers=4)
        return self.vmis

    def _on_vmi(self, key: str) -> None:
        assert self.vmis is not None and self.queue is not None, "target_informer() made both, and hooked this"
        vmi = self.vmis.get(key)
        if vmi is not None and migrations.is_target(vmi, self.node):
            self.keys[key] = vmi.metadata.uid
            self.queue.add(key)
        elif key in self.keys:
            self.queue.add(key)

    def on_launcher(self, uid: str) -> None:
        """A launcher's domain changed: a receiving one's VMI is looked at again."""
        if uid in self.receiving and self.queue is not None:
            for key, u in self.keys.items():
                if u == uid:
                    self.queue.add(key)

    def departed(self, vmi) -> bool:
        """The VMI's domain migrated away from this node and its launcher is gone: until the target
        acks, the VMI is nobody's here (its node's controller must not take the missing launcher for
        a crash)."""
        st = migrations.state_of(vmi)
        return st is not None and self.left.get(vmi.metadata.uid) == st.migrationUid and st.sourceNode == self.node

    async def source_left(self, vmi, h) -> None:
        """The domain left (its migration completed): its launcher goes now, as a source pod completes —
        the VMI may come back here soon, and the next launcher of its uid must be a new one."""
        st = migrations.state_of(vmi)
        if st is None or self.left.get(vmi.metadata.uid) == st.migrationUid:
            return
        self.left[vmi.metadata.uid] = st.migrationUid
        self._started_at.pop(st.migrationUid, None)
        log.info("VMI %s/%s: its domain left for node %s; the launcher goes", vmi.metadata.namespace,
                 vmi.metadata.name, st.targetNode)
        await self.launchers.stop(h)

    def protected_uids(self) -> set[str]:
        """Launchers the orphan sweep must leave alone: they receive VMIs not (yet) on this node."""
        return set(self.receiving)

    # ------------------------------------------------------------------ source (VMIController calls)

    async def source_sync(self, vmi, h, tp: str = "") -> tuple[Any, float | None]:
        """A pass over a VMI of this node while it migrates away: report what the launcher saw, then
        start or cancel. Returns the VMI as it now is (written when the state changed) and when to look
        again (None: when something changes)."""
        st = migrations.state_of(vmi)
        if st is None or not st.migrationUid or st.sourceNode != self.node or st.completed \
                or (st.failed and st.endTimestamp) or h is None or h.domain is None:
            return vmi, None
        meta = h.domain.migration if h.domain.migration.uid == st.migrationUid else None
        out = proto.copy(vmi)
        s = out.status.migrationState
        if meta is not None and meta.startTimestamp:
            s.startTimestamp = s.startTimestamp or meta.startTimestamp
            s.mode = meta.mode or s.mode
            s.abortStatus = meta.abortStatus
            if meta.failed:   # KubeVirt's setMigrationProgressStatus
                s.failed = True
                s.endTimestamp = meta.endTimestamp or s.endTimestamp
                s.failureReason = s.failureReason or meta.failureReason
            elif meta.abortStatus == migrations.ABORT_SUCCEEDED:
                s.endTimestamp = meta.endTimestamp or s.endTimestamp
        elif st.abortRequested:
            # Cancelled before it started here: nothing to abort, it ends now.
            s.failed, s.abortStatus = True, migrations.ABORT_SUCCEEDED
            s.endTimestamp = s.endTimestamp or timeutil.now()
            s.failureReason = s.failureReason or "Live migration aborted before it started"
        if out.status != vmi.status:
            again = self._start_report_delay(st, meta)
            if again > 0:
                return vmi, again
            vmi = await self.api.update_status(out, tp)
            st = vmi.status.migrationState
            if st.failed:
                log.warning("VMI %s/%s: migration %s failed: %s", vmi.metadata.namespace, vmi.metadata.name,
                            st.migrationUid, st.failureReason)
                self.recorder.warning(vmi, events.MIGRATED, f"VirtualMachineInstance migration uid {st.migrationUid} "
                                      f"failed. reason:{st.failureReason}")
        if st.failed or domain_left(h.domain):
            return vmi, None
        if st.abortRequested:
            if meta is not None and meta.startTimestamp and not meta.endTimestamp \
                    and meta.abortStatus not in (migrations.ABORTING, migrations.ABORT_SUCCEEDED):
                resp = await lstub(h).CancelVirtualMachineMigration(
                    LM.CancelMigrationRequest(migrationUid=st.migrationUid), timeout=30)
                log.info("VMI %s/%s: cancelling migration %s: %s", vmi.metadata.namespace, vmi.metadata.name,
                         st.migrationUid, resp.message)
                self.recorder.normal(vmi, events.MIGRATING, events.VMI_ABORTING_MIGRATION)
            return vmi, None
        if st.targetNodeAddress and meta is None and h.domain.exists and h.domain.state in ("Running", "Paused"):
            resp = await lstub(h).MigrateVirtualMachine(LM.MigrateVirtualMachineRequest(
                vmi=vmi, options=options_of(st.migrationConfiguration)), timeout=30)
            if not resp.success:
                raise RuntimeError(f"migrating VMI {proto.key(vmi)}: {resp.message}")
            log.info("VMI %s/%s: migration %s to node %s (%s)", vmi.metadata.namespace, vmi.metadata.name,
                     st.migrationUid, st.targetNode, st.targetNodeAddress)
            self.recorder.normal(vmi, events.MIGRATING, events.VMI_MIGRATING)
        elif not st.targetNodeAddress and meta is None and h.extra.get("prepared_for") != st.migrationUid \
                and h.domain.exists and h.domain.state in ("Running", "Paused"):
            await self._prepare_source(vmi, h)
        return vmi, None

    async def _prepare_source(self, vmi, h) -> None:
        """While the target gets ready, the launcher reads what the migration's call needs (its domain's
        migratable XML and local disks): ~3 ms less between the target's readiness and libvirt's call.
        Once per migration; on failure the call reads them itself."""
        h.extra["prepared_for"] = vmi.status.migrationState.migrationUid
        try:
            resp = await lstub(h).PrepareMigrationSource(LM.MigrateVirtualMachineRequest(vmi=vmi), timeout=10)
        except grpc.aio.AioRpcError as e:
            log.debug("VMI %s: preparing the migration's source: %s", proto.key(vmi), e.details())
            return
        if not resp.success:
            log.debug("VMI %s: preparing the migration's source: %s", proto.key(vmi), resp.message)

    def _start_report_delay(self, st, meta) -> float:
        """How long the launcher's report that the migration started may still wait (<= 0: write it now).
        Alone, a start is written only once the migration has run START_REPORT_SECONDS: most end first, and
        then the target's acknowledgement says it all, while a write now would wake every service just as
        libvirt's job needs the CPU. Anything else (a failure, an abort, post-copy) is written at once."""
        alone = meta is not None and not (meta.failed or meta.endTimestamp or meta.abortStatus) \
            and meta.mode == migrations.MODE_PRE_COPY and not st.startTimestamp and not st.abortRequested
        if not alone:
            self._started_at.pop(st.migrationUid, None)
            return 0.0
        return _held(self._started_at, st.migrationUid, START_REPORT_SECONDS)

    # ------------------------------------------------------------------ target

    async def reconcile_target(self, key: str):
        assert self.vmis is not None, "target_informer() made it, with the queue that calls this"
        vmi = self.vmis.get(key)
        if vmi is None or vmi.metadata.uid != self.keys.get(key, vmi.metadata.uid):
            uid = self.keys.pop(key, None)
            if uid is not None:
                await self._release(uid)
            if vmi is None:
                return None
        uid = vmi.metadata.uid
        st = migrations.state_of(vmi)
        if vmi.status.nodeName == self.node:
            # Ours now: the node's VMIController owns the VMI and its launcher. Forgotten here before the
            # label goes, or the VMI leaving this informer would release the launcher it now runs on.
            self.receiving.pop(uid, None)
            self.keys.pop(key, None)
            await self._unlabel(vmi)
            return None
        mine = migrations.is_target(vmi, self.node) and st is not None and bool(st.migrationUid) \
            and st.targetNode == self.node
        if not mine:
            if uid in self.receiving:
                await self._release(uid)
            self.keys.pop(key, None)
            return None
        if vmi.metadata.deletionTimestamp or vmstate.is_final(vmi) or st.failed or st.completed \
                or (self.receiving.get(uid) not in (None, st.migrationUid)):
            self._pulls.pop(st.migrationUid, None)
            await self._release(uid)
            await self._unlabel(vmi)
            return None
        h = self.launchers.get(uid)
        if h is not None and self.receiving.get(uid) != st.migrationUid:
            return 0.2   # the launcher this VMI had here before (it left from here) is still on its way out
        if h is not None and h.dead:
            h = await self._launcher_died(vmi, h)
            if h is None:
                return None
        request = None
        if h is None:
            if self.launchers.pid_file_alive(uid):
                return 0.2   # likewise, one this handler no longer follows
            if st.abortRequested:
                return None   # failed before it had a launcher here: the source ends it
            error = await self._pull_images(key, vmi, st)
            if error is not None:
                if error:
                    out = proto.copy(vmi)
                    out.status.migrationState.abortRequested = True
                    out.status.migrationState.failureReason = st.failureReason or f"{refs.ERR_IMAGE_PULL}: {error}"
                    self._observe(await self.api.update_status(out))
                    log.warning("VMI %s/%s: migration %s: %s", vmi.metadata.namespace, vmi.metadata.name,
                                st.migrationUid, error)
                return None
            # Noted before the spawn's await: the orphan sweep must not take the directory spawn makes.
            self.receiving[uid] = st.migrationUid
            request = await self._target_request(vmi)
            if request is None:
                return None
            # Sent with the spawn: to the dialled spare launcher, which serves it once the zygote gave it this VMI.
            h = await self.launchers.spawn(vmi, first=lambda channel: proto.lmigration_grpc.LauncherMigrationStub(
                channel).SyncMigrationTarget(request, wait_for_ready=True, timeout=120), spare_after=SPARE_AFTER_TARGET)
            log.info("VMI %s/%s: receiving launcher for migration %s", vmi.metadata.namespace, vmi.metadata.name,
                     st.migrationUid)
        out = proto.copy(vmi)
        s = out.status.migrationState
        sync = None
        if not st.targetNodeAddress and not st.abortRequested:
            sync, h.first = h.first, None
            if sync is None:
                request = request or await self._target_request(vmi)
                if request is None:
                    return None
                if not await self.launchers.listening(h, LAUNCHER_READY_TIMEOUT):
                    raise RuntimeError("the receiving launcher is not listening")
                # Sent once the launcher listens (a dial before puts the channel into gRPC's reconnect backoff).
                # Its answer is the readiness check too: no Info call beside it on the migration's path.
                sync = asyncio.ensure_future(lstub(h).SyncMigrationTarget(request, wait_for_ready=True, timeout=120))
            why = await self._answered(h, sync)
            if why:
                raise RuntimeError(f"the receiving launcher is {why}")
        elif not st.targetPod:
            why = await self.launchers.wait_ready(h, LAUNCHER_READY_TIMEOUT)
            if why:
                raise RuntimeError(f"the receiving launcher is {why}")
        if not st.targetPod:
            s.targetPod = f"virt-launcher-{vmi.metadata.name}-{self.node}"
        prepared = False
        if sync is not None:
            resp = sync.result()
            if not resp.success:
                s.abortRequested = True
                s.failureReason = s.failureReason or f"preparing the migration target failed: {resp.message}"
            else:
                s.targetNodeAddress = self.address
                s.targetLauncherDirectory = resp.directory
                prepared = True
        dom = h.domain
        if _active(dom) and not st.abortRequested:
            return await self._ack(vmi, out)
        detected = dom is not None and dom.exists and dom.state not in ("Shutoff", "Crashed")
        if detected and not st.targetNodeDomainDetected and out.status == vmi.status:
            # The domain is arriving. Alone, that is reported only if the migration takes a while: a write
            # now would wake every service just as libvirt needs the CPU (most migrations end first).
            self._arrived_at.setdefault(st.migrationUid, timeutil.now())
            again = _held(self._detected_at, st.migrationUid, DETECTED_REPORT_SECONDS)
            if again > 0:
                return again
        if detected:
            s.targetNodeDomainDetected = True
        if out.status != vmi.status:
            self._observe(await self.api.update_status(out))
        if prepared:   # recorded once the source can see the address: the event's write does not go first
            self.recorder.normal(vmi, events.PREPARING_TARGET, events.VMI_TARGET_PREPARED)
        return None

    async def _target_request(self, vmi) -> LM.SyncMigrationTargetRequest | None:
        """What the receiving launcher prepares from; None when a config volume the VMI mounts is gone since it
        started: the migration fails then (written here)."""
        request = LM.SyncMigrationTargetRequest(vmi=vmi, featureGates=sorted(self.feature_gates()),
                                                imagePaths=self.images.pinned(vmi)[0] if self.images else {})
        if configvolumes.needed(vmi):
            try:
                for name, files in (await configvolumes.files_of(self.api, vmi)).items():
                    request.volumeFiles[name].CopyFrom(files)
            except configvolumes.Missing as e:
                out = proto.copy(vmi)
                out.status.migrationState.abortRequested = True
                out.status.migrationState.failureReason = vmi.status.migrationState.failureReason or str(e)
                self._observe(await self.api.update_status(out))
                return None
        return request

    async def _answered(self, h, call: asyncio.Future) -> str:
        """"" once the launcher answered `call` (an error it gave is raised by call.result()); otherwise why
        not, as wait_ready says it ("exited", or "unresponsive" after LAUNCHER_READY_TIMEOUT): the call is
        cancelled then."""
        gone = asyncio.ensure_future(self.launchers.wait_exit(h, LAUNCHER_READY_TIMEOUT))
        try:
            await asyncio.wait([call, gone], return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
        if call.done():
            return ""
        call.cancel()
        return "unresponsive" if h.alive() else "exited"

    async def _pull_images(self, key, vmi, st) -> str | None:
        """The VMI's registry images on this node before its receiving launcher starts: None once they are
        here, "" while they are pulled (the VMI's key is looked at again after), else why a pull failed."""
        images = self.images
        if images is None:
            return None
        task = self._pulls.get(st.migrationUid)
        if task is not None:
            if not task.done():
                return ""
            del self._pulls[st.migrationUid]
            if task.result():
                return task.result()
        missing = images.pinned(vmi)[1]
        if not missing:
            return None

        async def pull() -> str:
            for image in missing:
                error = await images.pull_pinned(vmi, image)
                if error:
                    return error
            return ""
        task = self._pulls[st.migrationUid] = asyncio.get_running_loop().create_task(pull())
        queue = self.queue
        assert queue is not None, "the target side pulls, and has the queue"
        task.add_done_callback(lambda _: queue.add(key))
        return ""

    async def _ack(self, vmi, out):
        """KubeVirt's ackMigrationCompletion + finalizeMigration: the VMI runs here now."""
        s = out.status.migrationState
        now = timeutil.now()
        s.targetNodeDomainDetected = True
        s.targetNodeDomainReadyTimestamp = s.targetNodeDomainReadyTimestamp or now
        s.endTimestamp = s.endTimestamp or now
        if not s.startTimestamp:
            # Its start not reported yet (the source waits START_REPORT_SECONDS): it began when its domain was
            # first seen arriving here, and it ran too briefly to be moved to post-copy or paused.
            s.startTimestamp = self._arrived_at.get(s.migrationUid, now)
            s.mode = s.mode or migrations.MODE_PRE_COPY
        s.completed = True
        out.status.nodeName = self.node
        out.status.ClearField("evacuationNodeName")
        written = await self.api.update_status(out)
        self._observe(written)
        self.receiving.pop(vmi.metadata.uid, None)
        self._detected_at.pop(s.migrationUid, None)
        self._arrived_at.pop(s.migrationUid, None)
        log.info("VMI %s/%s migrated to this node (migration %s)", vmi.metadata.namespace, vmi.metadata.name,
                 s.migrationUid)
        self.recorder.normal(written, events.MIGRATED, f"The VirtualMachineInstance migrated to node {self.node}.")
        # Forgotten before the label goes: leaving the (label-selected) informer then releases nothing.
        self.keys.pop(proto.key(written), None)
        await self._unlabel(written)
        return None

    async def _launcher_died(self, vmi, h):
        """The receiving launcher exited mid-way: the migration fails (the source aborts libvirt's job), and
        a new launcher watches what the domain does meanwhile (it may have arrived: then it is acked)."""
        st = vmi.status.migrationState
        if not st.abortRequested:
            out = proto.copy(vmi)
            out.status.migrationState.abortRequested = True
            out.status.migrationState.failureReason = st.failureReason or TARGET_LAUNCHER_EXITED
            self._observe(await self.api.update_status(out))
            log.warning("VMI %s/%s: %s; asking the source to abort", vmi.metadata.namespace, vmi.metadata.name,
                        TARGET_LAUNCHER_EXITED)
        await self.launchers.forget(h.uid)
        if st.migrationUid in self._spawned_again:
            return None
        self._spawned_again.add(st.migrationUid)
        self.receiving[vmi.metadata.uid] = st.migrationUid   # before the await, as in target_sync
        return await self.launchers.spawn(vmi)

    async def _release(self, uid: str) -> None:
        """The receiving launcher of a migration that is over without us: it and any domain it has go."""
        self.receiving.pop(uid, None)
        h = self.launchers.get(uid)
        if h is None:
            return
        log.info("VMI uid %s: releasing the receiving launcher", uid)
        await self.launchers.stop(h)
        try:
            await asyncio.to_thread(self.launchers.data.remove_vm_dir, uid)
        except OSError as e:
            log.warning("VMI uid %s: removing the receiving launcher's directory: %s", uid, e)

    async def _unlabel(self, vmi) -> None:
        if migrations.MIGRATION_TARGET_NODE_LABEL not in vmi.metadata.labels:
            return
        out = proto.copy(vmi)
        del out.metadata.labels[migrations.MIGRATION_TARGET_NODE_LABEL]
        self._observe(await self.api.update(out))

    def _observe(self, written) -> None:
        """Our write goes into the target informer's cache at once (the api client feeds only the
        node's own VMI informer)."""
        if self.vmis is not None and written is not None:
            self.vmis.observe(proto.wrap(written))


# ------------------------------------------------------------------------------ metrics

MIGRATION_STATS = (   # KubeVirt's migrationdomainstats collector (virt-handler), names and help as 1.6's
    ("kubevirt_vmi_migration_data_total_bytes", "counter", "dataTotalBytes",
     "The total Guest OS data to be migrated to the new VM."),
    ("kubevirt_vmi_migration_data_remaining_bytes", "gauge", "dataRemainingBytes",
     "The remaining guest OS data to be migrated to the new VM."),
    ("kubevirt_vmi_migration_data_processed_bytes", "gauge", "dataProcessedBytes",
     "The total Guest OS data processed and migrated to the new VM."),
    ("kubevirt_vmi_migration_dirty_memory_rate_bytes", "gauge", "memDirtyRateBytes",
     "The rate of memory being dirty in the Guest OS."),
    ("kubevirt_vmi_migration_disk_transfer_rate_bytes", "gauge", "memoryBps",
     "The rate at which the memory is being transferred."),
)


def _held(since: dict[str, float], uid: str, seconds: float) -> float:
    """How long a report alone may still wait (<= 0: now): `seconds` from when `uid` was first seen, noted in
    `since` (a write mid-migration wakes every service just as libvirt's job needs the CPU)."""
    now = asyncio.get_running_loop().time()
    return seconds - (now - since.setdefault(uid, now))


class MigrationStatsCollector:
    """The running migrations leaving this node, from the job statistics their launchers report with the
    domain (no call on scrape): labels namespace, name and node, as KubeVirt's."""

    def __init__(self, vmis, launchers, node: str):
        self.vmis, self.launchers, self.node = vmis, launchers, node

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        families = {name: (CounterMetricFamily if kind == "counter" else GaugeMetricFamily)(name, help_, labels=[])
                    for name, kind, _, help_ in MIGRATION_STATS}
        for vmi in self.vmis.items():
            st = migrations.state_of(vmi)
            h = self.launchers.get(vmi.metadata.uid)
            if st is None or not migrations.in_flight(vmi) or h is None or h.domain is None:
                continue
            meta = h.domain.migration
            if meta.uid != st.migrationUid or not meta.dataTotalBytes:
                continue
            labels = {"namespace": vmi.metadata.namespace, "name": vmi.metadata.name, "node": self.node}
            for name, _, field, _ in MIGRATION_STATS:
                # Samples named exactly so: a counter family would add "_total" to a metric of its own.
                families[name].add_sample(name, labels, float(getattr(meta, field)))
        return [f for f in families.values() if f.samples]

    def describe(self):
        return []
