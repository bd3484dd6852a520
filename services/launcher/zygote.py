"""Launcher zygote: import the launcher once, then fork one launcher per VMI.

A fresh `python -m services.launcher` spends ~0.3 s of CPU importing grpc, protobuf and libvirt;
with many VMs starting together that CPU is most of the start latency. The zygote pays it once
and forks in ~2 ms; children share the imported code copy-on-write.

The zygote never creates a gRPC object or a libvirt connection itself (forking after either is
unsafe) and therefore talks to the handler over a plain unix socket: one JSON request per
connection, {"argv": [...], "log": PATH} -> {"pid": N} | {"error": TEXT}. Children are
double-forked into their own session, so they outlive the zygote and the handler. The zygote
exits when its parent (the handler) goes away.
"""
from __future__ import annotations

import argparse
import concurrent.futures.thread  # noqa: F401  (asyncio.to_thread's pool: each launcher imported it)
import json
import os
import signal
import socket
import sys

import services.launcher.__main__ as launcher_main  # noqa: F401  (the point: import once, fork often)
from services.common import proto, tracing
from services.launcher.server import Launcher

# Every launcher starts with tracing set up (when OTEL_* asks for it) for the Cmd service it serves.
tracing.prefork("launcher", proto.launcher_grpc.add_CmdServicer_to_server, Launcher)


def _child(argv: list[str], log_path: str, conn: socket.socket, listener: socket.socket, w: int) -> None:
    """In the first child: new session, fork the launcher, report its pid, exit."""
    os.setsid()
    pid = os.fork()
    if pid:
        os.write(w, str(pid).encode())
        os._exit(0)
    conn.close()
    listener.close()
    os.close(w)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.close(null)
    try:
        launcher_main.main(argv)
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


def _spawn(req: dict, conn: socket.socket, listener: socket.socket) -> dict:
    r, w = os.pipe()
    first = os.fork()
    if first == 0:
        os.close(r)
        _child(list(req["argv"]), req["log"], conn, listener, w)
    os.close(w)
    os.waitpid(first, 0)
    data = os.read(r, 32)
    os.close(r)
    if not data:
        return {"error": "fork failed"}
    return {"pid": int(data)}


def serve(path: str) -> None:
    parent = os.getppid()
    if os.path.exists(path):
        os.unlink(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    listener.settimeout(1.0)
    while os.getppid() == parent:
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        with conn:
            conn.settimeout(5)
            try:
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
                reply = _spawn(json.loads(buf), conn, listener)
            except (OSError, ValueError, KeyError) as e:
                reply = {"error": str(e)}
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass
    os.unlink(path)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m services.launcher.zygote", description=__doc__)
    p.add_argument("--socket", required=True)
    serve(p.parse_args(argv).socket)


if __name__ == "__main__":
    main()
