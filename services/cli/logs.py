"""`virtmesh logs vmi NAME` (the VMI's launcher log: `kubectl logs virt-launcher-…` in KubeVirt) and
`virtmesh logs api|controller|handler` (the services `virtmesh up` runs), read from the data dir of
the mesh on this machine: `-f` follows, `--tail N` starts with the last N lines (kubectl's flags)."""
from __future__ import annotations

import os
import sys
import time

import grpc

from services.cli.kubectl import CLIError, kind_words, namespace_arg
from services.common import paths, proto

SERVICES = ("api", "controller", "handler")
FOLLOW_POLL = 0.2


def log_path(args, api) -> str:
    data = paths.DataDir(args.data_dir)
    if args.what in SERVICES:
        if args.name:
            raise CLIError(f"logs {args.what} takes no name")
        return os.path.join(data.logs, f"{args.what}.log")
    if args.what not in kind_words(proto.VMI, grouped=False):
        raise CLIError(f"logs: {args.what!r} is not vmi, api, controller or handler")
    if not args.name:
        raise CLIError("logs vmi: the VMI's name is required")
    ns = namespace_arg(args)
    try:
        vmi = proto.inner(api.resources.Get(proto.api.GetRequest(ref=proto.ref(proto.VMI, ns, args.name)),
                                            timeout=30))
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.NOT_FOUND:
            raise CLIError(f'{proto.KINDS[proto.VMI].printed_name} "{args.name}" not found') from None
        raise
    path = os.path.join(data.vm_dir(vmi.metadata.uid), "launcher.log")
    if not os.path.exists(path):
        where = f" (on node {vmi.status.nodeName})" if vmi.status.nodeName else " (not scheduled yet)"
        raise CLIError(f"no launcher log for vmi/{args.name}{where} in {data.root}: {path} does not exist")
    return path


def tail_offset(f, lines: int) -> int:
    """Where the last `lines` lines of the open binary file start (lines < 0: all of it)."""
    end = f.seek(0, os.SEEK_END)
    if lines < 0:
        return 0
    if lines == 0:
        return end
    pos, seen = end, 0
    while pos > 0:
        step = min(65536, pos)
        pos -= step
        f.seek(pos)
        data = f.read(step)
        if pos + step == end and data.endswith(b"\n"):
            data = data[:-1]          # the final newline ends the last line, it starts none
        idx = len(data)
        while (idx := data.rfind(b"\n", 0, idx)) >= 0:
            seen += 1
            if seen == lines:
                return pos + idx + 1
    return 0


def cmd_logs(args, api) -> int:
    path = log_path(args, api)
    try:
        f = open(path, "rb")
    except OSError as e:
        raise CLIError(f"cannot read {path}: {e.strerror}") from None
    out = sys.stdout.buffer
    with f:
        f.seek(tail_offset(f, args.tail))
        while True:
            data = f.read(65536)
            if data:
                out.write(data)
                out.flush()
                continue
            if not args.follow:
                return 0
            try:
                if os.stat(path).st_size < f.tell():   # truncated (a new log): from its start
                    f.seek(0)
            except FileNotFoundError:
                return 0                               # the VMI's directory went with it
            time.sleep(FOLLOW_POLL)


def add_parser(sub, ns) -> None:
    lg = sub.add_parser("logs",
                        help="a VMI's launcher log (logs vmi NAME) or a service's (logs api|controller|handler)")
    lg.add_argument("what", metavar="vmi|api|controller|handler")
    lg.add_argument("name", nargs="?", help="the VMI (with vmi)")
    lg.add_argument("-f", "--follow", action="store_true", help="keep printing what is appended")
    lg.add_argument("--tail", type=int, default=-1, help="only the last N lines (default -1: all)")
    ns(lg)
    lg.set_defaults(func=cmd_logs)
