"""The committed stubs under services/_proto are exactly what protos/generate.py produces."""
import filecmp
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _files(base):
    out = {}
    for d, _, names in os.walk(base):
        for n in names:
            if n.endswith((".py", ".pyi")):
                p = os.path.join(d, n)
                out[os.path.relpath(p, base)] = p
    return out


def test_generated_stubs_are_fresh(tmp_path):
    subprocess.run([sys.executable, os.path.join(ROOT, "protos", "generate.py"), str(tmp_path)], check=True,
                   capture_output=True)
    committed = _files(os.path.join(ROOT, "services", "_proto"))
    fresh = _files(str(tmp_path))
    assert sorted(committed) == sorted(fresh), "generated file set differs: run python protos/generate.py"
    stale = [rel for rel in fresh if not filecmp.cmp(fresh[rel], committed[rel], shallow=False)]
    assert not stale, f"stale generated stubs {stale}: run python protos/generate.py"
