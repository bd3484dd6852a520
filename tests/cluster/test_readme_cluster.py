"""The README's "On a Kubernetes cluster" block, typed as it stands in the README, in a fresh shell: its
own control plane (tools/kube.sh with the test's state dir and free ports in the environment, which the
README's commands pass on) and its own data dir; a real QEMU guest, which must print its ready line, and
nothing of it (launcher, domain, QEMU) left once `kubectl delete vm demo` is through. (The cluster's
console as a websocket through the kube-apiserver: tests/cluster/test_subresource_api.py.)"""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from cluster.conftest import _free_port
from e2e.conftest import domains, host_ready, remove_domains  # noqa: F401 (fixture)
from harness import ROOT, short_tmpdir

pytestmark = [pytest.mark.cluster, pytest.mark.e2e, pytest.mark.timeout(900)]


def cluster_block() -> list[str]:
    text = open(os.path.join(ROOT, "README.md")).read()
    section = text.split("## On a Kubernetes cluster", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [c for c in (line.split("  #")[0].strip() for line in block.splitlines()) if c]


def test_the_readme_cluster_section_works_as_typed(host_ready):
    commands = cluster_block()
    assert commands[0] == "bash tools/kube.sh start" and commands[-1] == "kill %1; bash tools/kube.sh stop"
    data_dir, kube_dir = short_tmpdir("vmrdc-"), short_tmpdir("vmrdk-")
    log = os.path.join(kube_dir, "session.log")
    env = dict(os.environ, VIRTMESH_KUBE_DIR=kube_dir, VIRTMESH_KUBE_PORT=str(_free_port()),
               VIRTMESH_ETCD_PORT=str(_free_port()))
    env.pop("KUBECONFIG", None)
    lines = []
    for c in commands:
        if c.startswith("export VIRTMESH_DATA_DIR="):
            c = f"export VIRTMESH_DATA_DIR={data_dir}"   # the one thing that is the test's own
        lines.append(f"echo '$ {c}'; {c}" + (" </dev/null" if "virtmesh console" in c else ""))
        if "virtmesh up" in c:
            # as a person waits for "virtmesh: mesh is up" before going on
            lines.append(f"for _ in $(seq 600); do grep -q 'mesh is up' {log} && break; sleep 0.2; done")
        if c.startswith("kubectl wait vm demo"):
            # (the test's own check) the real guest boots: its ready line on the serial console
            lines.append(f"for _ in $(seq 450); do grep -qs 'VIRTMESH-READY demo' {data_dir}/vms/*/serial0.log && break;"
                         " sleep 0.2; done; echo guest: $(grep -ohs 'VIRTMESH-READY demo' "
                         f"{data_dir}/vms/*/serial0.log | head -1)")
        if c.startswith("kubectl wait --for=delete"):
            # (the test's own check) the deleted VM left no launcher, libvirt domain or QEMU behind
            lines.append(f"for _ in $(seq 300); do ls {data_dir}/run/l-*.pid >/dev/null 2>&1 || break; sleep 0.2; done")
            lines.append(f"echo launchers left: $(ls {data_dir}/run/ | grep -c '^l-.*[.]pid$')")
            lines.append("echo qemus left: $(pgrep -fc 'guest=default_dem[o]')")
    script = "\n".join([f"exec >{log} 2>&1", "set -e", *lines])
    try:
        r = subprocess.run(["bash", "-c", script], env=env, cwd=ROOT, timeout=900)
        out = open(log).read()
        assert r.returncode == 0, out[-6000:]
        assert "virtualmachine.kubevirt.io/demo created" in out
        assert re.search(r"^virtualmachine\.kubevirt\.io/demo\s+\S+\s+Running\s+True$", out, re.M), out
        assert re.search(r"^virtualmachineinstance\.kubevirt\.io/demo\s+\S+\s+Running\s+(\S+\s+)?node01\s+True$",
                         out, re.M), out
        assert re.search(r"^demo\s+\S+\s+Running\s+True$", out, re.M), out   # virtmesh get vms
        assert "Successfully connected to demo console" in out
        assert 'virtualmachine.kubevirt.io "demo" deleted' in out
        assert "guest: VIRTMESH-READY demo" in out
        assert "launchers left: 0" in out and "qemus left: 0" in out, out[-3000:]
        assert "default_demo" not in domains()
    finally:
        subprocess.run(["bash", "tools/kube.sh", "stop"], cwd=ROOT, env=env, capture_output=True, timeout=120)
        remove_domains("default_demo")
        shutil.rmtree(data_dir, ignore_errors=True)
        shutil.rmtree(kube_dir, ignore_errors=True)
