"""virt-launcher: `python -m services.launcher --data-dir DIR --uid UID --namespace NS --name NAME`.

Serves the Cmd service on DATA_DIR/run/l-<uid>.sock until the handler deletes the VM or a
SIGTERM asks for a graceful stop. Started by the handler in its own session so that a
restarting handler does not take the VM down with it.
"""
from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import logging
import os
import signal
import threading
from dataclasses import dataclass

from services.common import authz, grpcserver, launcherlock, links, logs, paths, proto, tracing
from services.launcher import deferred, virt
from services.launcher.migration import Migration
from services.launcher.server import Launcher

log = logging.getLogger("services.launcher")
PR_SET_NAME = 15   # prctl(2)
_prctl = ctypes.CDLL(None).prctl   # looked up once (~0.2 ms), in the zygote before it forks


def new_server() -> grpcserver.Server:
    return grpcserver.Server(["virtmesh.v1.Cmd", "virtmesh.v1.LauncherMigration"],
                             authz.services_only)  # a root-only unix socket


DeferredLauncher = deferred.deferred_class(proto.launcher_grpc.CmdServicer, Launcher)
DeferredMigration = deferred.deferred_class(proto.lmigration_grpc.LauncherMigrationServicer, Migration)


@dataclass
class Spare:
    """A spare launcher's server, serving (at `socket`) the servicers its VMI's objects will become."""
    server: grpcserver.Server
    socket: str
    cmd: deferred.Deferred
    migration: deferred.Deferred
    term: asyncio.Event   # its stop signals, answered from the start (their handlers are made while nobody waits)

    @classmethod
    async def serving(cls, socket: str) -> "Spare":
        spare = cls(new_server(), socket, DeferredLauncher(), DeferredMigration(), stop_signals())
        spare.server.add(proto.launcher_grpc.add_CmdServicer_to_server, spare.cmd)
        spare.server.add(proto.lmigration_grpc.add_LauncherMigrationServicer_to_server, spare.migration)
        spare.server.listen_unix(socket)
        await spare.server.start()
        return spare


def stop_signals() -> asyncio.Event:
    """Set by SIGTERM or SIGINT: the launcher's graceful stop."""
    term = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, term.set)
    loop.add_signal_handler(signal.SIGINT, term.set)
    return term


async def executor_threads(n: int) -> None:
    """Start `n` threads of the loop's default executor now. A thread started on a VM's path waits until the
    busy scheduler runs it; the VM's first call and its domain watch take one each at once."""
    barrier = threading.Barrier(n, timeout=5)   # each waits for the others: no thread can take two
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(None, barrier.wait) for _ in range(n)))


async def serve(args, spare: Spare | None = None) -> None:
    data = paths.DataDir(args.data_dir)   # made by claim()
    vm_dir = data.vm_dir(args.uid)
    os.makedirs(vm_dir, exist_ok=True)
    launcher = Launcher(args.libvirt_uri, args.uid, args.namespace, args.name, vm_dir, args.emulation)
    # In a launcher pod the socket is in the pod's `sockets` volume, where the node's handler finds it.
    sock = data.launcher_socket(args.uid)
    if args.socket_dir:
        from services.common.launcherpods import SOCKET_NAME   # cluster-only: no kube imports for forked launchers
        sock = os.path.join(args.socket_dir, SOCKET_NAME)
    if spare is not None:   # serving already; its handler may have sent the first call
        server = spare.server
        spare.cmd.become(launcher)
        spare.migration.become(Migration(launcher))
        server.link_unix(sock, spare.socket)
    else:
        server = new_server()
        server.add(proto.launcher_grpc.add_CmdServicer_to_server, launcher)
        server.add(proto.lmigration_grpc.add_LauncherMigrationServicer_to_server, Migration(launcher))
        server.listen_unix(sock)
        await server.start()
    watcher = asyncio.create_task(launcher.watch_domain())
    term = spare.term if spare is not None else stop_signals()
    log.info("launcher for %s/%s (%s) serving on %s, libvirt %s, domain type %s", args.namespace, args.name,
             args.uid, sock, args.libvirt_uri, launcher.domain_type)
    done, _ = await asyncio.wait([asyncio.create_task(term.wait()), asyncio.create_task(launcher.exit.wait())],
                                 return_when=asyncio.FIRST_COMPLETED)
    if term.is_set():
        await launcher.graceful_stop()
    watcher.cancel()
    await asyncio.wait([watcher], timeout=5)
    launcher.end_streams()
    await server.stop(2)  # the grace lets the ended streams finish
    if await asyncio.to_thread(launcher.guest_gone):
        # Its taps go with it, as a pod's network does (whether or not a handler is left to remove them),
        # while it still holds the VMI's pid file: the VMI's next launcher here has none to lose yet.
        await asyncio.to_thread(links.remove_taps, args.uid)
    for path in (sock, data.launcher_pid(args.uid)):  # the pid file while we still hold its lock
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    log.info("launcher for %s/%s exits", args.namespace, args.name)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m services.launcher", description=__doc__)
    p.add_argument("--data-dir", default=paths.default_data_dir())
    p.add_argument("--uid", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--libvirt-uri", default=os.environ.get("VIRTMESH_LIBVIRT_URI", "qemu:///system"))
    p.add_argument("--emulation", choices=["auto", "kvm", "emulation"], default="auto")
    p.add_argument("--socket-dir", help="serve in this directory (a launcher pod's sockets volume) instead of "
                   "the data dir's run/")
    p.add_argument("--log-level", type=logs.level, metavar="LEVEL")
    return p


def claim(args):
    """The launcher's lock on its VMI (None: another launcher serves the uid, and this one exits)."""
    process_name(launcherlock.COMM)
    paths.private_umask()  # what this service creates under the data dir is root's only
    logs.setup("launcher", args.log_level)
    # First of all, before any socket or domain: the VMI's pid file, locked for our lifetime. Whoever
    # started us (a handler killed right after, a second handler's duplicate) cannot lose or double us.
    data = paths.DataDir(args.data_dir).ensure()
    lock = launcherlock.claim(data.launcher_pid(args.uid))
    if lock is None:
        log.info("another launcher (pid %d) serves VMI uid %s; exiting", launcherlock.holder(
            data.launcher_pid(args.uid)), args.uid)
        return None
    tracing.setup("launcher", relay=True)  # a no-op after the zygote's prefork; spans ride on replies to the handler
    return lock


def main(argv=None) -> None:
    args = parser().parse_args(argv)
    lock = claim(args)
    if lock is not None:
        asyncio.run(serve(args))


async def _read_to_eof(fd: int) -> bytes:
    """All that comes on the pipe `fd` until its writer closes it; the pipe is closed then."""
    reader = asyncio.StreamReader()
    transport, _ = await asyncio.get_running_loop().connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb"))
    try:
        return await reader.read()
    finally:
        transport.close()


def serve_spare(assignment: int, libvirt_uri: str, data_dir: str) -> None:
    """A launcher forked before its VMI is known (the zygote's spare): its gRPC server serves at
    DATA_DIR/run/spare-<pid>.sock, where the handler dials it, and the argument parser is made, while
    nobody waits for them (~10 ms of a launcher's start); then the zygote's assignment on the pipe
    `assignment` (JSON: the launcher's argv and its log) makes it that VMI's launcher, serving at the
    VMI's socket too. The pipe closed without one (the zygote went away), or a stop signal before it: it exits."""
    process_name(launcherlock.SPARE_COMM)
    # Made ready on CPU time nobody else wants: a spare forked during a migration or a boot must not slow it.
    # Root only: root alone is sure to get the normal policy back (without CAP_SYS_NICE, RLIMIT_NICE decides).
    if os.geteuid() == 0:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))

    async def run() -> None:
        connected = asyncio.ensure_future(asyncio.to_thread(virt.open_ahead, libvirt_uri))
        spare = await Spare.serving(paths.DataDir(data_dir).spare_socket(os.getpid()))
        options = parser()   # its making takes 1-3 ms of the assignment's path otherwise
        await connected
        await executor_threads(2)
        normal_priority()    # ready: it only waits from now on, and its VMI need not wait for this
        reading = asyncio.ensure_future(_read_to_eof(assignment))
        stopping = asyncio.ensure_future(spare.term.wait())
        await asyncio.wait([reading, stopping], return_when=asyncio.FIRST_COMPLETED)
        got = reading.result() if reading.done() else b""   # else stopped before it had a VMI
        reading.cancel()
        stopping.cancel()
        task = json.loads(got) if got else None
        if task is not None:
            fd = paths.open_private(task["log"])
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            os.close(fd)
            args = options.parse_args(task["argv"])
            if claim(args) is not None:
                await serve(args, spare)
                return
        await spare.server.stop(0)   # no VMI for it: its socket goes
    asyncio.run(run())


def normal_priority(pid: int | str = "self") -> None:
    """Every thread of process `pid` back to the normal scheduling policy from a spare's SCHED_IDLE (a
    thread inherits its creator's policy: gRPC's threads started while the spare got ready have it too)."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return   # gone: the caller finds out
    for tid in tids:
        try:
            os.sched_setscheduler(int(tid), os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            pass   # a thread that ended meanwhile


def process_name(name: str) -> None:
    """This process's name in ps and /proc/PID/comm (its command line stays python's, or the zygote's)."""
    _prctl(PR_SET_NAME, name.encode(), 0, 0, 0)


if __name__ == "__main__":
    main()
