"""The node's qemu-pr-helper: SCSI persistent reservations for LUNs (KubeVirt 1.6's pr-helper container in
the virt-handler DaemonSet, run when the PersistentReservation feature gate is on).

A LUN with `lun.reservation: true` gets `<reservations managed="no">` in its domain XML, pointing at
this helper's socket (DATA_DIR/run/pr/pr-helper.sock, KubeVirt's /var/run/kubevirt/daemons/pr/
pr-helper.sock): QEMU hands the guest's PERSISTENT RESERVE IN/OUT commands to the privileged helper,
which issues them on the host's SCSI device. One helper serves every VM of the node; the handler
starts it, restarts it if it dies (QEMU reconnects on its next request) and stops it when the handler
stops, as the DaemonSet's container lives and dies with virt-handler's pod. A helper left by a handler
that was killed is found through its pid file and replaced. There is no multipathd on these nodes:
the helper talks to the SCSI device directly (KubeVirt also bind-mounts multipathd's socket).
"""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal

from services.common import domain

log = logging.getLogger(__name__)
BINARY = "qemu-pr-helper"
RESTART_SECONDS = 1.0
READY_SECONDS = 10.0


def wanted(gates) -> bool:
    return domain.PERSISTENT_RESERVATION_GATE in gates


def has_reservation(vmi) -> bool:
    """reservation.HasVMISpecPersistentReservation: a LUN of the VMI asks for reservations."""
    return any(d.HasField("lun") and d.lun.reservation for d in vmi.spec.domain.devices.disks)


class PrHelper:
    """One supervised qemu-pr-helper listening on `socket`."""

    def __init__(self, socket: str, binary: str | None = None):
        self.socket = socket
        self.pidfile = os.path.join(os.path.dirname(socket), "pr-helper.pid")
        self.binary = binary or shutil.which(BINARY) or f"/usr/bin/{BINARY}"
        self.proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task | None = None
        self._stopping = False
        self.starts = 0   # how many helpers this supervisor started (restarts show here)

    async def start(self) -> None:
        """Start the helper and its supervisor; returns once the socket accepts connections."""
        os.makedirs(os.path.dirname(self.socket), mode=0o700, exist_ok=True)
        self._reap_stale()
        await self._spawn()
        self._task = asyncio.create_task(self._supervise())

    async def _spawn(self) -> None:
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        proc = self.proc = await asyncio.create_subprocess_exec(
            self.binary, "--socket", self.socket, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        self.starts += 1
        with open(self.pidfile, "w") as f:
            f.write(f"{proc.pid}\n")
        await self._wait_ready(proc)
        log.info("qemu-pr-helper (pid %d) serving %s", proc.pid, self.socket)

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_SECONDS
        while loop.time() < deadline:
            if proc.returncode is not None:
                raise RuntimeError(f"qemu-pr-helper exited with {proc.returncode}: {await _stderr(proc)}")
            if await self.answers():
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"qemu-pr-helper did not listen on {self.socket} within {READY_SECONDS:.0f}s")

    async def answers(self) -> bool:
        """The helper's side of its protocol: on connect it sends its 4-byte capability flags."""
        try:
            reader, writer = await asyncio.open_unix_connection(self.socket)
        except OSError:
            return False
        try:
            await asyncio.wait_for(reader.readexactly(4), 2)
            return True
        except (OSError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            return False
        finally:
            writer.close()

    async def _supervise(self) -> None:
        while not self._stopping:
            proc = self.proc
            assert proc is not None, "supervised once spawned"
            rc = await proc.wait()
            if self._stopping:
                return
            err = await _stderr(proc)
            log.warning("qemu-pr-helper exited with %s%s; restarting", rc, f": {err}" if err else "")
            await asyncio.sleep(RESTART_SECONDS)
            try:
                await self._spawn()
            except (OSError, RuntimeError) as e:
                log.warning("qemu-pr-helper: %s", e)

    def _reap_stale(self) -> None:
        """A helper of an earlier handler of this node (killed without stopping it)."""
        try:
            with open(self.pidfile) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, ValueError):
            return
        if argv and os.path.basename(argv[0].decode(errors="replace")) == BINARY and self.socket.encode() in argv:
            log.info("stopping qemu-pr-helper pid %d left by an earlier handler", pid)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    async def stop(self) -> None:
        self._stopping = True
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 5)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._task is not None:
            self._task.cancel()
        for path in (self.socket, self.pidfile):
            try:
                os.unlink(path)
            except OSError:
                pass


async def _stderr(proc: asyncio.subprocess.Process) -> str:
    """What the helper said before it exited (its stderr is a pipe)."""
    return (await proc.stderr.read()).decode(errors="replace").strip() if proc.stderr is not None else ""
