"""Several libvirt nodes on this machine and a mesh over them, for live migration (tests and bench).

`Nodes` drives `tools/host.sh node` (each node a libvirtd in its own namespaces with an address on veths
to the others); `MigrationMesh` runs `virtmesh up` on the first node (api, controller, its handler) and
one more handler per further node, each with its own data dir and `--migration-address`, all against the
first node's api. Everything is stopped and removed by `close()`. Below them, what the migration tests
share: a VMI's console followed across nodes, its TICKs, and `virtmesh migrate` with its migration's phases.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import grpc

from services.common import manifest, proto

from harness import ROOT, Mesh, scrape_metrics, short_tmpdir

HOST_SH = os.path.join(ROOT, "tools", "host.sh")
NS = "e2e"   # the migration tests' namespace
TICK = re.compile(r"VIRTMESH-TICK (\d+)")


def prerequisites() -> str:
    """Why nodes cannot run here ("" when they can)."""
    for tool in ("unshare", "nsenter", "ip", "virsh"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if os.geteuid() != 0:
        return "nodes need root (namespaces, libvirtd)"
    return ""


@contextlib.contextmanager
def mesh_on_nodes(addresses: dict[str, str], extra_env: dict | None = None):
    """A MigrationMesh over fresh nodes (name -> address), closed after; a test without the prerequisites is
    skipped (failed in CI)."""
    import pytest
    why = prerequisites()
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"e2e prerequisite missing in CI: {why}")
        pytest.skip(why)
    nodes = Nodes(addresses)
    try:
        mm = MigrationMesh(nodes, extra_env)
        try:
            yield mm
        finally:
            mm.close()
    finally:
        nodes.close()


class Nodes:
    def __init__(self, names_addresses: dict[str, str]):
        self.dir = short_tmpdir("vmnodes-")
        self.env = dict(os.environ, VIRTMESH_NODES=self.dir)
        self.addresses = dict(names_addresses)
        self.uris: dict[str, str] = {}
        try:
            for name, addr in self.addresses.items():
                self.uris[name] = self._host("start", name, addr).strip().splitlines()[-1]
            names = list(self.addresses)
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    self._host("link", a, b)
        except BaseException:
            self.close()
            raise

    def _host(self, *args: str) -> str:
        r = subprocess.run(["bash", HOST_SH, "node", *args], env=self.env, capture_output=True, text=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            raise RuntimeError(f"host.sh node {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def run_dir(self, name: str) -> str:
        """The node's /run/libvirt (QEMU's pid files are in qemu/<domain>.pid)."""
        return os.path.join(self.dir, name, "run", "libvirt")

    def qemu_pid(self, name: str, domain: str) -> int:
        try:
            with open(os.path.join(self.run_dir(name), "qemu", f"{domain}.pid")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return 0
        return pid if os.path.exists(f"/proc/{pid}") else 0

    def domains(self, name: str) -> list[str]:
        r = subprocess.run(["virsh", "-c", self.uris[name], "list", "--name"], capture_output=True, text=True)
        return r.stdout.split()

    def close(self) -> None:
        def stop(name):
            try:
                self._host("stop", name)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        stops = [threading.Thread(target=stop, args=(name,)) for name in self.addresses]   # ~2-4 s each
        for t in stops:
            t.start()
        for t in stops:
            t.join()
        shutil.rmtree(self.dir, ignore_errors=True)


class MigrationMesh:
    """`virtmesh up` on the first node (node01) plus a handler per further node (node02, …)."""

    def __init__(self, nodes: Nodes, extra_env: dict | None = None):
        self.nodes = nodes
        self.node_of: dict[str, str] = {}           # mesh node name -> libvirt node name
        self.data_dirs: dict[str, str] = {}
        self.handlers: dict[str, subprocess.Popen] = {}
        names = list(nodes.addresses)
        first = names[0]
        d = short_tmpdir("vmmig-")
        self.data_dirs["node01"], self.node_of["node01"] = d, first
        env = {"VIRTMESH_MIGRATION_ADDRESS": nodes.addresses[first], **(extra_env or {})}
        try:
            self.mesh = Mesh(d, nodes.uris[first], env=env)
            for i, name in enumerate(names[1:], start=2):
                self._handler(f"node{i:02d}", name, extra_env)
        except BaseException:
            self.close()
            raise

    def _handler(self, node: str, libvirt_node: str, extra_env, d: str | None = None) -> None:
        d = d or short_tmpdir(f"vmmig-{node}-")
        self.data_dirs[node], self.node_of[node] = d, libvirt_node
        self.extra_env = extra_env
        log = open(os.path.join(d, "handler.log"), "ab")
        env = dict(self.mesh.env, **(extra_env or {}))
        self.handlers[node] = subprocess.Popen(
            [sys.executable, "-m", "services.handler", "--data-dir", d, "--node-name", node,
             "--api", f"unix://{self.mesh.data_dir}/run/api.sock", "--libvirt-uri", self.nodes.uris[libvirt_node],
             "--migration-address", self.nodes.addresses[libvirt_node],
             "--metrics-port", "0", "--metrics-address", "127.0.0.1"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        log.close()
        self.mesh.wait_for(lambda: self.mesh.node_ready(node), 60, f"{node} registered")

    def kill_handler(self, node: str) -> None:
        """kill -9 the node's handler (its launchers and QEMUs live on). node01's is a child of `virtmesh up`,
        which starts it again; another node's is started again, on the same data dir, by restart_handler."""
        if node in self.handlers:
            self.handlers[node].kill()
            self.handlers[node].wait(10)
            return
        d = self.data_dirs[node]
        argv = {int(p): _cmdline(int(p)) for p in os.listdir("/proc") if p.isdigit()}
        pids = [pid for pid, a in argv.items() if a[1:3] == ["-m", "services.handler"] and d in a]
        assert len(pids) == 1, pids
        os.kill(pids[0], signal.SIGKILL)

    def restart_handler(self, node: str) -> None:
        if node in self.handlers:
            self._handler(node, self.node_of[node], self.extra_env, self.data_dirs[node])

    def qemu_pid(self, node: str, domain: str) -> int:
        return self.nodes.qemu_pid(self.node_of[node], domain)

    def scrape(self, node: str, service: str = "handler") -> str:
        """A service's /metrics: node01's api/controller/handler, or another node's handler."""
        return scrape_metrics(self.data_dirs[node], service)

    def domains(self, node: str) -> list[str]:
        return self.nodes.domains(self.node_of[node])

    def launcher_pid(self, node: str, uid: str) -> int:
        try:
            with open(os.path.join(self.data_dirs[node], "run", f"l-{uid}.pid")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            return 0
        return pid if os.path.exists(f"/proc/{pid}") else 0

    def serial_log(self, node: str, uid: str) -> str:
        try:
            with open(os.path.join(self.data_dirs[node], "vms", uid, "serial0.log"), "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def logs_tail(self, n: int = 30) -> str:
        out = [self.mesh.logs_tail(n)]
        for node in self.handlers:
            p = os.path.join(self.data_dirs[node], "handler.log")
            if os.path.exists(p):
                out.append(f"--- {node} handler.log ---\n" + "".join(open(p).readlines()[-n:]))
        return "\n".join(out)

    def logs_about(self, words, limit: int = 200) -> str:
        """Every log line, of every service and launcher on every node, that names one of `words` (what a
        failed assertion shows: CI keeps no data dirs)."""
        out = []
        for node, d in self.data_dirs.items():
            for path in sorted(glob.glob(os.path.join(d, "**", "*.log"), recursive=True)):
                if path.endswith("serial0.log"):
                    continue
                try:
                    lines = open(path, errors="replace").readlines()
                except OSError:
                    continue
                hits = [ln for ln in lines if any(w in ln for w in words)]
                if hits:
                    out.append(f"--- {node} {os.path.relpath(path, d)} ---\n" + "".join(hits[-limit:]))
        return "\n".join(out)

    def close(self) -> None:
        for proc in self.handlers.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for node, d in self.data_dirs.items():
            if node == "node01":
                continue
            for pidfile in glob.glob(os.path.join(d, "run", "l-*.pid")):   # launchers outlive their handler
                try:
                    os.kill(int(open(pidfile).read()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        if getattr(self, "mesh", None) is not None:
            self.mesh.stop()
        time.sleep(0.2)
        for d in self.data_dirs.values():
            shutil.rmtree(d, ignore_errors=True)


def _cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().decode(errors="replace").split("\0")
    except OSError:
        return []


# ---------------------------------------------------------------- what the migration tests share

VM = """
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  runStrategy: Always
  template:
    spec:
      terminationGracePeriodSeconds: 0
{start}      domain:
        cpu: {{cores: 1}}
        memory: {{guest: {memory}}}
        devices: {{autoattachSerialConsole: true{disks}}}
        firmware:
          kernelBoot:
            kernelArgs: "console=ttyS0 quiet panic=-1 virtmesh.marker={marker}"
            container: {{image: "{image}", kernelPath: {kernel}, initrdPath: /initrd.img}}
{volumes}"""


def vm_manifest(name: str, marker: str, image: str, memory: str = "128Mi", kernel: str = "/kernel",
                disk_image: str = "", namespace: str = "e2e", paused: bool = False, user_data: str = "",
                config_map: str = "") -> str:
    """A VM of the test guest booting its kernel from `image` (a guest directory or a registry image), with
    a virtio disk `data` from the container disk `disk_image` if one is given, or else a virtio cloud-init
    (NoCloud) disk carrying `user_data` if that is given, and then a virtio disk `cfg` of the ConfigMap
    `config_map` if that is given; `paused`: started paused (startStrategy Paused), its guest never runs a
    cycle until unpaused."""
    start = "      startStrategy: Paused\n" if paused else ""
    names, sources = [], []
    if disk_image:
        names.append("data")
        sources.append(f'{{name: data, containerDisk: {{image: "{disk_image}"}}}}')
    elif user_data:
        names.append("data")
        sources.append(f"{{name: data, cloudInitNoCloud: {{userData: {json.dumps(user_data)}}}}}")
    if config_map:
        names.append("cfg")
        sources.append(f"{{name: cfg, configMap: {{name: {config_map}}}}}")
    disks = ", disks: [" + ", ".join(f"{{name: {n}, disk: {{bus: virtio}}}}" for n in names) + "]" if names else ""
    volumes = f"      volumes: [{', '.join(sources)}]\n" if sources else ""
    return VM.format(name=name, marker=marker, memory=memory, image=image, kernel=kernel, disks=disks,
                     volumes=volumes, namespace=namespace, start=start)


def ticks(text: str) -> list[int]:
    return [int(n) for n in TICK.findall(text)]


class Console:
    """The VMI's console through the api (node by node as the VMI moves): everything the guest wrote
    from the start of the current node's log, plus what we type."""

    def __init__(self, mm: MigrationMesh, name: str):
        ch = grpc.insecure_channel(f"unix://{mm.mesh.data_dir}/run/api.sock")
        self.stub = proto.api_grpc.SubresourcesStub(ch)
        self.name = name
        self.out = b""
        self.done = threading.Event()
        self.keys: list[bytes] = []
        self._wake = threading.Event()

    def follow(self) -> "Console":
        """Read in the background until the stream ends (the domain left this node) or close()."""
        def requests():
            yield proto.api.ConsoleRequest(namespace=NS, name=self.name, fromStart=True)
            while not self.done.is_set():
                self._wake.wait(0.2)
                self._wake.clear()
                while self.keys:
                    yield proto.api.ConsoleRequest(data=self.keys.pop(0))

        def run():
            try:
                self.call = self.stub.Console(requests())
                for chunk in self.call:
                    self.out += chunk.data
            except grpc.RpcError:
                pass
            finally:
                self.done.set()
        threading.Thread(target=run, daemon=True).start()
        return self

    def type(self, text: str) -> None:
        self.keys.append(text.encode())
        self._wake.set()

    def close(self) -> None:
        self.done.set()
        if hasattr(self, "call"):
            self.call.cancel()

    @property
    def text(self) -> str:
        return self.out.decode(errors="replace")


def migrations_of(m, name: str) -> list[dict]:
    """The VMI's migrations as `get -o json` prints them (through the api, not a CLI process per poll)."""
    with grpc.insecure_channel(f"unix://{m.data_dir}/run/api.sock") as ch:
        got = proto.api_grpc.ResourcesStub(ch).List(proto.api.ListRequest(kind=proto.VMIM, namespace=NS), timeout=10)
    items = [manifest.to_dict(proto.inner(o)) for o in got.items]
    return [x for x in items if x.get("spec", {}).get("vmiName") == name]


def latest(m, name: str) -> dict:
    return max(migrations_of(m, name), key=lambda x: (x["metadata"]["creationTimestamp"], x["metadata"]["name"]))


def migrate(m, name: str) -> dict:
    """`virtmesh migrate` and the migration it made (the newest of the VMI's)."""
    before = {x["metadata"]["name"] for x in migrations_of(m, name)}
    r = m.cli("migrate", name, "-n", NS)
    assert r.stdout.strip() == f"VM {name} was scheduled to migrate"
    return m.wait_for(lambda: next((x for x in migrations_of(m, name) if x["metadata"]["name"] not in before), None),
                      10, "the migration object")


def wait_phase(mm: MigrationMesh, name: str, mig: str, phases, timeout=60) -> dict:
    m = mm.mesh

    def done():
        x = next((x for x in migrations_of(m, name) if x["metadata"]["name"] == mig), None)
        return x if x and x.get("status", {}).get("phase") in phases else None
    try:
        return m.wait_for(done, timeout, f"migration {mig} {phases}", interval=0.2)
    except AssertionError as e:
        raise AssertionError(f"{e}\n{mm.logs_tail()}") from None
