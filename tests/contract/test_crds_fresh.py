"""The committed CRDs under deploy/crds are exactly what protos/crds.py produces."""
import filecmp
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GENERATOR = os.path.join(ROOT, "protos", "crds.py")
COMMITTED = os.path.join(ROOT, "deploy", "crds")


def _files(base):
    return {os.path.relpath(os.path.join(d, n), base): os.path.join(d, n)
            for d, _, names in os.walk(base) for n in names if n.endswith(".yaml")}


def test_committed_crds_are_fresh(tmp_path):
    subprocess.run([sys.executable, GENERATOR, str(tmp_path)], check=True, capture_output=True)
    committed, fresh = _files(COMMITTED), _files(str(tmp_path))
    assert sorted(committed) == sorted(fresh), "generated CRD file set differs: run python protos/crds.py"
    stale = [rel for rel in fresh if not filecmp.cmp(fresh[rel], committed[rel], shallow=False)]
    assert not stale, f"stale CRDs {stale}: run python protos/crds.py"


def test_check_lists_stale_and_extra_files(tmp_path):
    out = tmp_path / "crds"
    shutil.copytree(COMMITTED, out)
    check = [sys.executable, GENERATOR, "--check", str(out)]
    assert subprocess.run(check, capture_output=True).returncode == 0
    vm = out / "virtualmachines.kubevirt.io.yaml"
    vm.write_text(vm.read_text().replace("type: boolean", "type: string", 1))
    (out / "old.kubevirt.io.yaml").write_text("{}\n")
    res = subprocess.run(check, capture_output=True, text=True)
    assert res.returncode == 1
    assert res.stdout.split() == ["stale:", "old.kubevirt.io.yaml", "stale:", "virtualmachines.kubevirt.io.yaml"]
