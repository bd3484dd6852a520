"""Issue 13: a handler killed between a launcher's spawn and noting it loses nothing: a restarted
handler finds every live launcher (it holds its own pid file's lock), and never starts a second
launcher for a VMI uid that has one."""
import contextlib
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


def _vmi(uid):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.uid, vmi.metadata.namespace, vmi.metadata.name = uid, "default", f"vm-{uid}"
    return vmi


def info(channel):
    return proto.launcher_grpc.CmdStub(channel).Info(proto.launcher.EmptyRequest(), wait_for_ready=True, timeout=20)


async def test_the_handler_dials_the_zygotes_spare_ahead_and_its_vmi_uses_that_connection(data_dir):
    """The zygote's spare launcher is dialled before any VMI needs it; the spawn that gets it keeps that
    channel (its socket stays the spare's name), with the spawn's first call sent on it before the zygote
    was asked; the next spare is dialled in its turn. A launcher killed -9 leaves its spare socket, which
    forgetting it removes. A spare that died is not the next VMI's: its first call is not sent ahead."""
    import asyncio
    import signal

    from services.common import launcherlock
    from services.handler.launchers import Zygote
    data = paths.DataDir(data_dir).ensure()
    zygote = Zygote(os.path.join(data.run, "zygote-n1.sock"), os.path.join(data_dir, "zygote.log"), data_dir,
                    "test:///default", "emulation")
    zygote.start()
    ls = Launchers(data, "test:///default", "emulation", lambda uid: None, zygote=zygote, node="n1")
    launched = []
    try:
        assert ls.discover() == []
        deadline = time.monotonic() + 30
        while ls.spare is None:
            assert time.monotonic() < deadline, open(os.path.join(data_dir, "zygote.log")).read()
            await asyncio.sleep(0.05)
        dialled = ls.spare
        assert launcherlock.comm(dialled.pid) == launcherlock.SPARE_COMM
        h = await ls.spawn(_vmi("u1"), first=info)
        launched.append(h.pid)
        assert (h.pid, h.channel, h.socket) == (dialled.pid, dialled.channel, data.spare_socket(dialled.pid))
        assert dialled.uid == "u1" and ls.spare is not dialled
        assert (await h.first).vmiUid == "u1"   # sent before the zygote was asked, answered by u1's launcher
        assert await ls.wait_ready(h, 10) == ""
        while ls.spare is None:   # the zygote's next spare, dialled in its turn
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert ls.spare.pid != h.pid
        os.kill(h.pid, signal.SIGKILL)
        assert await ls.wait_exit(h, 10)
        await ls.forget("u1")
        assert not os.path.exists(data.spare_socket(h.pid))
        # The dialled spare dies: the zygote forks u2's launcher, and the call sent ahead is not u2's first.
        dead = ls.spare.pid
        os.kill(dead, signal.SIGKILL)
        while os.path.exists(f"/proc/{dead}"):   # (its pipe to the zygote closed only once it is reaped)
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        h2 = await ls.spawn(_vmi("u2"), first=info)
        launched.append(h2.pid)
        assert h2.first is None and h2.socket == data.launcher_socket("u2")
        assert await ls.wait_ready(h2, 10) == ""
    finally:
        for pid in launched:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        zygote.stop()
        zygote.proc.wait(10)
