"""Issue 13, item 6: a 100-VM churn with kill -9 of api, controller and handler in turn loses no
acknowledged write and converges to exactly one Running VMI per VM, with exactly one launcher
process per VM (found in /proc, not through pid files), none duplicated, none orphaned; and no
launcher outlives `virtmesh up`'s shutdown."""
import json
import os
import shutil
import signal
import threading
import time

from harness import Mesh, short_tmpdir, vm_manifest
from services.common import launcherlock

N = 100


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _state(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return ""


def launcher_processes(data_dir: str) -> dict[int, str]:
    """pid -> VMI uid of every live launcher process of this data dir, from /proc: a process running
    services.launcher (plain, or a child of the zygote, which keeps the zygote's command line) for
    this data dir; the zygote itself (the process with the zygote's listening socket) is none, nor is
    its spare (comm launcher-spare: no VMI's yet)."""
    run = os.path.join(data_dir, "run")
    zygote_sockets = set()
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if len(fields) >= 8 and os.path.basename(fields[7]).startswith("zygote-") \
                    and os.path.dirname(fields[7]) == run:
                zygote_sockets.add(f"socket:[{fields[6]}]")
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        cmd = _cmdline(pid)
        if "services.launcher" not in cmd or f"--data-dir {data_dir} " not in cmd + " ":
            continue
        state = _state(pid)
        if state in ("", "Z") or launcherlock.comm(int(pid)) == launcherlock.SPARE_COMM:
            continue
        try:
            fds = [os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            continue
        if zygote_sockets & set(fds):
            continue
        uids = [os.path.basename(t)[2:-4] for t in fds
                if os.path.dirname(t) == run and os.path.basename(t).startswith("l-") and t.endswith(".pid")]
        out[int(pid)] = uids[0] if uids else ""
    return out


def noted_pids(data_dir: str) -> set[int]:
    run = os.path.join(data_dir, "run")
    out = set()
    for name in os.listdir(run):
        if name.startswith("l-") and name.endswith(".pid"):
            try:
                out.add(int(open(os.path.join(run, name)).read()))
            except (OSError, ValueError):
                pass
    return out


def spawned_at(data_dir: str, timeout: float) -> bool:
    """Wait until a launcher process exists that no pid file names yet (it is being spawned)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if set(launcher_processes(data_dir)) - noted_pids(data_dir):
            return True
        time.sleep(0.002)
    return False


def test_churn_of_100_vms_with_kill_9_of_each_service():
    d = short_tmpdir("vmchurn-")
    m = Mesh(d, "test:///default")
    started = time.monotonic()
    try:
        acknowledged: list[str] = []
        deleted: set[str] = set()
        errors: list[str] = []

        def cli(*args, input=None):
            for _ in range(100):  # the api may be restarting: retry like a user would
                r = m.cli(*args, input=input, check=False)
                if r.returncode == 0:
                    return True
                last = r.stderr
                time.sleep(0.2)
            errors.append(f"{args}: {last}")
            return False

        def creator():
            for batch in range(N // 5):
                names = [f"churn{i:03d}" for i in range(batch * 5, batch * 5 + 5)]
                if cli("apply", "-f", "-", input="---".join(vm_manifest(n) for n in names)):
                    acknowledged.extend(names)
                if batch % 4 == 3:  # churn: delete one of the earlier VMs
                    name = f"churn{batch * 5 - 7:03d}"
                    if cli("delete", "vm", name):
                        deleted.add(name)

        t = threading.Thread(target=creator)
        t.start()
        for service in ("handler", "api", "handler", "controller"):
            time.sleep(1.5)
            pid = m.pid_of(service)
            assert pid, f"{service} not running"
            if service == "handler":
                # The sharpest moment: a launcher process has just been forked for a VMI and the
                # handler may not have noted it anywhere yet.
                caught = spawned_at(d, timeout=10)
            os.kill(pid, signal.SIGKILL)
            if service == "handler":
                print(f"handler killed at a spawn: {caught}")
            m.wait_for(lambda: m.pid_of(service) not in (0, pid), 20, f"{service} restarted")
        t.join(180)
        assert not t.is_alive() and not errors, errors
        survivors = sorted(set(acknowledged) - deleted)
        assert len(acknowledged) == N and len(deleted) == 5 and len(survivors) == N - 5


        def converged():
            vms = json.loads(m.cli("get", "vms", "-o", "json").stdout)["items"]
            vmis = json.loads(m.cli("get", "vmis", "-o", "json").stdout)["items"]
            by_owner: dict[str, list] = {}
            for v in vmis:
                for ref in v["metadata"].get("ownerReferences", []):
                    by_owner.setdefault(ref["uid"], []).append(v)
            names = {v["metadata"]["name"]: v for v in vms}
            bad = [n for n in survivors if n not in names
                   or [x.get("status", {}).get("phase") for x in by_owner.get(names[n]["metadata"]["uid"], [])]
                   != ["Running"]]
            procs = launcher_processes(d)
            uids = [u for u in procs.values() if u]  # (a launcher holds its VMI's pid file open)
            vmi_uids = {v["metadata"]["uid"] for v in vmis}
            if bad or set(names) != set(survivors) or len(vmis) != len(survivors) or len(procs) != len(survivors) \
                    or len(uids) != len(set(uids)) or not set(uids) <= vmi_uids:
                return False, bad[:5], len(names), len(vmis), len(procs), len(set(uids))
            return True

        try:
            m.wait_for(lambda: converged() is True, 120, "every VM with one Running VMI and one launcher",
                       interval=1.0)
        except AssertionError as e:  # (ok, VMs not right, #VMs, #VMIs, #launcher processes, #their uids)
            raise AssertionError(f"not converged: {converged()}") from e
        assert len(launcher_processes(d)) == N - 5
    finally:
        m.stop()
        left = launcher_processes(d)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        shutil.rmtree(d, ignore_errors=True)
        print(f"churn test: {time.monotonic() - started:.1f}s")
    assert not left, f"{len(left)} launcher(s) outlived virtmesh up's shutdown"
    assert not m.leftover


def test_up_shutdown_stops_a_launcher_its_handler_never_noted():
    """A launcher whose handler was killed before noting it (no pid file written by any handler)
    does not outlive `virtmesh up`'s shutdown."""
    import subprocess
    import sys
    from harness import ROOT
    d = short_tmpdir("vmupstop-")
    m = Mesh(d, "test:///default")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "services.launcher", "--data-dir", d, "--uid", "u-orphan",
                                 "--namespace=default", "--name=orphan", "--libvirt-uri", "test:///default",
                                 "--emulation", "emulation"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env=dict(os.environ, PYTHONPATH=ROOT), cwd=ROOT, start_new_session=True)
        m.wait_for(lambda: os.path.exists(os.path.join(d, "run", "l-u-orphan.sock")), 30, "launcher serving")
    finally:
        m.stop()
        try:
            alive = proc.poll() is None
        finally:
            proc.kill()
            proc.wait()
            shutil.rmtree(d, ignore_errors=True)
    assert not alive, "a launcher outlived virtmesh up's shutdown"
