"""Issue 13: a handler killed between a launcher's spawn and noting it loses nothing: a restarted
handler finds every live launcher (it holds its own pid file's lock), and never starts a second
launcher for a VMI uid that has one."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from harness import ROOT, short_tmpdir
from services.common import paths, proto
from services.handler.launchers import Launchers


@pytest.fixture
def data_dir():
    d = short_tmpdir("vmld-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def launcher(d, uid):
    """A launcher started as a handler would, by a handler that died before noting it anywhere."""
    return subprocess.Popen([sys.executable, "-m", "services.launcher", "--data-dir", d, "--uid", uid,
                             "--namespace=default", "--name=a", "--libvirt-uri", "test:///default",
                             "--emulation", "emulation"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT, start_new_session=True)


async def test_a_restarted_handler_finds_an_unnoted_launcher_and_spawns_no_duplicate(data_dir):
    data = paths.DataDir(data_dir).ensure()
    proc = launcher(data_dir, "u1")
    try:
        deadline = time.monotonic() + 30
        while not os.path.exists(data.launcher_socket("u1")):
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.05)
        ls = Launchers(data, "test:///default", "emulation", lambda uid: None, zygote=None, node="n1")
        assert ls.discover() == ["u1"] and ls.get("u1").pid == proc.pid
        await ls.forget("u1")
        vmi = proto.kv.VirtualMachineInstance()
        vmi.metadata.uid, vmi.metadata.namespace, vmi.metadata.name = "u1", "default", "a"
        h = await ls.spawn(vmi)             # the VMI still Scheduled: the live launcher is its launcher
        assert h.pid == proc.pid and h.proc is None
        assert await ls.wait_ready(h, 10) == ""
        await ls.forget("u1")
        assert os.path.exists(data.launcher_pid("u1"))  # a live launcher's pid file stays
    finally:
        proc.kill()
        proc.wait()
