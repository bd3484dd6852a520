"""The README's quick start, typed as it stands in the README, in a fresh shell, against a real mesh
booting the demo's real guest (issue 18, item 1). Only the data dir is the test's own."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from e2e.conftest import host_ready, remove_domains  # noqa: F401 (fixture)
from harness import ROOT, short_tmpdir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


def quick_start() -> list[str]:
    """The commands of the README's first shell block that runs a mesh (`virtmesh up &` …)."""
    text = open(os.path.join(ROOT, "README.md")).read()
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines = [line.split("  #")[0].strip() for line in block.splitlines()]
        if any(line.startswith("virtmesh up") for line in lines):
            return [line for line in lines if line]
    raise AssertionError("the README has no quick start")


def test_the_readme_quick_start_works_as_typed(host_ready):
    commands = quick_start()
    assert commands[0] == "virtmesh up &" and commands[-1] == "virtmesh delete vm demo"
    d = short_tmpdir("vmreadme-")
    env = dict(os.environ, VIRTMESH_DATA_DIR=d, PATH=f"{os.path.join(ROOT, '.venv', 'bin')}:{os.environ['PATH']}")
    env.pop("KUBECONFIG", None)
    script = "\n".join([
        "set -e",
        # `virtmesh up &` first; the rest once its node is registered, as a person would wait for it.
        commands[0] + " UP=$!",
        "trap 'kill -TERM $UP; wait $UP || true' EXIT",
        "for _ in $(seq 300); do virtmesh get nodes -o name 2>/dev/null | grep -q node && break; sleep 0.2; done",
        *[f"echo '$ {c}'; {c}" + (" </dev/null" if c.startswith("virtmesh console") else "") for c in commands[1:]],
        "virtmesh wait vmi/demo --for=delete --timeout=120s",
    ])
    try:
        r = subprocess.run(["bash", "-c", script],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"stdout:\n{r.stdout[-4000:]}\nstderr:\n{r.stderr[-4000:]}"
        out = r.stdout
        assert "virtualmachine.kubevirt.io/demo created" in out
        assert re.search(r"^demo\s+\S+\s+Running\s+True$", out, re.M), out
        assert "VM demo was scheduled to stop" in out and "VM demo was scheduled to start" in out
        assert 'virtualmachine.kubevirt.io "demo" deleted' in out
    finally:
        remove_domains("default_demo")
        shutil.rmtree(d, ignore_errors=True)
