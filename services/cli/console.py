"""`virtmesh console`: the VMI's serial console over the api's Console stream (virtctl console).

Interactive: the terminal goes raw, keys go to the guest, Ctrl-] leaves. With --no-stdin the
guest's output is printed from its first byte until --timeout passes or the guest stops.
"""
from __future__ import annotations

import gc
import os
import queue
import select
import sys
import termios
import threading
import tty

import grpc

from services.common import proto

ESCAPE = b"\x1d"  # Ctrl-]


def run(stub, namespace: str, name: str, no_stdin: bool, timeout: float | None) -> int:
    first = proto.api.ConsoleRequest(namespace=namespace, name=name, fromStart=no_stdin)
    out = sys.stdout.buffer
    if no_stdin:
        requests = iter([first])
        return _stream(stub, requests, out, timeout)
    inputs: queue.Queue = queue.Queue()
    stop = threading.Event()

    def requests_gen():
        yield first
        while not stop.is_set():
            try:
                data = inputs.get(timeout=0.2)
            except queue.Empty:
                continue
            if data is None:
                return
            yield proto.api.ConsoleRequest(data=data)

    fd = sys.stdin.fileno()
    raw = os.isatty(fd)
    saved = termios.tcgetattr(fd) if raw else None
    print(f"Successfully connected to {name} console. The escape sequence is ^]", file=sys.stderr)
    call_holder: dict = {}

    def reader():
        while not stop.is_set():
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                continue
            data = os.read(fd, 1024)
            if not data or ESCAPE in data:
                stop.set()
                inputs.put(None)
                if "call" in call_holder:
                    call_holder["call"].cancel()
                _exit_if_stuck(fd, saved)
                return
            inputs.put(data)

    try:
        if raw:
            tty.setraw(fd)
        threading.Thread(target=reader, daemon=True).start()
        rc = _stream(stub, requests_gen(), out, timeout, call_holder, stop)
    finally:
        stop.set()
        if saved is not None:   # (raw)
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
            print("", file=sys.stderr)
    # Leave without the interpreter's finalization: it collects the cancelled call, and grpc-python's
    # _Rendezvous.__del__ then waits forever for a lock its threads (frozen by the finalization, the
    # leave-timer's too) still hold. Seen in a clean-clone CI run: `virtmesh console demo </dev/null`
    # stuck in Condition.__enter__ under _Rendezvous.__del__ with no frame of ours left.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(rc)


LEAVE_SECONDS = 3.0   # after ^] or the end of stdin, how long gRPC may take to end the call


def _exit_if_stuck(fd: int, saved) -> None:
    """The user left: the call was cancelled and the stream should end at once. grpc-python has been
    seen to hang there now and then (a lock held by the cancelled call, CI's README run): a short-lived
    CLI then leaves anyway, with the terminal restored."""
    def leave():
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        sys.stdout.flush()
        os._exit(0)
    timer = threading.Timer(LEAVE_SECONDS, leave)
    timer.daemon = True
    timer.start()


def _stream(stub, requests, out, timeout, holder=None, stop=None) -> int:
    # No cyclic garbage collection while the stream runs: a collection that happens while gRPC holds a
    # call's lock can run a gRPC _Rendezvous.__del__ that waits for that same lock (seen here: the
    # console hung in Condition.__enter__ under _Rendezvous.__del__ after ^]/EOF). The CLI is short-lived.
    gc.disable()
    call = stub.Console(requests, timeout=timeout)
    if holder is not None:
        holder["call"] = call
    if stop is not None and stop.is_set():   # stdin ended (or ^]) before the call existed
        call.cancel()
    try:
        for chunk in call:
            out.write(chunk.data)
            out.flush()
    except grpc.RpcError as e:
        if e.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED):
            return 0
        raise
    except BrokenPipeError:
        return 0
    return 0
