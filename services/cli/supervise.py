"""The part of `virtmesh up` that stays: the mesh's services as child processes, restarted when one dies
(a tiny stand-in for Kubernetes' Deployments and DaemonSet), and the mesh stopped on SIGINT/SIGTERM
(services, then the VMs' launchers, then the pod network's DHCP server).

`virtmesh up` starts the mesh with the whole CLI imported (gRPC for the health checks, the kube client
for the CRDs), then hands its children over by exec-ing `python -m services.cli.supervise STATE`, the
same process with only this module's few imports: the supervisor lives as long as the mesh, and the
CLI's modules would cost it ~20 MiB of private memory for nothing (issue 19 item 8, the control
plane's PSS; bench/idle.py). SIGINT and SIGTERM stay blocked across the exec, so none is lost.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from services.common import launcherlock, network, paths

STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
USAGE_ERROR = 2                  # a service's exit status for a command line it refuses (argparse)
STATE_FILE = "supervisor.json"   # in the data dir's run/: what the exec'd supervisor takes over


def say(msg: str) -> None:
    print(f"virtmesh: {msg}", file=sys.stderr, flush=True)


class Services:
    """`specs`: {name: argv}, logs in DATA_DIR/logs/<name>.log. `pids` are children already running
    (handed over)."""

    def __init__(self, data_root: str, node: str, specs: dict[str, list[str]], keep_vms: bool = False,
                 pids: dict[str, int] | None = None, env: dict[str, str] | None = None):
        self.data = paths.DataDir(data_root)
        self.node, self.specs, self.keep_vms = node, specs, keep_vms
        self.env = env   # the services' environment (None: this process's)
        self.pids: dict[str, int] = dict(pids or {})
        self.exits: dict[str, int] = {}   # name -> exit status of a child reaped while we looked
        self.stopping = False

    def start(self, name: str) -> None:
        log = paths.open_private(os.path.join(self.data.logs, f"{name}.log"))
        try:
            # Own session: a Ctrl-C on the terminal reaches `up` only, which stops the mesh in order.
            proc = subprocess.Popen(self.specs[name], stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True, env=self.env)
        finally:
            os.close(log)
        self.pids[name] = proc.pid
        self.exits.pop(name, None)

    def exited(self, name: str) -> int | None:
        """The child's exit status once it has exited (reaped here), else None."""
        if name in self.exits:
            return self.exits[name]
        try:
            pid, status = os.waitpid(self.pids[name], os.WNOHANG)
        except ChildProcessError:
            pid, status = self.pids[name], 0
        if pid == 0:
            return None
        self.exits[name] = os.waitstatus_to_exitcode(status)
        return self.exits[name]

    def handle_signals(self) -> None:
        def stop(signum, frame):
            self.stopping = True
        for s in STOP_SIGNALS:
            signal.signal(s, stop)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)

    def last_words(self, name: str) -> str:
        """The last line of the service's log: why it exited, when it said."""
        try:
            with open(os.path.join(self.data.logs, f"{name}.log"), "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - 4096))
                lines = f.read().decode("utf-8", "replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1].strip() if lines else ""

    def watch(self) -> int:
        """Restart whoever dies until a stop signal; then stop the mesh. A service that refuses its command
        line (argparse's usage error, status 2) would refuse it again: the mesh stops, saying why."""
        restarts: dict[str, float] = {}
        refused = False
        while not self.stopping:
            time.sleep(0.2)
            for name in list(self.pids):
                code = self.exited(name)
                if code is None or self.stopping:
                    continue
                why = self.last_words(name)
                if code == USAGE_ERROR:
                    say(f"{name} refused its command line: {why}")
                    self.stopping = refused = True
                    break
                # Back off a little if a service keeps dying, like a CrashLoopBackOff.
                wait = 0.2 if time.monotonic() - restarts.get(name, 0) > 10 else 2.0
                say(f"{name} exited with {code}{f' ({why})' if why and code > 0 else ''}; restarting")
                time.sleep(wait)
                restarts[name] = time.monotonic()
                self.start(name)
        self.shutdown()
        return USAGE_ERROR if refused else 0

    def _stop(self, name: str, timeout: float = 10) -> None:
        if name not in self.pids or self.exited(name) is not None:
            return
        os.kill(self.pids[name], signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.exited(name) is None:
            if time.monotonic() > deadline:
                os.kill(self.pids[name], signal.SIGKILL)
                os.waitpid(self.pids[name], 0)
                return
            time.sleep(0.02)

    def shutdown(self) -> None:
        say("stopping the mesh")
        for name in ("handler", "controller", "api"):
            self._stop(name)
        if self.keep_vms:
            return
        # Every live launcher holds the lock of its pid file (launcherlock), whoever started it and
        # whether or not a handler noted it; one that was starting as the handler stopped shows up
        # on a later pass.
        termed: set[int] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            live = set(launcherlock.held(self.data.run).values())
            # A launcher lets go of its pid file just before it exits: gone means its process too.
            if not live and not any(launcherlock.pid_alive(pid) for pid in termed):
                self._stop_dhcp()
                return
            for pid in live - termed:
                try:
                    os.kill(pid, signal.SIGTERM)  # the launcher shuts its guest down and exits
                except OSError:
                    pass
                termed.add(pid)
            time.sleep(0.1)
        say(f"{len(launcherlock.held(self.data.run))} launcher(s) still running after 60s")

    def _stop_dhcp(self) -> None:
        """The node's pod network DHCP server (handler/podnet.py) outlives the handler, as the VMs do;
        with the VMs gone it has no one left to serve."""
        try:
            pid = int(open(os.path.join(self.data.pod_network(self.node), network.DHCP_PID_FILE)).read())
            if open(f"/proc/{pid}/comm").read().strip() == "dnsmasq":
                os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass

    def hand_over(self) -> None:
        """Become `python -m services.cli.supervise` (same pid, same children), in the services'
        environment (what restarted services inherit). Stop signals are blocked from here on; the new image
        unblocks them once it handles them, so one that comes meanwhile waits instead of killing us."""
        signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        if self.stopping:   # a stop came while the mesh was starting
            signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
            return
        state = os.path.join(self.data.run, STATE_FILE)
        fd = paths.open_private(state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w") as f:
            json.dump({"data_dir": self.data.root, "node": self.node, "specs": self.specs,
                       "keep_vms": self.keep_vms, "pids": self.pids}, f)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, [sys.executable, "-m", "services.cli.supervise", state],
                  os.environ if self.env is None else self.env)


def main(argv: list[str]) -> int:
    with open(argv[0]) as f:
        state = json.load(f)
    os.unlink(argv[0])
    services = Services(state["data_dir"], state["node"], state["specs"], state["keep_vms"], state["pids"])
    services.handle_signals()
    return services.watch()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
