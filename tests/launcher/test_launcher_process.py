"""Issue 13: one launcher per VMI uid is a kernel-enforced fact (the launcher holds its pid file's
lock for its lifetime and writes its own pid first thing), and a normal shutdown logs no traceback."""
import os
import shutil
import signal
import subprocess
import sys
import time

import grpc
import pytest

from harness import ROOT, short_tmpdir
from services.common import launcherlock, paths, proto


@pytest.fixture
def data_dir():
    d = short_tmpdir("vmlp-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start(d, uid="u1", log="launcher.log"):
    out = open(os.path.join(d, log), "ab")
    return subprocess.Popen([sys.executable, "-m", "services.launcher", "--data-dir", d, "--uid", uid,
                             "--namespace=default", "--name=a", "--libvirt-uri", "test:///default",
                             "--emulation", "emulation"], stdout=out, stderr=subprocess.STDOUT,
                            env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT)


def wait(pred, timeout=30):
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_launcher_writes_and_locks_its_own_pid_file_and_a_duplicate_exits(data_dir):
    data = paths.DataDir(data_dir).ensure()
    first = start(data_dir)
    try:
        wait(lambda: os.path.exists(data.launcher_socket("u1")))
        assert open(data.launcher_pid("u1")).read() == str(first.pid)   # written by the launcher itself
        assert launcherlock.held(data.run) == {"u1": first.pid}
        second = start(data_dir, log="second.log")
        assert second.wait(30) == 0                                      # a second launcher for u1 exits
        assert "another launcher" in open(os.path.join(data_dir, "second.log")).read()
        assert first.poll() is None and launcherlock.holder(data.launcher_pid("u1")) == first.pid
    finally:
        first.kill()
        first.wait()
    assert launcherlock.held(data.run) == {}                            # kill -9 frees the lock


def test_normal_shutdown_with_a_follower_logs_no_traceback(data_dir):
    data = paths.DataDir(data_dir).ensure()
    proc = start(data_dir)
    try:
        wait(lambda: os.path.exists(data.launcher_socket("u1")))
        with grpc.insecure_channel(f"unix://{data.launcher_socket('u1')}") as ch:
            stream = proto.launcher_grpc.CmdStub(ch).DomainEvents(proto.launcher.EmptyRequest())
            next(stream)                                                # the handler follows the launcher
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0
            for _ in stream:                                            # the stream ends cleanly (OK),
                pass                                                    # not cancelled under the follower
    finally:
        if proc.poll() is None:
            proc.kill()
    log = open(os.path.join(data_dir, "launcher.log")).read()
    assert "exits" in log and "Traceback" not in log and "CancelledError" not in log, log
    assert not os.path.exists(data.launcher_pid("u1"))
