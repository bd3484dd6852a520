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
