"""`virtmesh port-forward`, `ssh` and `scp` (virtctl's): TCP tunnels to a port of the guest over the
api's PortForward stream (api -> the VMI's handler -> its launcher -> the guest).

port-forward listens on --address (127.0.0.1) for each `[tcp/]LOCAL[:REMOTE]` and opens one stream per
accepted connection; --stdio tunnels stdin/stdout instead (one port), which is what ssh and scp use
as their ProxyCommand, as virtctl's local-ssh mode does.
"""
from __future__ import annotations

import argparse
import gc
import os
import queue
import shlex
import signal
import socket
import subprocess
import sys
import threading

import grpc

from services.cli.kubectl import CLIError, kind_words, namespace_arg
from services.common import proto

VM_WORDS = kind_words(proto.VM, grouped=False)
VMI_WORDS = kind_words(proto.VMI, grouped=False)


def parse_target(target: str) -> tuple[str, str, str]:
    """virtctl's ParseTarget: TYPE/NAME[/NAMESPACE], and the legacy TYPE/NAME.NAMESPACE -> (kind, ns, name)."""
    if not target:
        raise CLIError("target cannot be empty")
    parts = target.split("/")
    if len(parts) == 1:
        raise CLIError("target must contain type and name separated by '/'")
    if len(parts) > 3:
        raise CLIError("target is not valid with more than two '/'")
    kind, name, namespace = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    if len(parts) == 3 and not namespace:
        raise CLIError("namespace cannot be empty")
    if len(parts) == 2 and "." in name:   # the old TYPE/NAME.NAMESPACE syntax
        name, _, namespace = name.partition(".")
        print(f"warning: {target}: TYPE/NAME.NAMESPACE is the legacy syntax; use {kind}/{name}/{namespace}",
              file=sys.stderr)
    if kind.lower() in VM_WORDS:
        kind = "vm"
    elif kind.lower() in VMI_WORDS:
        kind = "vmi"
    else:
        raise CLIError(f"unsupported resource type '{kind}'")
    if not name:
        raise CLIError("name cannot be empty")
    return kind, namespace, name


def parse_port(arg: str) -> tuple[str, int, int]:
    """virtctl's parsePort: [PROTOCOL/]LOCAL[:REMOTE] -> (protocol, local, remote)."""
    protocol, _, rest = arg.rpartition("/")
    protocol = protocol.lower() or "tcp"
    if protocol != "tcp":
        raise CLIError(f"{arg}: protocol {protocol!r} is not supported here: only tcp")
    ports = [p for p in rest.split(":") if p]
    if not ports:
        raise CLIError("invalid port, missing local and/or remote port")
    try:
        local = int(ports[0])
        remote = int(ports[1]) if len(ports) > 1 else local
    except ValueError:
        raise CLIError(f"{arg}: ports are numbers: [tcp/]LOCAL[:REMOTE]") from None
    if not 0 <= local < 65536 or not 0 < remote < 65536:
        raise CLIError(f"{arg}: a port is 1-65535 (LOCAL 0: any free port)")
    if remote == 0:
        raise CLIError(f"{arg}: the remote port is missing")
    return protocol, local, remote


class Tunnel:
    """One PortForward stream, fed from a queue of byte chunks (b"" is the local side's half-close)."""

    def __init__(self, sub, namespace: str, name: str, port: int, vnc: bool = False):
        self.inputs: queue.Queue = queue.Queue()
        first = proto.api.PortForwardRequest(namespace=namespace, name=name, port=port, protocol="tcp")

        def requests():
            yield first
            while (data := self.inputs.get()) is not None:
                yield proto.api.PortForwardRequest(data=data)

        self.call = (sub.VNC if vnc else sub.PortForward)(requests())

    def send(self, data: bytes) -> None:
        self.inputs.put(data)

    def close(self) -> None:
        self.inputs.put(None)
        self.call.cancel()

    def chunks(self):
        """The guest's bytes; a grpc.RpcError when the stream could not be opened or broke."""
        for chunk in self.call:
            yield chunk.data


def splice(tunnel: Tunnel, chunks, read, write, close_write) -> None:
    """Local reads -> the tunnel (in a thread), `chunks` (the tunnel's) -> local writes, until the
    guest's side ends."""
    def up():
        try:
            while data := read():
                tunnel.send(data)
        except OSError:
            pass
        tunnel.send(b"")   # half-close: the guest's side sees EOF, and may still answer
    threading.Thread(target=up, daemon=True).start()
    try:
        for data in chunks:
            write(data)
    finally:
        close_write()
        tunnel.close()



def splice_socket(tunnel: Tunnel, chunks, conn: socket.socket) -> None:
    """splice() between the tunnel and a connected TCP socket, half-closing it when the guest's side ends."""
    def close_write():
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
    splice(tunnel, chunks, lambda: conn.recv(65536), conn.sendall, close_write)

def _describe(e: grpc.RpcError) -> str:
    return e.details() or e.code().name


def _resolve(api, kind: str, namespace: str, name: str) -> None:
    """vm/NAME forwards to the VM's VMI (same name): the VM must exist."""
    if kind == "vm":
        api.resources.Get(proto.api.GetRequest(ref=proto.ref(proto.VM, namespace, name)), timeout=30)


def cmd_port_forward(args, api) -> int:
    kind, namespace, name = parse_target(args.target)
    namespace = namespace_arg(args, namespace)
    ports = [parse_port(p) for p in args.ports]
    _resolve(api, kind, namespace, name)
    gc.disable()   # as console.py: no cyclic GC under gRPC's call locks
    if args.stdio:
        if len(ports) != 1:
            raise CLIError("only one port supported when forwarding to stdout")
        return _stdio(api, namespace, name, ports[0][2])
    listeners = []
    for _, local, remote in ports:
        ln = socket.socket(socket.AF_INET6 if ":" in args.address else socket.AF_INET)
        ln.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            ln.bind((args.address, local))
        except OSError as e:
            raise CLIError(f"unable to listen on {args.address}:{local}: {e.strerror}") from None
        ln.listen(16)
        listeners.append((ln, remote))
        print(f"Forwarding from {args.address}:{ln.getsockname()[1]} -> {remote}", flush=True)
    for ln, remote in listeners:
        threading.Thread(target=_accept, args=(api, ln, kind, namespace, name, remote), daemon=True).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    return 0


def _accept(api, ln, kind, namespace, name, remote) -> None:
    while True:
        conn, _ = ln.accept()
        threading.Thread(target=_serve, args=(api, conn, kind, namespace, name, remote), daemon=True).start()


def _serve(api, conn, kind, namespace, name, remote) -> None:
    print(f"Handling connection for {remote}", flush=True)
    tunnel = Tunnel(api.sub, namespace, name, remote)

    def said(chunks):
        # The reason is written before the local client sees the connection end, so one that reads EOF
        # finds it already said.
        try:
            yield from chunks
        except grpc.RpcError as e:
            print(f"error: can't access {kind}/{name}/{namespace} port {remote}: {_describe(e)}", file=sys.stderr,
                  flush=True)
            raise
    try:
        splice_socket(tunnel, said(tunnel.chunks()), conn)
    except (grpc.RpcError, OSError):
        pass
    finally:
        conn.close()


def _stdio(api, namespace: str, name: str, remote: int) -> int:
    tunnel = Tunnel(api.sub, namespace, name, remote)
    out = sys.stdout.buffer
    fd = sys.stdin.fileno()

    def write(data):
        out.write(data)
        out.flush()
    try:
        splice(tunnel, tunnel.chunks(), lambda: os.read(fd, 65536), write, lambda: None)
    except grpc.RpcError as e:
        raise CLIError(f"can't access vmi/{name}/{namespace} port {remote}: {_describe(e)}") from None
    except BrokenPipeError:
        pass
    return 0


# ---------------------------------------------------------------------- ssh, scp

def _self_command(args) -> str:
    """This CLI, with the options that found the mesh, for ssh's ProxyCommand."""
    cmd = [sys.executable, "-m", "services.cli"]
    for flag, value in (("--data-dir", args.data_dir), ("--api", args.api), ("--certs", args.certs),
                        ("--kubeconfig", args.kubeconfig)):
        if value:
            cmd += [flag, value]
    return shlex.join(cmd)


def _ssh_target(arg: str, default_user: str) -> tuple[str, str, str, str]:
    """virtctl ssh's ParseTarget: [USER@]TYPE/NAME[/NAMESPACE]."""
    user = ""
    if "@" in arg:
        user, _, arg = arg.partition("@")
        if not user:
            raise CLIError("expected username before '@'")
    if not arg:
        raise CLIError("expected target after '@'")
    kind, namespace, name = parse_target(arg)
    return user or default_user, kind, namespace, name


def _client_options(args, kind: str, namespace: str, name: str) -> list[str]:
    proxy = f"{_self_command(args)} port-forward --stdio=true {kind}/{name}/{namespace} {args.port}"
    opts = ["-o", f"ProxyCommand={proxy}", "-o", f"UserKnownHostsFile={args.known_hosts}"]
    for extra in args.local_ssh_opts or []:
        opts += shlex.split(extra)
    if args.identity_file:
        opts += ["-i", args.identity_file]
    return opts


def cmd_ssh(args, api) -> int:
    user, kind, namespace, name = _ssh_target(args.target, args.username)
    namespace = namespace_arg(args, namespace)
    _resolve(api, kind, namespace, name)
    host = f"{kind}.{name}.{namespace}"
    argv = ["ssh", *_client_options(args, kind, namespace, name), f"{user}@{host}" if user else host]
    if args.command:
        argv.append(args.command)
    return subprocess.run(argv).returncode


def cmd_scp(args, api) -> int:
    """virtctl scp: exactly one of SOURCE and DESTINATION is [USER@]TYPE/NAME[/NAMESPACE]:PATH."""
    def remote(arg):
        head, sep, path = arg.partition(":")
        if sep and "/" in head:
            return _ssh_target(head, args.username), path
        return None, arg
    (src_t, src), (dst_t, dst) = remote(args.source), remote(args.destination)
    if (src_t is None) == (dst_t is None):
        raise CLIError("exactly one of source and destination must be a VM path: [USER@]TYPE/NAME[/NAMESPACE]:PATH")
    user, kind, namespace, name = src_t or dst_t
    namespace = namespace_arg(args, namespace)
    _resolve(api, kind, namespace, name)
    host = f"{kind}.{name}.{namespace}"
    host = f"{user}@{host}" if user else host
    src = f"{host}:{src}" if src_t else src
    dst = f"{host}:{dst}" if dst_t else dst
    argv = ["scp", *_client_options(args, kind, namespace, name), *(["-r"] if args.recursive else []),
            *(["-p"] if args.preserve else []), src, dst]
    return subprocess.run(argv).returncode


def _default_username() -> str:
    for env in ("USER", "USERNAME", "LOGNAME"):
        if os.environ.get(env):
            return os.environ[env]
    return ""


def add_parsers(sub, ns) -> None:
    pf = sub.add_parser("port-forward", help="forward local ports to a VM's or VMI's guest: TYPE/NAME[/NS] "
                        "[tcp/]LOCAL[:REMOTE] ...")
    pf.add_argument("target", help="vmi/NAME[/NAMESPACE] or vm/NAME[/NAMESPACE] (legacy: vmi/NAME.NAMESPACE)")
    pf.add_argument("ports", nargs="+", metavar="[tcp/]LOCAL[:REMOTE]")
    pf.add_argument("--address", default="127.0.0.1", help="the local address to listen on (default 127.0.0.1)")
    # Go's bool flags: --stdio or --stdio=true|false, never a separate value (argparse matches the
    # whole `--stdio=true` string as an option of its own before it splits at '=').
    pf.add_argument("--stdio", "--stdio=true", action="store_true", dest="stdio",
                    help="--stdio[=true]: tunnel stdin/stdout to the one port (an ssh ProxyCommand)")
    pf.add_argument("--stdio=false", action="store_false", dest="stdio", help=argparse.SUPPRESS)
    ns(pf)
    pf.set_defaults(func=cmd_port_forward)

    def ssh_flags(sp):
        sp.add_argument("-p", "--port", type=int, default=22, help="the guest's SSH port (default 22)")
        sp.add_argument("-l", "--username", default=_default_username(), help="the user (default: $USER)")
        sp.add_argument("-i", "--identity-file", help="a private key for the guest")
        sp.add_argument("--known-hosts", default=os.path.join(os.path.expanduser("~"), ".ssh", "kubevirt_known_hosts"),
                        help="known_hosts file (default ~/.ssh/kubevirt_known_hosts)")
        sp.add_argument("-t", "--local-ssh-opts", action="append", metavar="OPTS",
                        help='more options for the local ssh client, e.g. "-o StrictHostKeyChecking=no"; repeatable')
        ns(sp)

    sh = sub.add_parser("ssh", help="ssh into a guest through port-forward: [USER@]vmi/NAME[/NS] [-c CMD]")
    sh.add_argument("target", metavar="[USER@]TYPE/NAME[/NAMESPACE]")
    sh.add_argument("-c", "--command", help="run this command instead of a shell")
    ssh_flags(sh)
    sh.set_defaults(func=cmd_ssh)

    sc = sub.add_parser("scp", help="copy files to or from a guest: scp SRC DST, one of them TYPE/NAME[/NS]:PATH")
    sc.add_argument("source")
    sc.add_argument("destination")
    sc.add_argument("-r", "--recursive", action="store_true")
    sc.add_argument("--preserve", action="store_true", help="keep modification times and modes")
    ssh_flags(sc)
    sc.set_defaults(func=cmd_scp)

