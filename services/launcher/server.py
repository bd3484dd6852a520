"""The launcher's Cmd service: one process, one VMI, one libvirt domain (virt-launcher).

The handler drives it over a unix socket: Sync defines and starts the domain, Shutdown/Kill/
Pause/Unpause act on it, DomainEvents streams every change of the domain (the current state
first, so a handler that restarts and re-subscribes is immediately up to date).
"""
from __future__ import annotations

import asyncio
import logging
import os
import random

import grpc

from services.common import aio, proto, reasons, streamrelay, tracing
from services.launcher import domstats, failures, forward, hotplug, netsync, storage, virt
from services.launcher.domxml import convert
from services.launcher.domxml import model as m

log = logging.getLogger(__name__)
L = proto.launcher
# Everything that changes a domain reaches us as a libvirt event (lifecycle, device added/removed) or as
# the connection closing (libvirtd restarted: reconnect and read again), so an idle VM costs nothing; a
# resync this rare (an informer's, jittered so that launchers started together do not read together)
# only bounds how long a lost event could go unnoticed. 200 launchers polling every 2 s cost 10 % of a
# core (bench/idle.py).
RESYNC_SECONDS = 300.0


def _ok(message: str = "") -> L.Response:
    return L.Response(success=True, message=message)


class Launcher(proto.launcher_grpc.CmdServicer):
    def __init__(self, uri: str, uid: str, namespace: str, name: str, vm_dir: str, emulation: str):
        self.uid, self.namespace, self.name = uid, namespace, name
        self.vm_dir = vm_dir
        self.emulation = emulation
        self.uri = uri
        self.domain_name = f"{namespace}_{name}"
        self.hv = virt.Hypervisor(uri, self.domain_name, on_event=self._libvirt_event, owner_uid=uid)
        self.domain_type = virt.domain_type(emulation, uri)
        self.domain = L.Domain(name=self.domain_name, exists=False, domainType=self.domain_type)
        self.migration = proto.lmigration.MigrationMetadata()  # the last live migration (migration.py)
        # Its domain is migrating away (libvirt's job runs, migration.py): read again once the job ends.
        self.outgoing = False
        self._subscribers: set[asyncio.Queue] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._refreshing = asyncio.Lock()  # one read-and-publish at a time: revisions follow reads
        self._hotplug_lock = asyncio.Lock()
        self.exit = asyncio.Event()
        self.grace_seconds = 30
        self.serial_socket = os.path.join(vm_dir, "serial0.sock")
        self.serial_log = os.path.join(vm_dir, "serial0.log")
        self.vnc_socket = os.path.join(vm_dir, "vnc.sock")
        self.vmi = None                        # the last synced VMI: what Forward dials
        self._forward_lock = asyncio.Lock()
        self._net_lock = asyncio.Lock()

    # ------------------------------------------------------------------ domain watching

    def _libvirt_event(self) -> None:  # libvirt's event thread
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def watch_domain(self) -> None:
        """Publish the domain's state at each libvirt event and every RESYNC_SECONDS. Not while it migrates
        away: its switchover's events would have us call its libvirtd just when the job needs it most
        (bench/migration.py), and what the domain became is read when the job ends, however it ends."""
        self._loop = asyncio.get_running_loop()
        woken = True
        while True:
            if not self.outgoing:
                try:
                    await self.refresh(devices=woken)
                except virt.VirtError as e:
                    log.warning("reading domain state: %s", e)
                woken = False
            woken = await aio.wait_event(self._wake, RESYNC_SECONDS * random.uniform(0.8, 1.2)) or woken
            self._wake.clear()

    async def refresh(self, devices: bool = True) -> None:
        """Publish the domain's state. Its devices (NICs, disks: read from the live XML) are re-read
        when something woke us -- a libvirt lifecycle or device event, a sync -- not on the rare
        resync, which only checks the state."""
        async with self._refreshing:
            st = await asyncio.to_thread(self.hv.state, devices)
            self._publish(st)

    def _publish(self, st) -> None:
        new = L.Domain(name=self.domain_name, exists=st.exists, state=st.state, reason=st.reason,
                       domainType=self.domain.domainType, machineType=self.domain.machineType,
                       uuid=self.domain.uuid, revision=self.domain.revision)
        new.migration.CopyFrom(self.migration)
        if st.exists and not st.xml:  # a quiet poll: the devices as last read
            new.interfaces.extend(self.domain.interfaces)
            new.disks.extend(self.domain.disks)
        if st.exists and st.xml:
            # What the handler reports: the machine type QEMU really runs (q35 -> pc-q35-7.2), the
            # UUID (it names a persistent TPM's state, handler/tpmstate.py), the NICs and the disks.
            live = m.Domain.from_xml(st.xml)
            new.machineType = new.machineType or live.os.machine or ""
            new.uuid = new.uuid or live.uuid or ""
            for name, mac, link, target in netsync.interfaces_status(live):
                new.interfaces.add(name=name, mac=mac, linkState=link, target=target)
            new.disks.extend(L.DomainDisk(volume=v, target=t) for v, t in hotplug.live_disks(live))
        self._send(new)

    def publish_migration(self) -> None:
        """The migration metadata changed: published with the domain as last read. No libvirt call while a
        migration runs (each competes with the job for libvirtd and the CPU): the domain's own changes
        come with libvirt's events."""
        new = L.Domain()
        new.CopyFrom(self.domain)
        new.migration.CopyFrom(self.migration)
        self._send(new)

    def _send(self, new: L.Domain) -> None:
        if new == self.domain:
            return
        kind = "ADDED" if not self.domain.exists and new.exists else "DELETED" if not new.exists else "MODIFIED"
        new.revision += 1
        self.domain = new
        log.info("domain %s: %s (%s)", self.domain_name, new.state or "gone", new.reason)
        for q in list(self._subscribers):
            q.put_nowait(L.DomainEvent(eventType=kind, domain=new))

    # ------------------------------------------------------------------ Cmd service

    async def Info(self, request, context):
        return L.InfoResponse(supportedCmdVersions=[1], vmiUid=self.uid, pid=os.getpid())

    async def SyncVirtualMachine(self, request, context):
        vmi = request.vmi
        self.vmi = vmi
        if request.vmi.spec.HasField("terminationGracePeriodSeconds"):
            self.grace_seconds = vmi.spec.terminationGracePeriodSeconds
        tracing.annotate(namespace=self.namespace, name=self.name, uid=self.uid)
        try:
            # Each step is its own span when it takes time (tracing.step); an exception leaving one is recorded on it.
            with tracing.step("launcher.prepareVolumes"):
                volumes = await asyncio.to_thread(storage.prepare_volumes, vmi, self.vm_dir,
                                                  dict(request.volumePaths), set(request.options.featureGates),
                                                  dict(request.imagePaths), dict(request.volumeFiles))
            with tracing.step("launcher.resolveKernelBoot"):
                kernel, initrd = await asyncio.to_thread(storage.resolve_kernel_boot, vmi, dict(request.imagePaths),
                                                         self.vm_dir)
            with tracing.step("launcher.convert"):
                ctx = convert.Context(domain_type=self.domain_type, volumes=volumes, kernel=kernel, initrd=initrd,
                                      serial_socket=self.serial_socket, serial_log=self.serial_log,
                                      vnc_socket=self.vnc_socket,
                                      nvram_dir=self.vm_dir, pr_helper_socket=request.prHelperSocket or None)
                dom = convert.convert(vmi, ctx)
                xml = dom.to_xml()
        except storage.ImagePullError as e:
            tracing.fail_current(str(e))
            return failures.response(e)
        except (convert.ConversionError, ValueError) as e:
            tracing.fail_current(f"ConversionError: {e}")
            return failures.response(e, f"ConversionError: {e}")
        if self.domain.exists and self.domain.state not in ("Shutoff", "Crashed", ""):
            # Running: bring its devices to the spec (the handler re-syncs after restarts and on spec
            # changes): NICs (hotplug, unplug, link state), then disks (volume hotplug).
            try:
                with tracing.step("launcher.syncNetwork"):
                    done = await self._sync_network(vmi, dom)
            except virt.VirtError as e:
                tracing.fail_current(str(e))
                return failures.response(e)
            resp = await self._sync_disks(vmi, dom)
            resp.message = "; ".join(m for m in ("already running", done, resp.message) if m)
            return await self._with_domain(resp)
        if self.domain.exists and self.domain.state in ("Shutoff", "Crashed"):
            return _ok("domain has stopped; not restarting a finished VMI")
        paused = vmi.spec.startStrategy == "Paused"
        try:
            with open(os.path.join(self.vm_dir, "domain.xml"), "w") as f:
                f.write(xml)
            # virDomainDefineXML + virDomainCreate (QEMU start) in virt.Hypervisor.define_and_start.
            with tracing.span("libvirt.defineAndStart", attributes={"libvirt.domain": self.domain_name,
                                                                   "libvirt.uri": self.uri,
                                                                   "virtmesh.paused": paused}):
                await asyncio.to_thread(self.hv.define_and_start, xml, paused)
        except virt.VirtError as e:
            tracing.fail_current(str(e))
            return failures.response(e)
        return await self._with_domain(_ok("started"))

    async def _with_domain(self, resp: L.Response) -> L.Response:
        """The reply to a sync carries the domain as the sync left it (published to the event
        stream too): the handler writes the VMI's new state without waiting for the event."""
        try:
            await self.refresh(devices=True)
        except virt.VirtError as e:  # the sync is done; the watch loop reads the domain again
            log.warning("reading domain state: %s", e)
            self._wake.set()
            return resp
        resp.domain.CopyFrom(self.domain)
        return resp

    async def _sync_disks(self, vmi, desired: m.Domain) -> L.Response:
        """Hotplug: attach the disks the spec gained, detach those it dropped (LIVE|CONFIG). A failure
        is reported per volume, once, for the VMI's volumeStatus; it is not retried in a loop."""
        async with self._hotplug_lock:  # one change set at a time (a re-sync may overlap a slow detach)
            live = await asyncio.to_thread(self.hv.live_domain)
            explicit = frozenset(d.name for d in vmi.spec.domain.devices.disks if d.HasField("bootOrder"))
            attach, detach = hotplug.disk_changes(live, desired, {v.name for v in vmi.spec.volumes}, explicit)
            errors: dict[str, str] = {}
            for ch in detach:
                with tracing.span("libvirt.detachDisk", attributes={"virtmesh.volume": ch.volume}):
                    try:
                        await asyncio.to_thread(self.hv.detach_device, ch.xml, m.make_alias(ch.volume))
                        log.info("detached volume %s (%s)", ch.volume, ch.target)
                    except virt.VirtError as e:
                        tracing.fail_current(str(e))
                        errors[ch.volume] = str(e)
            for ch in attach:
                with tracing.span("libvirt.attachDisk", attributes={"virtmesh.volume": ch.volume}):
                    try:
                        await asyncio.to_thread(self.hv.device, "attach", ch.xml)
                        log.info("attached volume %s as %s", ch.volume, ch.target)
                    except virt.VirtError as e:
                        tracing.fail_current(str(e))
                        errors[ch.volume] = str(e)
        attached = sum(c.volume not in errors for c in attach)
        detached = sum(c.volume not in errors for c in detach)
        resp = _ok(f"attached {attached}, detached {detached}" if attach or detach else "")
        resp.volumeErrors.update(errors)
        return resp

    async def _sync_network(self, vmi, desired) -> str:
        """Hotplug, hot-unplug and link state of a running domain (netsync.plan on the live XML)."""
        async with self._net_lock:
            live = await asyncio.to_thread(self.hv.live_domain)
            absent = {m.make_alias(i.name) for i in vmi.spec.domain.devices.interfaces if i.state == "absent"}
            # An unplug the guest has not finished yet is not asked for again: the live XML will say.
            ops = [op for op in netsync.plan(desired.devices.interfaces, live, absent)
                   if not (op.action == "detach" and self.hv.unplug_pending(op.alias))]
            for op in ops:
                log.info("domain %s: %s interface %s", self.domain_name, op.action, op.alias)
                await asyncio.to_thread(self.hv.device, op.action, op.xml, op.alias)
            return ", ".join(f"{op.action} {op.alias}" for op in ops)

    async def _act(self, what: str, fn) -> L.Response:
        try:
            await asyncio.to_thread(fn)
        except virt.VirtError as e:
            return failures.response(e)
        self._wake.set()
        return _ok(what)

    async def ShutdownVirtualMachine(self, request, context):
        return await self._act("shutdown signalled", self.hv.shutdown)

    async def KillVirtualMachine(self, request, context):
        return await self._act("killed", self.hv.destroy)

    async def PauseVirtualMachine(self, request, context):
        return await self._act("paused", self.hv.pause)

    async def UnpauseVirtualMachine(self, request, context):
        return await self._act("unpaused", self.hv.unpause)

    async def SoftRebootVirtualMachine(self, request, context):
        return await self._act("soft rebooted", self.hv.reboot_acpi)

    async def Forward(self, request_iterator, context):
        """A byte stream to a TCP port of the guest or to its VNC display (forward.py)."""
        first = await request_iterator.__anext__()
        try:
            if first.vnc:
                reader, writer = await forward.dial_vnc(self.vnc_socket)
            elif self.vmi is None or not self.domain.exists:
                raise forward.ForwardError("the VMI is not running here", "FAILED_PRECONDITION")
            else:
                vmi = first.vmi if first.HasField("vmi") else self.vmi   # the handler's is current
                reader, writer = await forward.dial(self.hv, vmi, first.port, first.protocol, self._forward_lock)
        except forward.ForwardError as e:
            await context.abort(getattr(grpc.StatusCode, e.code), str(e))
        except virt.VirtError as e:
            reason = failures.reason_of(e)
            await context.abort(reasons.status_code(reason), str(e), reasons.metadata(reason))
        await streamrelay.announce_open(context)
        async for data in forward.pump(first.data, request_iterator, reader, writer):
            yield L.ConsoleChunk(data=data)

    async def DeleteVirtualMachine(self, request, context):
        resp = await self._act("deleted", self.hv.undefine)
        if not resp.success:
            log.warning("delete: %s", resp.message)
        # The VMI is done either way: answer first, then exit (the pod completing, in KubeVirt).
        asyncio.get_running_loop().call_later(0.2, self.exit.set)
        return resp

    async def CopyDisk(self, request, context):
        from services.launcher import snapshot
        try:
            await asyncio.to_thread(snapshot.copy_disk, self.hv, request.source, request.destination,
                                    request.format or "qcow2", float(request.timeoutSeconds or 3600))
        except virt.VirtError as e:
            return failures.response(e)
        return _ok(f"copied {request.source}")

    async def GetDomainStats(self, request, context):
        # Hypervisor._domain honours domain ownership (another VMI's domain of this name is not ours).
        stats = await asyncio.to_thread(lambda: domstats.collect(self.hv._domain()))
        return L.DomainStatsResponse(response=_ok(), stats=stats)

    async def DomainEvents(self, request, context):
        q: asyncio.Queue = asyncio.Queue()
        self._subscribers.add(q)
        try:
            yield L.DomainEvent(eventType="ADDED" if self.domain.exists else "DELETED", domain=self.domain)
            while (ev := await q.get()) is not None:  # None: the launcher is exiting (end_streams)
                yield ev
        finally:
            self._subscribers.discard(q)

    def end_streams(self) -> None:
        """Before the server stops: end every DomainEvents stream cleanly. A stream still open when
        the loop ends is cancelled, and gRPC logs a CancelledError traceback for it."""
        for q in list(self._subscribers):
            q.put_nowait(None)

    async def Console(self, request_iterator, context):
        """Serial console: output tailed from the console log (optionally from its first byte),
        input written to the serial unix socket."""
        first = await request_iterator.__anext__()
        offset = 0
        if not first.fromStart and os.path.exists(self.serial_log):
            offset = os.path.getsize(self.serial_log)
        writer_task = asyncio.create_task(self._console_input(first, request_iterator))
        seen_running = False
        try:
            while True:
                if os.path.exists(self.serial_log):
                    with open(self.serial_log, "rb") as f:
                        f.seek(offset)
                        data = f.read(65536)
                    if data:
                        offset += len(data)
                        yield L.ConsoleChunk(data=data)
                        continue
                if self.domain.exists and self.domain.state not in ("Shutoff", "Crashed"):
                    seen_running = True
                elif seen_running:
                    return  # the guest stopped and everything it wrote was sent
                await asyncio.sleep(0.05)
        finally:
            writer_task.cancel()

    async def _console_input(self, first, request_iterator) -> None:
        """Keys -> the serial socket. What the socket echoes back is drained and dropped (output
        comes from the log): a connected client that never reads stalls QEMU's arm64 UART. A drain
        that lags (a loaded host) can double a character in the log: QEMU logs a byte the socket
        refused (EAGAIN) and logs it again when its x86 UART retries it (chardev/char.c)."""
        writer, drain = None, None
        try:
            pending = [first.data] if first.data else []
            async for msg in request_iterator:
                pending.append(msg.data)
                if writer is None and os.path.exists(self.serial_socket):
                    reader, writer = await asyncio.open_unix_connection(self.serial_socket)
                    drain = asyncio.create_task(self._discard(reader))
                if writer is not None:
                    for chunk in pending:
                        writer.write(chunk)
                    pending = []
                    await writer.drain()
        except (OSError, grpc.RpcError, asyncio.CancelledError):
            pass
        finally:
            if drain is not None:
                drain.cancel()
            if writer is not None:
                writer.close()

    @staticmethod
    async def _discard(reader: asyncio.StreamReader) -> None:
        while await reader.read(65536):
            pass

    # ------------------------------------------------------------------ process end

    def guest_gone(self) -> bool:
        """Its guest no longer runs here (stopped, deleted, or moved away by a migration)."""
        try:
            st = self.hv.state()
        except virt.VirtError:
            return False   # libvirt does not say: the guest may still run
        return not st.exists or st.state in ("Shutoff", "Crashed")

    async def graceful_stop(self) -> None:
        """SIGTERM: ACPI shutdown, destroy after the grace period, undefine (KubeVirt's launcher)."""
        try:
            st = await asyncio.to_thread(self.hv.state)
            if st.exists and st.state not in ("Shutoff", "Crashed"):
                await asyncio.to_thread(self.hv.shutdown)
                deadline = asyncio.get_running_loop().time() + self.grace_seconds
                while asyncio.get_running_loop().time() < deadline:
                    st = await asyncio.to_thread(self.hv.state)
                    if not st.exists or st.state in ("Shutoff", "Crashed"):
                        break
                    await asyncio.sleep(0.2)
            await asyncio.to_thread(self.hv.undefine)
        except virt.VirtError as e:
            log.warning("graceful stop: %s", e)
