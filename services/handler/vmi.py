"""The node side of a VMI (virt-handler's VirtualMachineController): start a launcher for each
VMI scheduled here, sync it, turn its domain events into the VMI's phase, and tear it down
gracefully (ACPI, then kill after terminationGracePeriodSeconds) when the VMI goes away."""
from __future__ import annotations

import asyncio
import logging


from services.common import kvconfig, proto, timeutil, tracing, vmstate
from services.common import events, links, network
from services.common import images as imagerefs
from services.handler import configvolumes, migration, netplumbing, phase, podnet, tpmstate, volumestatus
from services.handler.images import ImagePulls, image_id
from services.handler.podnet import PodNetwork
from services.handler.prhelper import PrHelper
from services.handler.launchers import Launchers

log = logging.getLogger(__name__)
L = proto.launcher
VMI_FINALIZER = "foregroundDeleteVirtualMachine"
VOLUME_WAIT_SECONDS = 1.0      # re-check volumes not ready yet (claim events also wake us)
LAUNCHER_READY_TIMEOUT = 60.0  # KubeVirt waits 3 min for an unresponsive launcher; ours starts in < 1 s
RESYNC_RETRY_SECONDS = 5.0
MOUNT_RETRY_SECONDS = 2.0      # look again for a missing ConfigMap or Secret (the kubelet retries too)


def net_fingerprint(vmi) -> bytes:
    """What the launcher's live network sync depends on: the interfaces and networks."""
    return b"".join(i.SerializeToString(deterministic=True) for i in vmi.spec.domain.devices.interfaces) + b"|" + \
        b"".join(n.SerializeToString(deterministic=True) for n in vmi.spec.networks)


def interfaces_status(vmi, dom, addresses: dict[str, str] | None = None) -> list:
    """status.interfaces from the live domain (KubeVirt's netstat with infoSource "domain"):
    linkState up/down, the MAC libvirt uses, the tap of a bridge-bound interface, and the pod
    address of a bridge-bound pod interface (`addresses`; KubeVirt reports the pod IP the guest
    gets by DHCP)."""
    bound = {i.name: network.binding(i) for i in vmi.spec.domain.devices.interfaces}
    addresses = addresses or {}
    out = []
    for d in dom.interfaces:
        ip = addresses.get(d.name, "")
        out.append(proto.kv.VirtualMachineInstanceNetworkInterface(
            name=d.name, mac=d.mac, linkState=d.linkState, infoSource="domain",
            podInterfaceName=d.target if bound.get(d.name) == "bridge" else "",
            ipAddress=ip, ipAddresses=[ip] if ip else []))
    return out


class VMIController:
    pr_helper: PrHelper | None = None   # the node's qemu-pr-helper when PersistentReservation is on
    images: ImagePulls | None = None    # registry images pulled before a launcher starts
    podnet: PodNetwork | None = None    # addresses and DHCP of bridge-bound pod interfaces
    feature_gates = staticmethod(lambda: kvconfig.ClusterConfig().gates())   # the handler's: the KubeVirt object's

    def __init__(self, api, vmis, launchers: Launchers, emulation: str,
                 tpm_states: tpmstate.TpmStates | None = None, claims=None,
                 migrations: migration.Migrations | None = None):
        self.api, self.vmis, self.launchers = api, vmis, launchers
        self.migrations = migrations  # live migration's source side (handler/migration.py)
        self.tpm_states = tpm_states
        self.claims = claims          # claims.ClaimProvisioner: the PVCs this node provisions
        self.emulation = emulation
        self.key_by_uid: dict[str, str] = {}
        self.recorder = events.recorder(api, events.HANDLER)

    def key_for_uid(self, uid: str):
        return self.key_by_uid.get(uid)

    async def reconcile(self, key: str):
        vmi = self.vmis.get(key)
        if vmi is None:
            await self._release_departed(key)
            return None
        uid = vmi.metadata.uid
        self.key_by_uid[uid] = key
        tp = self.vmis.traceparent.get(key, "")
        h = self.launchers.get(uid)
        if vmi.metadata.deletionTimestamp:
            return await self._teardown(vmi, h, tp)
        if self.migrations is not None and self.migrations.departed(vmi):
            return None   # its domain migrated away: the target acks, and the VMI leaves this node
        ph = vmi.status.phase
        if vmstate.is_final(vmi):
            if self.images is not None:
                self.images.forget(uid)
            if h is not None:
                await self._delete_launcher(h)
            await self._release_addresses(uid)
            return None
        if ph == vmstate.SCHEDULED and h is None and self.images is not None:
            wait = await self._pull_images(self.images, key, vmi, tp)
            if wait is not None:
                return wait   # no launcher while an image is missing (KubeVirt's pod waits in the kubelet)
        if ph == vmstate.SCHEDULED and h is None and self.podnet is not None:
            wait = await self._allocate_addresses(self.podnet, vmi, tp)
            if wait is not None:
                return wait   # no launcher without its pod address (the kubelet's sandbox waits for the CNI)
        if ph == vmstate.SCHEDULED and h is None and configvolumes.needed(vmi):
            wait = await self._mount_config(vmi, tp)
            if wait is not None:
                return wait   # no launcher while a ConfigMap or Secret it mounts is missing (as the kubelet)
        if ph == vmstate.SCHEDULED and h is None:
            with tracing.span("launcher.spawn"):
                h = await self.launchers.spawn(vmi)
        if ph not in (vmstate.SCHEDULED, vmstate.RUNNING):
            return None
        if h is None or h.dead:
            h = await self.launchers.adopt(uid)
        if h is None:
            return await self._fail(vmi, tp, "LauncherExited", "the virt-launcher process of this VMI exited")
        vols = self._volumes(vmi, h)
        if not h.synced:
            if not vols.ready:
                # A3: no domain before its claim-backed volumes are here (the boot disk may be one);
                # the launcher-unresponsive clock only starts once they are.
                await self._write_volume_status(vmi, vols, tp)
                return VOLUME_WAIT_SECONDS
            with tracing.span("launcher.waitReady") as sp:
                why = await self.launchers.wait_ready(h, LAUNCHER_READY_TIMEOUT)
                if why:
                    tracing.fail(sp, f"launcher {why}")
            if why == "exited" and (h2 := await self.launchers.adopt(uid)) is not None:
                h = h2  # ours stepped aside for a launcher a previous handler had started
                why = await self.launchers.wait_ready(h, LAUNCHER_READY_TIMEOUT)
            if why == "exited":
                return await self._fail(vmi, tp, "LauncherExited", "the virt-launcher process exited")
            if why:
                return await self._fail(vmi, tp, "LauncherUnresponsive",
                                        f"virt-launcher did not answer within {LAUNCHER_READY_TIMEOUT:.0f}s")
            try:
                await asyncio.to_thread(netplumbing.setup, vmi)
            except links.LinkError as e:
                return await self._fail(vmi, tp, "SyncFailed", f"network setup: {e}")
            defined = h.domain is not None and h.domain.exists
            resp = await h.stub.SyncVirtualMachine(await self._request(vmi, vols), timeout=120)
            if not resp.success:
                reason = imagerefs.ERR_IMAGE_PULL if resp.reason == proto.reason.IMAGE_NOT_PULLED else "SyncFailed"
                return await self._fail(vmi, tp, reason, resp.message)
            h.synced = True
            if not defined:
                self.recorder.normal(vmi, events.CREATED, events.VMI_DEFINED)
            self._synced(h, vmi, vols, resp)
        elif h.extra.get("synced_for") != self._sync_key(vmi, vols):
            return await self._resync(vmi, h, tp, vols)
        return await self._update_status(vmi, h, tp, vols)

    async def _resync(self, vmi, h, tp, vols):
        """The VMI changed while it runs (volume or NIC hotplug, link state) or the node's volumes
        did: taps first, then the launcher applies the change live. A failure is reported on the VMI
        (Synchronized=False) and retried; a single volume's attach failure is reported on its
        volumeStatus instead, once."""
        try:
            await asyncio.to_thread(netplumbing.setup, vmi)
            with tracing.span("launcher.syncDevices"):
                resp = await h.stub.SyncVirtualMachine(await self._request(vmi, vols), timeout=120)
            ok, message = resp.success, resp.message
        except links.LinkError as e:
            ok, message = False, f"network setup: {e}"
        if not ok:
            log.warning("VMI %s/%s: live sync failed: %s", vmi.metadata.namespace, vmi.metadata.name, message)
            await self._update_status(vmi, h, tp, vols, sync_error=message)
            return RESYNC_RETRY_SECONDS
        self._synced(h, vmi, vols, resp)
        log.info("VMI %s/%s: live sync (%s)", vmi.metadata.namespace, vmi.metadata.name, message)
        return await self._update_status(vmi, h, tp, self._volumes(vmi, h), sync_error="")

    async def _request(self, vmi, vols) -> L.VMIRequest:
        options = L.VirtualMachineOptions(emulation=self.emulation, featureGates=sorted(self.feature_gates()))
        files = {}
        if configvolumes.needed(vmi):
            try:
                files = await configvolumes.files_of(self.api, vmi)
            except configvolumes.Missing as e:
                # Gone since the launcher started: its images stay as they were made (the kubelet, too,
                # leaves a running pod's volume alone).
                log.info("VMI %s/%s: %s", vmi.metadata.namespace, vmi.metadata.name, e)
        return L.VMIRequest(vmi=vmi, options=options,
                            volumePaths=vols.paths, prHelperSocket=self._pr_helper_socket(vmi),
                            imagePaths=self.images.paths(vmi) if self.images is not None else {},
                            volumeFiles=files)

    async def _mount_config(self, vmi, tp):
        """None once every ConfigMap and Secret the VMI's volumes read is in the store, else when to look
        again; until then the VMI shows the kubelet's FailedMount as Synchronized=False, with a Warning."""
        out = proto.copy(vmi)
        wait = None
        try:
            await configvolumes.files_of(self.api, vmi)
            c = vmstate.get_condition(vmi, vmstate.SYNCHRONIZED)
            if c is not None and c.reason == configvolumes.FAILED_MOUNT:
                vmstate.remove_condition(out, vmstate.SYNCHRONIZED)
        except configvolumes.Missing as e:
            c = vmstate.get_condition(vmi, vmstate.SYNCHRONIZED)
            if c is None or c.message != str(e):
                self.recorder.warning(vmi, configvolumes.FAILED_MOUNT, str(e))
            vmstate.set_condition(out, vmstate.SYNCHRONIZED, "False", configvolumes.FAILED_MOUNT, str(e))
            wait = MOUNT_RETRY_SECONDS
        if out.status != vmi.status:
            await self.api.update_status(out, tp)
        return wait

    async def _pull_images(self, images: ImagePulls, key, vmi, tp):
        """None once every registry image of the VMI is on the node, else when to look again; the
        VMI shows the kubelet's waiting reason as Synchronized=False (KubeVirt's VM printableStatus
        reads it: ErrImagePull, ImagePullBackOff)."""
        gate = images.gate(key, vmi)
        out = proto.copy(vmi)
        if gate.reason:
            vmstate.set_condition(out, vmstate.SYNCHRONIZED, "False", gate.reason, gate.message)
        elif gate.ready and (c := vmstate.get_condition(vmi, vmstate.SYNCHRONIZED)) is not None \
                and c.reason in imagerefs.PULL_REASONS:
            vmstate.remove_condition(out, vmstate.SYNCHRONIZED)
        if gate.ready:   # what the images resolved to, once: a migration's target pulls the same
            for image, path in gate.paths.items():
                if image not in out.status.containerImageIDs and image_id(image, path):
                    out.status.containerImageIDs[image] = image_id(image, path)
        if out.status != vmi.status:
            await self.api.update_status(out, tp)
        return None if gate.ready else gate.wait

    async def _allocate_addresses(self, net: PodNetwork, vmi, tp):
        """None once each bridge-bound pod interface has its address, else when to try again: no
        free address leaves the VMI waiting with the CNI's error as Synchronized=False (the kubelet's
        FailedCreatePodSandBox, with a Warning event), as a pod waits in ContainerCreating."""
        out = proto.copy(vmi)
        try:
            await asyncio.to_thread(net.allocate, vmi)
            wait = None
            c = vmstate.get_condition(vmi, vmstate.SYNCHRONIZED)
            if c is not None and c.reason == podnet.SANDBOX_FAILED:
                vmstate.remove_condition(out, vmstate.SYNCHRONIZED)
        except podnet.Exhausted as e:
            message, wait = f"pod network: {e}", RESYNC_RETRY_SECONDS
            c = vmstate.get_condition(vmi, vmstate.SYNCHRONIZED)
            if c is None or c.message != message:
                log.warning("VMI %s/%s: %s", vmi.metadata.namespace, vmi.metadata.name, message)
                self.recorder.warning(vmi, podnet.SANDBOX_FAILED, message)
            vmstate.set_condition(out, vmstate.SYNCHRONIZED, "False", podnet.SANDBOX_FAILED, message)
        if out.status != vmi.status:
            await self.api.update_status(out, tp)
        return wait

    async def _serve_addresses(self, vmi, h, dom) -> None:
        """DHCP host entries once the MACs are known (libvirt picks one when the spec has none); again
        only when they change, or after a handler restart (which also restarts a DHCP server that died)."""
        if self.podnet is None or not podnet.pod_interfaces(vmi):
            return
        macs = {d.name: d.mac for d in dom.interfaces}
        if h.extra.get("dhcp_for") == macs:
            return
        try:
            await asyncio.to_thread(self.podnet.serve, vmi, macs)
            h.extra["dhcp_for"] = macs
        except (links.LinkError, OSError) as e:
            log.warning("VMI %s/%s: pod network DHCP: %s", vmi.metadata.namespace, vmi.metadata.name, e)

    async def _release_addresses(self, uid: str) -> None:
        if self.podnet is not None:
            try:
                await asyncio.to_thread(self.podnet.release, uid)
            except OSError as e:
                log.warning("VMI uid %s: releasing its pod addresses: %s", uid, e)

    def _pr_helper_socket(self, vmi) -> str:
        """The node's qemu-pr-helper for a VMI with a reserved LUN ("" without one, or without a helper:
        the launcher then refuses the LUN naming the feature gate)."""
        from services.handler.prhelper import has_reservation
        return self.pr_helper.socket if self.pr_helper is not None and has_reservation(vmi) else ""

    @staticmethod
    def _sync_key(vmi, vols):
        """What the launcher's live sync depends on: the interfaces and networks, the volumes and
        disks (the spec's generation), and where the node has the claims' images."""
        return (vmi.metadata.generation, net_fingerprint(vmi), tuple(sorted(vols.paths.items())))

    def _synced(self, h, vmi, vols, resp) -> None:
        if resp.HasField("domain") and h.newer(resp.domain):
            h.domain = resp.domain  # the status written next is the state the sync left
        h.extra["synced_for"] = self._sync_key(vmi, vols)
        errors = h.extra.setdefault("volume_errors", {})
        for name in [n for n in errors if n not in {v.name for v in vmi.spec.volumes}]:
            del errors[name]
        errors.update(resp.volumeErrors)

    def _volumes(self, vmi, h) -> volumestatus.Volumes:
        ns = vmi.metadata.namespace

        def lookup(claim: str):
            if self.claims is None:
                return None, None
            pvc = self.claims.claims.get(f"{ns}/{claim}")
            return pvc, self.claims.image_path(pvc)
        disks = [(d.volume, d.target) for d in h.domain.disks] if h.domain is not None and h.domain.exists else []
        return volumestatus.compute(vmi, lookup, disks, h.extra.get("volume_errors", {}))

    async def _write_volume_status(self, vmi, vols, tp) -> None:
        out = proto.copy(vmi)
        del out.status.volumeStatus[:]
        out.status.volumeStatus.extend(vols.statuses)
        if out.status != vmi.status:
            await self.api.update_status(out, tp)

    async def _update_status(self, vmi, h, tp, vols, sync_error=None):
        again = None
        if self.migrations is not None:   # a migration leaving this node: start, cancel, report it
            vmi, again = await self.migrations.source_sync(vmi, h, tp)
        out = proto.copy(vmi)
        del out.status.volumeStatus[:]
        out.status.volumeStatus.extend(vols.statuses)
        dom = h.domain
        if migration.domain_left(dom):
            if self.migrations is not None:
                await self.migrations.source_left(vmi, h)
            return None  # migrated away: the target node owns the VMI's status from now on
        new_phase = phase.vmi_phase(dom, vmi.status.phase)
        if dom is not None and dom.exists:
            migration.set_live_migratable(out)
            owner = tpmstate.owner_of(vmi, dom.uuid)
            if owner is not None and self.tpm_states is not None:
                self.tpm_states.remember(owner)  # the domain's UUID names swtpm's state directory
            out.status.machine.type = dom.machineType or out.status.machine.type
            out.status.domainType = dom.domainType or out.status.domainType
            await self._serve_addresses(vmi, h, dom)
            del out.status.interfaces[:]
            out.status.interfaces.extend(interfaces_status(
                vmi, dom, self.podnet.addresses(vmi) if self.podnet is not None else None))
        if sync_error:
            vmstate.set_condition(out, vmstate.SYNCHRONIZED, "False", "SyncFailed", sync_error)
        elif sync_error == "":
            vmstate.remove_condition(out, vmstate.SYNCHRONIZED)
        if new_phase == vmstate.FAILED and dom is not None:
            out.status.reason = f"Domain{dom.reason or 'Gone'}" if dom.exists else "DomainGone"
        vmstate.set_phase(out, new_phase)
        if phase.paused_by_user(dom):
            vmstate.set_condition(out, vmstate.PAUSED, "True", "PausedByUser", "VMI was paused by user")
        else:
            vmstate.remove_condition(out, vmstate.PAUSED)
        running = new_phase == vmstate.RUNNING and not phase.paused_by_user(dom)
        vmstate.set_condition(out, vmstate.READY, "True" if running else "False")
        if out.status != vmi.status:
            # The pass says which phase change it wrote; the api's span of the write (the one to
            # "Running" is where a VM start's trace ends) is its child.
            tracing.annotate(**{"phase.from": vmi.status.phase, "phase.to": new_phase})
            await self.api.update_status(out, tp)
            if new_phase != vmi.status.phase:
                log.info("VMI %s/%s: %s -> %s", vmi.metadata.namespace, vmi.metadata.name,
                         vmi.status.phase, new_phase)
                self._phase_event(vmi, new_phase)
        await self._unplug_taps(vmi, dom)
        return again

    @staticmethod
    async def _unplug_taps(vmi, dom) -> None:
        """Taps of absent interfaces go once the stored status (and the live domain we follow) no
        longer has them: never while the guest may still use one."""
        live = {i.name for i in dom.interfaces} if dom is not None and dom.exists else set()
        if any(i.state == "absent" and i.name not in live for i in vmi.spec.domain.devices.interfaces):
            try:
                await asyncio.to_thread(netplumbing.cleanup_unplugged, vmi, live)
            except links.LinkError as e:
                log.warning("VMI %s/%s: %s", vmi.metadata.namespace, vmi.metadata.name, e)

    def _phase_event(self, vmi, new_phase: str) -> None:
        """recordPhaseChangeEvent: Started, Stopped (shut down) or Stopped (crashed, a Warning)."""
        what = events.phase_event(new_phase)
        if what is not None:
            self.recorder.event(vmi, *what)

    async def _fail(self, vmi, tp, reason: str, message: str):
        log.warning("VMI %s/%s failed: %s: %s", vmi.metadata.namespace, vmi.metadata.name, reason, message)
        self.recorder.warning(vmi, events.SYNC_FAILED if reason == "SyncFailed" else reason, message)
        tracing.fail_current(f"{reason}: {message}")
        out = proto.copy(vmi)
        vmstate.set_phase(out, vmstate.FAILED)
        out.status.reason = reason
        out.status.message = message
        vmstate.set_condition(out, vmstate.SYNCHRONIZED, "False", reason, message)
        vmstate.set_condition(out, vmstate.READY, "False")
        await self.api.update_status(out, tp)
        if vmi.status.phase != vmstate.FAILED:
            self._phase_event(vmi, vmstate.FAILED)
        h = self.launchers.get(vmi.metadata.uid)
        if h is not None:
            await self._delete_launcher(h)
        return None

    async def _release_departed(self, key: str) -> None:
        """The launcher of a VMI that migrated away goes once its domain has left, also when the VMI left this
        node's informer first (the target acked before libvirt's Confirm phase ended here, as it usually does):
        not at the next orphan sweep, seconds later, which a migration back to this node would wait for."""
        for uid in [u for u, k in self.key_by_uid.items() if k == key]:
            h = self.launchers.get(uid)
            if h is not None and migration.domain_left(h.domain):
                log.info("VMI uid %s: its domain left this node; the launcher goes", uid)
                await self._delete_launcher(h)
                if self.migrations is None or uid not in self.migrations.protected_uids():
                    await self._remove_vm_dir(uid, h)   # unless the VMI is on its way back here already

    async def _delete_launcher(self, h) -> None:
        """Stop the launcher (Launchers.stop), then release its network."""
        await self.launchers.stop(h)
        await asyncio.to_thread(links.remove_taps, h.uid)
        await self._release_addresses(h.uid)

    async def _teardown(self, vmi, h, tp):
        """Deleted VMI: ACPI shutdown, kill after the grace period, clean up, drop our finalizer."""
        if self.images is not None:
            self.images.forget(vmi.metadata.uid)
        if h is not None and h.alive() and h.domain is not None and h.domain.exists \
                and h.domain.state not in ("Shutoff", "Crashed"):
            loop = asyncio.get_running_loop()
            if h.shutdown_deadline is None:
                grace = vmi.spec.terminationGracePeriodSeconds if vmi.spec.HasField(
                    "terminationGracePeriodSeconds") else 30
                h.shutdown_deadline = loop.time() + grace
                if grace > 0:
                    log.info("VMI %s/%s: graceful shutdown (up to %ss)", vmi.metadata.namespace,
                             vmi.metadata.name, grace)
                    await h.stub.ShutdownVirtualMachine(L.VMIRequest(vmi=vmi), timeout=20)
                    self.recorder.normal(vmi, events.SHUTTING_DOWN, events.VMI_GRACEFUL_SHUTDOWN)
            if loop.time() < h.shutdown_deadline:
                return min(1.0, h.shutdown_deadline - loop.time())
            log.info("VMI %s/%s: grace period over, killing the domain", vmi.metadata.namespace, vmi.metadata.name)
            await h.stub.KillVirtualMachine(L.VMIRequest(vmi=vmi), timeout=20)
            self.recorder.normal(vmi, events.DELETED, events.VMI_STOPPING)
            return 0.2
        if h is not None:
            if not vmstate.is_final(vmi) and h.domain is not None:
                out = proto.copy(vmi)
                if vmstate.set_phase(out, phase.vmi_phase(h.domain, vmi.status.phase)):
                    vmi = await self.api.update_status(out, tp)
                    self._phase_event(vmi, vmi.status.phase)
            if h.alive():
                self.recorder.normal(vmi, events.DELETED, events.VMI_SIGNAL_DELETION)
            await self._delete_launcher(h)
            await self.launchers.wait_exit(h, 5)
        await self._release_addresses(vmi.metadata.uid)
        await self._remove_vm_dir(vmi.metadata.uid, h)
        if VMI_FINALIZER in vmi.metadata.finalizers:
            out = proto.copy(vmi)
            out.metadata.finalizers.remove(VMI_FINALIZER)
            await self.api.update(out, tp)
            log.info("VMI %s/%s: cleaned up at %s", vmi.metadata.namespace, vmi.metadata.name, timeutil.now())
        return None

    async def sweep_orphans(self) -> None:
        """Launchers whose VMI no longer exists here (deleted while the handler was down), and
        persistent TPM state whose VM (or standalone VMI) is gone."""
        live = {v.metadata.uid for v in self.vmis.items()}
        if self.migrations is not None:
            live |= self.migrations.protected_uids()  # receiving VMIs not on this node yet
        for uid in [u for u in self.launchers.by_uid if u not in live]:
            log.info("launcher for VMI uid %s has no VMI any more; deleting it", uid)
            await self._delete_launcher(self.launchers.by_uid[uid])
        # VM directories (logs, domain XML, NVRAM, scratch disks) of VMIs gone while we were away or
        # before this sweep existed. Computed afresh, with no await in between: `live` is current.
        live = {v.metadata.uid for v in self.vmis.items()}
        if self.migrations is not None:
            live |= self.migrations.protected_uids()  # receiving VMIs not on this node yet
        for uid in self.launchers.stale_vm_dirs(live):
            await self._remove_vm_dir(uid, None)
        if self.podnet is not None:   # addresses of VMIs gone while we were away
            for uid in self.podnet.ipam.uids() - live - set(self.launchers.by_uid):
                await self._release_addresses(uid)
        if self.tpm_states is not None:
            in_use = {h.domain.uuid for h in self.launchers.by_uid.values() if h.domain is not None}
            in_use |= {v.spec.domain.firmware.uuid for v in self.vmis.items()}
            await self.tpm_states.sweep(self._owner_exists, in_use)

    async def _remove_vm_dir(self, uid: str, h) -> None:
        """The VMI is gone and its launcher has exited: its directory goes (claims' images and
        persistent TPM state live elsewhere, with lifetimes of their own)."""
        if (h is not None and h.alive()) or self.launchers.get(uid) is not None or self.launchers.pid_file_alive(uid):
            return  # still running: the orphan sweep removes it once it has exited
        if await asyncio.to_thread(self.launchers.data.remove_vm_dir, uid):
            log.info("removed the directory of VMI uid %s", uid)

    async def _owner_exists(self, owner: tpmstate.Owner) -> bool:
        kind = proto.VM if owner.kind == "VirtualMachine" else proto.VMI
        obj = await self.api.get_or_none(kind, owner.namespace, owner.name)
        return obj is not None and obj.metadata.uid == owner.uid
