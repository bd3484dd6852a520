"""`virtmesh vnc NAME` (virtctl vnc): the VMI's VNC display on a local TCP port, over the api's VNC
stream (api -> handler -> launcher -> QEMU's VNC socket). The stream is opened first, so a VMI without
a display or not running is reported before anything listens; then one viewer is served. With
--proxy-only it prints `{"port": N}` and waits for a viewer; otherwise it starts one found on PATH.
"""
from __future__ import annotations

import gc
import json
import shutil
import socket
import subprocess
import sys

import grpc

from services.cli.kubectl import CLIError, namespace_arg
from services.cli.portforward import Tunnel, splice_socket

VIEWERS = (("remote-viewer", lambda port: [f"vnc://127.0.0.1:{port}"]),
           ("vncviewer", lambda port: [f"127.0.0.1::{port}"]))


def cmd_vnc(args, api) -> int:
    namespace = namespace_arg(args)
    gc.disable()   # as console.py: no cyclic GC under gRPC's call locks
    tunnel = Tunnel(api.sub, namespace, args.name, 0, vnc=True)
    chunks = tunnel.chunks()
    try:
        greeting = next(chunks)    # the server speaks first (RFB's ProtocolVersion)
    except grpc.RpcError as e:
        raise CLIError(f"can't access VMI {args.name}: {e.details() or e.code().name}") from None
    except StopIteration:
        raise CLIError(f"can't access VMI {args.name}: the display closed at once") from None
    address = args.address if args.proxy_only else "127.0.0.1"
    ln = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
    ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        ln.bind((address, args.port))
    except OSError as e:
        raise CLIError(f"can't listen on {address}:{args.port}: {e.strerror}") from None
    ln.listen(1)
    port = ln.getsockname()[1]
    viewer = None
    if args.proxy_only:
        print(json.dumps({"port": port}), flush=True)
    else:
        viewer = _start_viewer(port)
        ln.settimeout(60)   # virtctl's LISTEN_TIMEOUT: the viewer must connect
    try:
        conn, _ = ln.accept()
    except socket.timeout:
        raise CLIError("the VNC viewer did not connect within 60s") from None
    finally:
        ln.close()
    conn.sendall(greeting)
    try:
        splice_socket(tunnel, chunks, conn)
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.CANCELLED:
            raise CLIError(f"error encountered: {e.details()}") from None
    except OSError:
        pass
    finally:
        conn.close()
        if viewer is not None:
            viewer.wait()
    return 0


def _start_viewer(port: int):
    for binary, argv in VIEWERS:
        path = shutil.which(binary)
        if path:
            return subprocess.Popen([path, *argv(port)])
    print("no VNC viewer (remote-viewer, vncviewer) on PATH; use --proxy-only and connect one to the port",
          file=sys.stderr)
    raise CLIError("could not find a VNC viewer in $PATH")


def add_parser(sub, ns) -> None:
    vn = sub.add_parser("vnc", help="open a VMI's VNC display (--proxy-only: on a local port, printed as JSON)")
    vn.add_argument("name", metavar="VMI")
    vn.add_argument("--proxy-only", action="store_true",
                    help="only run the proxy and print {\"port\": N}, for a viewer of your own")
    vn.add_argument("--port", type=int, default=0, help="the local port (default: a free one)")
    vn.add_argument("--address", default="127.0.0.1", help="with --proxy-only: the address to listen on")
    ns(vn)
    vn.set_defaults(func=cmd_vnc)

