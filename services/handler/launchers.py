"""The launcher processes of this node: spawn, find again after a handler restart, follow their
domain event streams, and notice when one dies."""
from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import logging
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Optional

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common import grpcclient, launcherlock, paths, proto

log = logging.getLogger(__name__)
L = proto.launcher
NODE_MARKER = "node"  # DATA_DIR/vms/<uid>/node: the node whose handler made the directory
SPARE_LOOKOUT_SECONDS = 60.0


async def exited(pid: int, alive: Callable[[], bool]) -> None:
    """Returns once process `pid` has exited: when its pidfd turns readable (Linux >= 5.3), else,
    where pidfds are refused, by asking `alive` every half second."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except OSError:
        while alive():
            await asyncio.sleep(0.5)
        return
    loop = asyncio.get_running_loop()
    gone = loop.create_future()
    try:
        def exited() -> None:
            if not gone.done():
                gone.set_result(None)
        loop.add_reader(fd, exited)
        if alive():   # it may have exited before the reader was added
            await gone
    finally:
        loop.remove_reader(fd)
        os.close(fd)


@dataclass
class Launcher:
    uid: str
    pid: int
    socket: str
    channel: grpc.aio.Channel
    stub: proto.launcher_grpc.CmdStub
    proc: Optional[subprocess.Popen] = None
    domain: Optional[L.Domain] = None
    synced: bool = False
    dead: bool = False
    events_task: Optional[asyncio.Task] = None
    shutdown_deadline: Optional[float] = None
    extra: dict = field(default_factory=dict)
    # The call spawn(first=...) sent before the launcher had its VMI (to the spare the zygote then gave it).
    first: Optional[asyncio.Future] = None

    def newer(self, domain: L.Domain) -> bool:
        """Whether `domain` (an event, or a sync's reply) is news: it changed, and is not older than
        what we have (events and replies take separate streams; launchers number their states)."""
        return self.domain is None or (domain.revision >= self.domain.revision and domain != self.domain)

    def alive(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is None
        return launcherlock.pid_alive(self.pid)


async def _line(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> bytes:
    """One line from `sock` (non-blocking), read until its newline."""
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = await loop.sock_recv(sock, 65536)
        if not chunk:
            raise ConnectionError("closed without a reply")
        buf += chunk
    return buf


class Zygote:
    """Client of services.launcher.zygote: forks pre-imported launchers (~2 ms instead of ~0.3 s of
    CPU per launcher). Any trouble with it and the caller falls back to a plain process start."""

    def __init__(self, socket_path: str, log_path: str, data_dir: str, libvirt_uri: str, emulation: str):
        self.path = socket_path
        self.log_path = log_path
        # Fixed for every launcher it forks: a request names only the VMI (see zygote.py).
        self.args = ["--data-dir", data_dir, "--libvirt-uri", libvirt_uri, "--emulation", emulation]
        self.proc: Optional[subprocess.Popen] = None

    def start(self) -> None:
        logf = paths.open_private(self.log_path)
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "services.launcher.zygote", "--socket", self.path,
                                          *self.args], stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
        finally:
            os.close(logf)

    async def spawn(self, uid: str, namespace: str, name: str, spare_after: float) -> Optional[int]:
        if self.proc is None or self.proc.poll() is not None:
            return None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not os.path.exists(self.path) and loop.time() < deadline and self.proc.poll() is None:
            await asyncio.sleep(0.02)  # the zygote is still importing
        request = json.dumps({"uid": uid, "namespace": namespace, "name": name, "spare_after": spare_after})
        try:
            # Connected and sent before anything else runs here (neither waits on a local listener): the zygote
            # sets to work while this handler goes on, with the call Launchers.spawn sends ahead to the spare.
            async with asyncio.timeout(10):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                    sock.setblocking(False)
                    await loop.sock_connect(sock, self.path)
                    await loop.sock_sendall(sock, request.encode() + b"\n")
                    reply = json.loads(await _line(loop, sock))
        except (OSError, ValueError, TimeoutError) as e:
            log.warning("launcher zygote unavailable (%s); starting launchers as new processes", e)
            return None
        if "pid" not in reply:
            log.warning("launcher zygote: %s", reply.get("error"))
            return None
        return int(reply["pid"])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()

    def forked(self, pid: int) -> bool:
        """Whether process `pid` is this zygote's child: it has the zygote's command line (a fork, no exec),
        which names the zygote's socket. (Handlers may share a data dir, each with its zygote.)"""
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return self.path.encode() in f.read().split(b"\0")
        except OSError:
            return False


@dataclass
class DialledSpare:
    """The zygote's spare launcher, dialled before it has a VMI: the next spawn usually gets it, and its
    first call then finds a connection made and a server that has answered once (spawn to a first answer:
    ~6 ms dialled ahead, ~9.5 ms dialled after the spawn; test driver, this machine)."""
    pid: int
    socket: str
    uid: str = ""   # its VMI, once it has one: the channel relays the launcher's spans under it
    channel: grpc.aio.Channel = field(init=False)

    def __post_init__(self) -> None:
        self.channel = grpcclient.aio_channel(grpcclient.unix(self.socket), launcher=lambda: self.uid)


class Launchers:
    def __init__(self, data: paths.DataDir, libvirt_uri: str, emulation: str,
                 on_change: Callable[[str], None], zygote: Optional[Zygote] = None, node: str = ""):
        self.data = data
        self.node = node  # written into each VM dir: a sweep removes only this node's (handlers may share a data dir)
        self.libvirt_uri = libvirt_uri
        self.emulation = emulation
        self.on_change = on_change
        self.zygote = zygote
        self.by_uid: dict[str, Launcher] = {}
        self.spare: Optional[DialledSpare] = None
        self._dialling: Optional[asyncio.Task] = None

    def get(self, uid: str) -> Optional[Launcher]:
        return self.by_uid.get(uid)

    def discover(self) -> list[str]:
        """Re-attach to launchers that outlived a previous handler: every live launcher holds the
        lock of the pid file it wrote itself (launcherlock), so one the previous handler spawned
        and was killed before it noted is found too. Pid files without a holder are stale."""
        held = launcherlock.held(self.data.run)
        for pidfile in glob.glob(os.path.join(self.data.run, "l-*.pid")):
            if os.path.basename(pidfile)[2:-4] not in held and not launcherlock.holder(pidfile):
                try:
                    os.unlink(pidfile)  # safe: a launcher locking it right now retries on the new file
                except FileNotFoundError:
                    pass
        for uid, pid in held.items():
            if uid not in self.by_uid:
                self._attach(uid, pid, None)
        for pid, sock in self.data.spare_sockets().items():
            if launcherlock.comm(pid) not in (launcherlock.COMM, launcherlock.SPARE_COMM):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(sock)   # a killed launcher's (or spare's)
        if held:
            log.info("re-attached to %d running launcher(s)", len(held))
        self._dial_spare()
        return list(held)

    def holder(self, uid: str) -> int:
        """The live launcher process of this VMI uid (whoever started it), or 0."""
        return launcherlock.holder(self.data.launcher_pid(uid))

    async def adopt(self, uid: str) -> Optional[Launcher]:
        """The launcher we know for `uid` exited, but another one holds the uid's lock (ours was a
        duplicate of one a previous handler spawned, and stepped aside): follow that one instead."""
        h = self.by_uid.get(uid)
        pid = self.holder(uid)
        if not pid or (h is not None and h.pid == pid):
            return None
        if h is not None:
            self.by_uid.pop(uid, None)
            if h.events_task is not None:
                h.events_task.cancel()
            await h.channel.close()
        log.info("VMI uid %s: following launcher pid %d (started before this handler knew)", uid, pid)
        return self._attach(uid, pid, None)

    async def spawn(self, vmi, first: Optional[Callable[[grpc.aio.Channel], Awaitable]] = None,
                    spare_after: float = launcherlock.SPARE_AFTER_IDLE) -> Launcher:
        """This VMI's launcher, started (or the one already serving it). `first` (a call, made on a channel to
        the launcher) is sent to the dialled spare before the zygote is asked for a launcher: the call waits
        in the spare for the VMI the zygote then hands it, instead of setting out after the zygote's answer.
        It is the launcher's `first` if the zygote gave this VMI that spare (else it is cancelled). A cancelled
        call may still reach the spare after a concurrent spawn got it: `first` must name its VMI, and the
        launcher refuse another's (as SyncMigrationTarget does). The zygote forks the next spare once no
        request came for `spare_after` seconds."""
        uid, ns, name = vmi.metadata.uid, vmi.metadata.namespace, vmi.metadata.name
        vm_dir = paths.private_dir(self.data.vm_dir(uid))  # a uid that could leave vms/ raises
        with open(os.path.join(vm_dir, NODE_MARKER), "w") as f:
            f.write(self.node)
        pid: int | None = self.holder(uid)
        if pid:  # one per VMI uid, across handler restarts: a live launcher is this VMI's launcher
            log.info("launcher pid %d already serves VMI %s/%s", pid, ns, name)
            return self._attach(uid, pid, None)
        try:   # a killed launcher's: dialled before the new one replaces it, it would refuse (100 ms backoff)
            os.unlink(self.data.launcher_socket(uid))
        except FileNotFoundError:
            pass
        proc = None
        spare, self.spare = self.spare, None   # this spawn's to take: a concurrent one must not send it a call
        early = asyncio.ensure_future(first(spare.channel)) if spare is not None and first is not None else None
        pid = await self.zygote.spawn(uid, ns, name, spare_after) if self.zygote is not None else None
        if spare is not None and spare.pid != pid:   # the zygote had another (or none): the spare stays one
            if early is not None:
                early.cancel()
            self._keep_dialled(spare)
            spare = early = None
        self._dial_spare(spare_after)
        if pid is None:
            argv = ["--data-dir", self.data.root, "--uid", uid, f"--namespace={ns}", f"--name={name}",
                    "--libvirt-uri", self.libvirt_uri, "--emulation", self.emulation]
            logf = paths.open_private(os.path.join(vm_dir, "launcher.log"))
            try:
                # Own session: the launcher (and its VM) must survive a handler restart or Ctrl-C.
                proc = subprocess.Popen([sys.executable, "-m", "services.launcher", *argv], stdin=subprocess.DEVNULL,
                                        stdout=logf, stderr=subprocess.STDOUT, start_new_session=True,
                                        close_fds=True)
            finally:
                os.close(logf)
            pid = proc.pid
        # The launcher writes (and locks) its pid file itself, first thing: a handler killed right
        # now loses nothing, and a second launcher for this uid would exit at once.
        log.info("started launcher pid %d for VMI %s/%s%s", pid, vmi.metadata.namespace, vmi.metadata.name,
                 " (a spare, dialled ahead)" if spare is not None else "")
        h = self._attach(uid, pid, proc, spare)
        h.first = early
        return h

    def _keep_dialled(self, spare: DialledSpare) -> None:
        """A dialled spare some spawn did not get: dialled still while it is a spare and no other is, else let go."""
        if self.spare is None and launcherlock.comm(spare.pid) == launcherlock.SPARE_COMM:
            self.spare = spare
        else:
            asyncio.get_running_loop().create_task(spare.channel.close())

    def _dial_spare(self, after: float = launcherlock.SPARE_AFTER_IDLE) -> None:
        """Dial the zygote's next spare launcher once it serves (in the background), which is not before `after`
        seconds (its last request's spare_after)."""
        if self.zygote is not None and self.spare is None and (self._dialling is None or self._dialling.done()):
            self._dialling = asyncio.get_running_loop().create_task(self._dial_when_serving(self.zygote, after))

    async def _dial_when_serving(self, zygote: Zygote, after: float) -> None:
        # The spare gets ready on idle CPU time once forked: looked for often from then on, then seldom; after a
        # minute, the next spawn looks again.
        loop = asyncio.get_running_loop()
        start = loop.time()
        await asyncio.sleep(after)
        while self.spare is None and loop.time() - start < SPARE_LOOKOUT_SECONDS:
            await asyncio.sleep(0.02 if loop.time() - start < after + 2 else 0.25)
            for pid, sock in self.data.spare_sockets().items():
                if launcherlock.comm(pid) == launcherlock.SPARE_COMM and zygote.forked(pid):
                    self.spare = await self._dial(pid, sock)
                    if self.spare is not None:
                        return

    async def _dial(self, pid: int, sock: str) -> Optional[DialledSpare]:
        spare = DialledSpare(pid, sock)
        try:   # the connection made, and the server's first call answered: both warm for the VMI's first call
            await health_pb2_grpc.HealthStub(spare.channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
        except grpc.aio.AioRpcError:
            await spare.channel.close()
            return None
        return spare

    def pid_file_alive(self, uid: str) -> bool:
        return bool(self.holder(uid))

    def stale_vm_dirs(self, live: set[str]) -> list[str]:
        """Uids of this node's VM directories whose VMI is gone (not in `live`) and whose launcher
        has exited: nothing will use them again."""
        try:
            names = os.listdir(self.data.vms)
        except FileNotFoundError:
            return []
        out = []
        for uid in names:
            if uid in live or uid in self.by_uid or not paths.valid_uid(uid) or self.pid_file_alive(uid):
                continue
            try:
                with open(os.path.join(self.data.vm_dir(uid), NODE_MARKER)) as f:
                    node = f.read()
            except FileNotFoundError:
                node = self.node  # a directory from before the marker: no live launcher, so ours to sweep
            except OSError:
                continue
            if node == self.node:
                out.append(uid)
        return out

    def _attach(self, uid: str, pid: int, proc, spare: Optional[DialledSpare] = None) -> Launcher:
        if spare is not None:   # the launcher serves its VMI at the spare's socket too: the channel stays there
            spare.uid = uid
            sock, channel = spare.socket, spare.channel
        else:
            sock = self.data.launcher_socket(uid)
            channel = grpcclient.aio_channel(grpcclient.unix(sock), launcher=uid)
        h = Launcher(uid=uid, pid=pid, socket=sock, channel=channel,
                     stub=proto.launcher_grpc.CmdStub(channel), proc=proc)
        self.by_uid[uid] = h
        h.events_task = asyncio.get_running_loop().create_task(self._follow(h))
        return h

    async def listening(self, h: Launcher, timeout: float) -> bool:
        """Whether the launcher listens, waited for up to `timeout` s. Dial only once it does: a first dial
        that fails puts the channel into gRPC's reconnect backoff, which would add ~0.1 s to every VM start."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + timeout
        while not os.path.exists(h.socket):
            if not h.alive() or loop.time() > deadline:
                return False
            # A spare launcher listens within 5-15 ms: looked for every ms until then (a stat each), then every 5 ms.
            await asyncio.sleep(0.001 if loop.time() - start < 0.025 else 0.005)
        return True

    async def _follow(self, h: Launcher) -> None:
        """Follow the launcher's domain events until it exits; then report it dead."""
        await self.listening(h, 60)
        while h.alive():
            call = h.stub.DomainEvents(L.EmptyRequest(), wait_for_ready=True)
            watchdog = asyncio.get_running_loop().create_task(self._cancel_when_dead(h, call))
            try:
                async for ev in call:
                    if h.newer(ev.domain):
                        h.domain = ev.domain
                        self.on_change(h.uid)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we are being stopped, not just the call
            except grpc.aio.AioRpcError:
                pass
            finally:
                watchdog.cancel()
            await asyncio.sleep(0.1)
        h.dead = True
        log.info("launcher pid %d for VMI uid %s has exited", h.pid, h.uid)
        self.on_change(h.uid)

    @staticmethod
    async def _cancel_when_dead(h: Launcher, call) -> None:
        # A stream waiting for a socket that will never come back would wait forever. The kernel says
        # when the launcher exits (a pidfd turns readable): no per-launcher polling of /proc.
        await exited(h.pid, h.alive)
        call.cancel()

    async def forget(self, uid: str) -> None:
        h = self.by_uid.pop(uid, None)
        if h is None:
            return
        if h.events_task is not None:
            h.events_task.cancel()
        await h.channel.close()
        if h.proc is not None:
            try:
                h.proc.wait(timeout=0)
            except subprocess.TimeoutExpired:
                pass
        if h.socket != self.data.launcher_socket(uid) and not h.alive():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(h.socket)   # a spare's name, which a killed launcher leaves
        if not self.holder(uid):  # the launcher removes its own; one killed -9 leaves it behind
            try:
                os.unlink(self.data.launcher_pid(uid))
            except FileNotFoundError:
                pass

    async def wait_ready(self, h: Launcher, timeout: float) -> str:
        """"" once the launcher answers; otherwise why not ("exited" or "unresponsive")."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        await self.listening(h, timeout)
        while loop.time() < deadline:
            if not h.alive():
                return "exited"
            try:
                await h.stub.Info(L.EmptyRequest(), wait_for_ready=True, timeout=0.5)
                return ""
            except grpc.aio.AioRpcError:
                continue
        return "unresponsive"

    async def wait_exit(self, h: Launcher, timeout: float) -> bool:
        try:
            async with asyncio.timeout(timeout):
                await exited(h.pid, h.alive)
        except TimeoutError:
            pass
        return not h.alive()

    async def stop(self, h: Launcher) -> None:
        """Kill and undefine the launcher's domain (if it still has one), let the launcher exit (the pod
        completing, in KubeVirt; killed when it has not within 10 s) and forget it."""
        if h.alive():
            try:
                await h.stub.KillVirtualMachine(L.VMIRequest(), timeout=20)
                await h.stub.DeleteVirtualMachine(L.VMIRequest(), timeout=20)
            except grpc.aio.AioRpcError as e:
                log.warning("stopping launcher %d: %s", h.pid, e.details())
            if not await self.wait_exit(h, 10):
                log.warning("launcher %d did not exit; killing it", h.pid)
                try:
                    os.kill(h.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        await self.forget(h.uid)
