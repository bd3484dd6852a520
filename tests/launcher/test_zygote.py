"""Issue 13: the root launcher zygote's socket is root's only whatever the umask, and a request
names only a VMI: the zygote never creates a file at a path its caller chooses."""
import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from harness import ROOT, short_tmpdir
from services.common import paths


@contextlib.contextmanager
def zygote(d):
    sock = os.path.join(d, "run", "z.sock")
    old = os.umask(0)  # the zygote must not depend on the umask it was started with
    try:
        env = dict(os.environ, PYTHONPATH=ROOT)
        proc = subprocess.Popen([sys.executable, "-m", "services.launcher.zygote", "--socket", sock,
                                 "--data-dir", d, "--libvirt-uri", "test:///default", "--emulation", "emulation"],
                                env=env, cwd=ROOT)
    finally:
        os.umask(old)
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(sock):
            assert proc.poll() is None and time.monotonic() < deadline, "zygote did not listen"
            time.sleep(0.05)
        yield sock
    finally:
        proc.terminate()
        proc.wait(10)


def ask(sock, req) -> dict:
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(sock)
        s.sendall(json.dumps(req).encode() + b"\n")
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    return json.loads(buf)


@pytest.fixture
def data_dir():
    d = short_tmpdir("vmzyg-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_zygote_socket_is_root_only_and_callers_choose_no_path(data_dir):
    target = os.path.join(data_dir, "chosen-by-caller")
    with zygote(data_dir) as sock:
        assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700
        # The old protocol: an argv and a log path of the caller's choosing.
        reply = ask(sock, {"argv": ["--data-dir", data_dir, "--uid", "u", "--namespace", "n", "--name", "x"],
                           "log": target})
        assert "error" in reply
        for uid in ("../../escape", "a/b", "", ".", 7):
            reply = ask(sock, {"uid": uid, "namespace": "default", "name": "x"})
            assert "error" in reply, uid
        reply = ask(sock, {"uid": "u1", "namespace": "default", "name": "--data-dir=/"})
        assert "pid" in reply
        pid = reply["pid"]
        try:
            log = os.path.join(data_dir, "vms", "u1", "launcher.log")
            deadline = time.monotonic() + 10
            while not os.path.exists(log) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(os.path.dirname(log)).st_mode) == 0o700
            # the launcher took the name as a name, not as an option: it serves in this data dir
            sock_l = os.path.join(data_dir, "run", "l-u1.sock")
            while not os.path.exists(sock_l) and time.monotonic() < deadline:
                time.sleep(0.02)
            assert stat.S_IMODE(os.stat(sock_l).st_mode) == 0o600, open(log).read()
        finally:
            os.kill(pid, signal.SIGKILL)
    assert not os.path.exists(target)
    assert not os.path.exists(os.path.join(data_dir, "escape"))


def spares(data_dir) -> list[int]:
    """The zygote's spare launchers (comm launcher-spare, the zygote's command line) for this data dir."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f, open(f"/proc/{pid}/cmdline") as g:
                if f.read().strip() == "launcher-spare" and data_dir in g.read():
                    out.append(int(pid))
        except OSError:
            pass
    return out


def exited(pid: int) -> bool:
    """Every thread of the process gone (its files are closed only once the last one is: gRPC's threads
    may still be exiting when the main one shows as a zombie)."""
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return True
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                    return False
        except OSError:
            pass
    return True


def wait_until(what, timeout=10):
    deadline = time.monotonic() + timeout
    while not (got := what()):
        assert time.monotonic() < deadline, what
        time.sleep(0.01)
    return got


def policies(pid: int) -> set[int]:
    """The scheduling policies of the threads of process `pid`."""
    out = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            out.add(os.sched_getscheduler(int(tid)))
        except OSError:
            pass
    return out


def test_an_idle_zygote_keeps_a_spare_which_the_next_request_takes(data_dir):
    """Idle, the zygote forks one spare launcher ahead; a refused request leaves it, the next one is
    answered with it, and it serves that VMI; a burst finds none and forks; a spare that died is replaced by a fork; the zygote's end is the
    spare's."""
    launched = []
    with zygote(data_dir) as sock:
        try:
            spare = wait_until(lambda: spares(data_dir))
            assert len(spare) == 1
            assert not any(n.startswith("l-") for n in os.listdir(os.path.join(data_dir, "run")))   # no VMI yet
            # Made ready at idle priority (it never slows a running guest down); ready, it only waits, at the
            # normal priority its VMI's launcher needs (nobody waits on a renice of its threads then)...
            wait_until(lambda: paths.DataDir(data_dir).spare_sockets().get(spare[0]))
            wait_until(lambda: policies(spare[0]) == {os.SCHED_OTHER})
            assert "error" in ask(sock, {"uid": "../x", "namespace": "default", "name": "x"})   # leaves it be
            for uid in ("u1", "u2"):   # one after the other: the second has no spare yet, and forks
                reply = ask(sock, {"uid": uid, "namespace": "default", "name": "x"})
                launched.append(reply["pid"])
            assert launched[0] == spare[0] and launched[1] != spare[0]
            for uid, pid in zip(("u1", "u2"), launched):
                wait_until(lambda: os.path.exists(os.path.join(data_dir, "run", f"l-{uid}.sock")))
                assert int(open(os.path.join(data_dir, "run", f"l-{uid}.pid")).read()) == pid
                with open(f"/proc/{pid}/comm") as f:
                    assert f.read().strip() == "launcher"
                assert policies(pid) == {os.SCHED_OTHER}   # ...and a launcher like any other, with its VMI
            assert "launcher for default/x (u1)" in open(os.path.join(data_dir, "vms", "u1", "launcher.log")).read()
            dead = wait_until(lambda: spares(data_dir))[0]   # idle again: the next spare
            os.kill(dead, signal.SIGKILL)
            wait_until(lambda: exited(dead))
            reply = ask(sock, {"uid": "u3", "namespace": "default", "name": "x"})
            launched.append(reply["pid"])
            assert reply["pid"] != dead
            wait_until(lambda: os.path.exists(os.path.join(data_dir, "run", "l-u3.sock")))
            spare = wait_until(lambda: spares(data_dir))
        finally:
            for pid in launched:
                os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not spares(data_dir), 5)


def test_a_spare_serves_before_its_vmi_and_its_connection_reaches_that_vmis_launcher(data_dir):
    """A spare's gRPC server serves at run/spare-<pid>.sock before any request (the handler dials it ahead).
    A call made on that connection before the assignment waits, and the VMI's launcher answers it; the
    VMI's socket is the same socket, and both names go when the launcher exits."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    from services.common import proto
    data = paths.DataDir(data_dir)
    with zygote(data_dir) as sock:
        pid = wait_until(lambda: spares(data_dir))[0]
        spare_sock = wait_until(lambda: data.spare_sockets().get(pid))
        assert stat.S_IMODE(os.stat(spare_sock).st_mode) == 0o600
        with grpc.insecure_channel(f"unix://{spare_sock}") as channel:
            assert health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10).status == \
                health_pb2.HealthCheckResponse.SERVING
            early = proto.launcher_grpc.CmdStub(channel).Info.future(proto.launcher.EmptyRequest(), timeout=20)
            time.sleep(0.3)
            assert not early.done()   # no VMI to answer for yet
            reply = ask(sock, {"uid": "u1", "namespace": "default", "name": "x"})
            assert reply["pid"] == pid
            try:
                info = early.result()
                assert (info.vmiUid, info.pid) == ("u1", pid)
                vmi_sock = data.launcher_socket("u1")
                assert os.stat(vmi_sock).st_ino == os.stat(spare_sock).st_ino
                with grpc.insecure_channel(f"unix://{vmi_sock}") as by_name:
                    assert proto.launcher_grpc.CmdStub(by_name).Info(proto.launcher.EmptyRequest(),
                                                                     timeout=10).vmiUid == "u1"
            finally:
                os.kill(pid, signal.SIGTERM)   # a graceful exit removes both of its names
            wait_until(lambda: exited(pid))
        assert not os.path.exists(spare_sock) and not os.path.exists(data.launcher_socket("u1"))


def test_a_spare_stopped_before_its_vmi_exits_and_takes_its_socket_along(data_dir):
    """SIGTERM reaches a spare as it reaches a launcher (its handlers are made while it gets ready): with no VMI
    yet, it stops serving and exits, and its socket goes; the next request gets another launcher."""
    data = paths.DataDir(data_dir)
    with zygote(data_dir) as sock:
        pid = wait_until(lambda: spares(data_dir))[0]
        spare_sock = wait_until(lambda: data.spare_sockets().get(pid))
        os.kill(pid, signal.SIGTERM)
        wait_until(lambda: exited(pid))
        assert not os.path.exists(spare_sock)
        launched = ask(sock, {"uid": "u1", "namespace": "default", "name": "x"})["pid"]
        try:
            assert launched != pid
            wait_until(lambda: os.path.exists(data.launcher_socket("u1")))
        finally:
            os.kill(launched, signal.SIGKILL)


def test_a_request_can_hold_the_next_spare_back(data_dir):
    """A request's spare_after (a migration target's launcher: its job first) holds the next spare's fork
    back that long; one out of bounds is refused, and the spare left as it is."""
    with zygote(data_dir) as sock:
        first = wait_until(lambda: spares(data_dir))[0]
        for bad in (-1, 11, "1", None):
            assert "spare_after" in ask(sock, {"uid": "u0", "namespace": "default", "name": "x",
                                               "spare_after": bad})["error"]
        assert spares(data_dir) == [first]
        launched = ask(sock, {"uid": "u1", "namespace": "default", "name": "x", "spare_after": 2.5})["pid"]
        try:
            assert launched == first
            time.sleep(1.5)
            assert spares(data_dir) == []   # held back: the default would have forked it after 0.2 s
            wait_until(lambda: spares(data_dir), 5)
        finally:
            os.kill(launched, signal.SIGKILL)
