"""Launcher zygote: import the launcher once, then fork one launcher per VMI.

A fresh `python -m services.launcher` spends ~0.3 s of CPU importing grpc, protobuf and libvirt;
with many VMs starting together that CPU is most of the start latency. The zygote pays it once
and forks in ~2 ms; children share the imported code copy-on-write, its objects frozen out of their
garbage collector's reach: a launcher's first full collection would otherwise copy ~11 MiB of the
zygote's pages into that launcher alone (bench/idle.py).

When idle (launcherlock.SPARE_AFTER_IDLE after its last request, or as long as that request asked), the
zygote keeps one launcher forked ahead (a spare, comm `launcher-spare`), whose gRPC server already serves, at
DATA_DIR/run/spare-<pid>.sock, where the handler dials it ahead too: the next request hands it the VMI
through a pipe, which takes ~1 ms where a fork and that set-up took 15-25 ms of a migration's or a start's
critical path, and the handler's first call finds a warm connection.

The zygote never creates a gRPC object or a libvirt connection itself (forking after either is
unsafe) and therefore talks to the handler over a plain unix socket: one JSON request per
connection, {"uid": UID, "namespace": NS, "name": NAME[, "spare_after": SECONDS]} -> {"pid": N} |
{"error": TEXT}. Children are double-forked into their own session, so they outlive the zygote and the
handler. The zygote exits when its parent (the handler) goes away.

The zygote runs as root and forks whatever it is asked to, so it is told only which VMI: the data
dir, libvirt URI and emulation are its own command line's, and the launcher's log is always
DATA_DIR/vms/<uid>/launcher.log (a uid that could leave vms/ is refused). No caller chooses a path
the zygote writes. Its socket is root's only (0600, in the 0700 run dir, bound under umask 077),
and a peer that is neither root nor the zygote's own user is refused (SO_PEERCRED).
"""
from __future__ import annotations

import argparse
import contextlib
import concurrent.futures.thread  # noqa: F401  (asyncio.to_thread's pool: each launcher imported it)
import gc
import json
import os
import signal
import socket
import struct
import sys

import services.launcher.__main__ as launcher_main  # noqa: F401  (the point: import once, fork often)
from services.common import launcherlock, paths, proto, tracing


# Every launcher starts with tracing set up (when OTEL_* asks for it) for the Cmd service it serves.
# (Learned for the servicer class a spare serves: most launchers start as spares.)
tracing.prefork("launcher", proto.launcher_grpc.add_CmdServicer_to_server, launcher_main.DeferredLauncher)


def _fork_launcher(run, *args, sockets: tuple = (), fds: tuple = ()) -> int | None:
    """A launcher process, double-forked into a session of its own so that it outlives the zygote and the
    handler (init adopts it): there the zygote's `sockets` and `fds` are closed and `run(*args)` runs
    to the process's exit. Its pid (None: the fork failed)."""
    r, w = os.pipe()
    # Everything the zygote holds goes into the collector's permanent generation first (gc.freeze, as
    # CPython's docs advise before a fork without exec): a launcher's collections then never write to
    # the headers of the imported code's objects, whose pages stay shared with the zygote instead of each
    # launcher copying them on its first collection.
    gc.freeze()
    first = os.fork()
    if first == 0:
        os.close(r)
        os.setsid()
        pid = os.fork()
        if pid:
            os.write(w, str(pid).encode())
            os._exit(0)
        os.close(w)
        for sock in sockets:
            sock.close()
        for fd in fds:
            os.close(fd)
        _run_and_exit(run, *args)
    os.close(w)
    os.waitpid(first, 0)
    reported = os.read(r, 32)
    os.close(r)
    return int(reported) if reported else None


def _launch(argv: list[str], log_path: str) -> None:
    """A VMI's launcher, logging to its file."""
    fd = paths.open_private(log_path)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    launcher_main.main(argv)


def _run_and_exit(fn, *args) -> None:
    """In a launcher just forked: not the zygote's signals or stdin; `fn`, then exit as a process would."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    try:
        fn(*args)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and exit like a crashed process would
        import traceback
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def launcher_argv(data: paths.DataDir, launcher: dict, uid: str, namespace: str, name: str) -> list[str]:
    """The launcher's command line for one VMI (`--opt=value`: a name cannot pass for an option)."""
    return ["--data-dir", data.root, "--uid", uid, f"--namespace={namespace}", f"--name={name}",
            "--libvirt-uri", launcher["libvirt_uri"], "--emulation", launcher["emulation"]]


def _request(req) -> tuple[str, str, str, float]:
    if not isinstance(req, dict):
        raise ValueError("request is not an object")
    uid, namespace, name = req.get("uid"), req.get("namespace"), req.get("name")
    spare_after = req.get("spare_after", launcherlock.SPARE_AFTER_IDLE)
    if not isinstance(spare_after, (int, float)) or not 0 <= spare_after <= launcherlock.SPARE_AFTER_LONGEST:
        raise ValueError(f"spare_after: not a number of seconds in [0, {launcherlock.SPARE_AFTER_LONGEST:g}]")
    if not isinstance(uid, str) or not paths.valid_uid(uid):
        raise ValueError(f"not a VMI uid: {uid!r}")
    for what, v in (("namespace", namespace), ("name", name)):
        if not isinstance(v, str) or not v or len(v) > 253 or any(ord(c) < 32 for c in v):
            raise ValueError(f"invalid {what}")
    assert isinstance(namespace, str) and isinstance(name, str)   # (checked in the loop)
    return uid, namespace, name, float(spare_after)


def _peer_allowed(conn: socket.socket) -> bool:
    """Only root or the zygote's own user (the handler) may ask for launchers."""
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                           struct.calcsize("3i")))
    return uid in (0, os.geteuid())


class Spare:
    """A launcher forked ahead of need (launcher_main.serve_spare): gRPC set up, its VMI not yet known.
    The next request takes it, through its assignment pipe, instead of forking; an idle zygote forks
    the next one. A burst of requests forks directly: nobody waits behind a spare's fork."""

    def __init__(self, pid: int, assignment: int, socket_path: str):
        self.pid, self.assignment, self.socket = pid, assignment, socket_path
        self.assigned = False   # (or found dead): its pipe is closed

    @classmethod
    def fork(cls, listener: socket.socket, data: paths.DataDir, libvirt_uri: str) -> "Spare | None":
        r, w = os.pipe()
        pid = _fork_launcher(launcher_main.serve_spare, r, libvirt_uri, data.root, sockets=(listener,), fds=(w,))
        os.close(r)
        if pid is None:
            os.close(w)
            return None
        return cls(pid, w, data.spare_socket(pid))

    def assign(self, argv: list[str], log_path: str) -> bool:
        """Hands it its VMI (False: it died meanwhile)."""
        self.assigned = True
        with contextlib.suppress(OSError):   # (gone: the write below says so)
            if os.sched_getscheduler(self.pid) == os.SCHED_IDLE:   # still getting ready (ready, it renices itself)
                launcher_main.normal_priority(self.pid)           # from now on a VMI waits on it
        try:   # one write under PIPE_BUF: all of it or nothing; a dead reader is EPIPE
            os.write(self.assignment, json.dumps({"argv": argv, "log": log_path}).encode())
            return True
        except OSError:
            return False
        finally:
            os.close(self.assignment)

    def discard(self) -> None:
        os.close(self.assignment)   # its read ends: the spare exits
        try:
            os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            os.unlink(self.socket)   # a killed server's is left


def _spawn(uid: str, namespace: str, name: str, conn: socket.socket, listener: socket.socket, data: paths.DataDir,
           launcher: dict, spare: Spare | None) -> dict:
    vm_dir = paths.private_dir(data.vm_dir(uid))
    argv = launcher_argv(data, launcher, uid, namespace, name)
    log_path = os.path.join(vm_dir, "launcher.log")
    if spare is not None and spare.assign(argv, log_path):
        return {"pid": spare.pid}
    pid = _fork_launcher(_launch, argv, log_path, sockets=(conn, listener))
    return {"error": "fork failed"} if pid is None else {"pid": pid}


def serve(path: str, data: paths.DataDir, launcher: dict) -> None:
    parent = os.getppid()
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    # Root's only: bound under umask 077 inside the 0700 run dir (no window), then chmod-ed 0600.
    old = os.umask(paths.PRIVATE_UMASK)
    try:
        listener.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    listener.listen(64)
    listener.settimeout(launcherlock.SPARE_AFTER_IDLE)
    spare: Spare | None = None

    def stop(*_):
        if spare is not None:
            spare.discard()
        with contextlib.suppress(OSError):
            os.unlink(path)
        os._exit(0)
    signal.signal(signal.SIGTERM, stop)
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            if spare is None:
                spare = Spare.fork(listener, data, launcher["libvirt_uri"])
            listener.settimeout(launcherlock.SPARE_AFTER_IDLE)
            continue
        with conn:
            conn.settimeout(5)
            if not _peer_allowed(conn):
                continue
            try:
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                uid, namespace, name, spare_after = _request(json.loads(buf))
            except (OSError, ValueError) as e:
                reply = {"error": str(e)}
            else:
                listener.settimeout(max(spare_after, 0.001))   # (0 would make accept non-blocking)
                taken, spare = spare, None
                try:
                    reply = _spawn(uid, namespace, name, conn, listener, data, launcher, taken)
                except (OSError, ValueError) as e:
                    reply = {"error": str(e)}
                if taken is not None and not taken.assigned:
                    spare = taken   # the request failed before it: the next one's
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass
    stop()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.launcher.zygote", description=__doc__)
    p.add_argument("--socket", required=True)
    p.add_argument("--data-dir", required=True)
    p.add_argument("--libvirt-uri", required=True)
    p.add_argument("--emulation", required=True)
    args = p.parse_args(argv)
    paths.private_umask()  # launcher logs, VM dirs and what the launchers create are root's only
    data = paths.DataDir(args.data_dir).ensure()
    serve(args.socket, data, {"libvirt_uri": args.libvirt_uri, "emulation": args.emulation})


if __name__ == "__main__":
    main()
