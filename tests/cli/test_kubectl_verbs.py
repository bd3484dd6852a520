"""kubectl's verbs and options on a running mesh (issue 18, items 1-2), libvirt's test driver: global
options before or after the verb, apply of directories and repeated -f, get of several kinds with
selectors, watches and templates, describe, wait, patch, edit (stale edits refused), delete by
selector, version and completion — failures included."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

from harness import ROOT, Mesh, short_tmpdir, vm_manifest
from services.cli import jsonpath


@pytest.fixture(scope="module")
def mesh():
    d = short_tmpdir("vmkctl-")
    m = Mesh(d, "test:///default")
    yield m
    m.stop()
    shutil.rmtree(d, ignore_errors=True)


def labelled(name: str, app: str, strategy: str = "Always") -> str:
    return vm_manifest(name, strategy).replace(f"  name: {name}\n", f"  name: {name}\n  labels: {{app: {app}}}\n", 1)


def running(m, name):
    return (m.get("vmi", name) or {}).get("status", {}).get("phase") == "Running"


def test_global_options_go_before_or_after_the_verb(mesh):
    env = {k: v for k, v in mesh.env.items() if k != "VIRTMESH_DATA_DIR"}
    for args in (["--data-dir", mesh.data_dir, "get", "nodes", "-o", "name"],
                 ["get", "nodes", "-o", "name", "--data-dir", mesh.data_dir],
                 ["get", "nodes", "--api", f"unix://{mesh.data_dir}/run/api.sock", "-o", "name"]):
        r = subprocess.run([sys.executable, "-m", "services.cli", *args], env=env, cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.strip() == "node/node01", (args, r.stderr)
    mesh.cli("apply", "-f", "-", "-n", "other", input=vm_manifest("nsvm", "Halted"))
    assert mesh.cli("-n", "other", "get", "vm", "-o", "name").stdout.strip() == "virtualmachine.kubevirt.io/nsvm"
    assert mesh.cli("get", "vm", "-o", "name", "-n", "other").stdout.strip() == "virtualmachine.kubevirt.io/nsvm"
    mesh.cli("delete", "vm", "nsvm", "-n", "other")


def test_apply_of_a_directory_and_of_repeated_files(mesh):
    d = short_tmpdir("vmkctl-files-")
    try:
        for name in ("d1", "d2"):
            with open(os.path.join(d, f"{name}.yaml"), "w") as f:
                f.write(labelled(name, "dir", "Halted"))
        with open(os.path.join(d, "notes.txt"), "w") as f:
            f.write("not a manifest")
        single = os.path.join(d, "single.yml")
        with open(single, "w") as f:
            f.write(labelled("d3", "dir", "Halted"))
        out = mesh.cli("apply", "-f", d).stdout.splitlines()
        assert out == ["virtualmachine.kubevirt.io/d1 created", "virtualmachine.kubevirt.io/d2 created",
                       "virtualmachine.kubevirt.io/d3 created"]
        out = mesh.cli("apply", "-f", os.path.join(d, "d1.yaml"), "-f", single).stdout.splitlines()
        assert out == ["virtualmachine.kubevirt.io/d1 unchanged", "virtualmachine.kubevirt.io/d3 unchanged"]
        empty = short_tmpdir("vmkctl-empty-")
        r = mesh.cli("apply", "-f", empty, check=False)
        assert r.returncode != 0 and "no .yaml, .yml or .json files" in r.stderr
    finally:
        mesh.cli("delete", "vm", "-l", "app=dir", "--wait")
        shutil.rmtree(d, ignore_errors=True)


def test_get_with_selectors_several_kinds_and_templates(mesh):
    mesh.cli("apply", "-f", "-", input=labelled("g1", "web"))
    mesh.cli("apply", "-f", "-", input=labelled("g2", "db", "Halted"))
    mesh.wait_for(lambda: running(mesh, "g1"), 30, "g1 Running")
    assert mesh.cli("get", "vm", "-l", "app=web", "-o", "name").stdout.split() == ["virtualmachine.kubevirt.io/g1"]
    both = mesh.cli("get", "vm,vmi").stdout.split("\n\n")
    assert both[0].startswith("NAME") and "STATUS" in both[0] and "g2" in both[0]
    assert "PHASE" in both[1] and "g1" in both[1] and "g2" not in both[1]
    out = mesh.cli("get", "vms", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.printableStatus}{\"\\n\"}{end}")
    assert set(out.stdout.split()) >= {"g1=Running", "g2=Stopped"}
    ready = mesh.cli("get", "vmi", "g1", "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}').stdout
    assert ready == "True"
    cols = mesh.cli("get", "vm", "-l", "app", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app",
                    check=False)
    assert cols.returncode != 0 and "only key=value selectors" in cols.stderr
    cols = mesh.cli("get", "vm", "g1", "-o", "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app").stdout
    assert cols.split() == ["NAME", "APP", "g1", "web"]
    bad = mesh.cli("get", "vm", "-o", "jsonpath={.items[}", check=False)
    assert bad.returncode != 0 and "error parsing jsonpath" in bad.stderr and "Traceback" not in bad.stderr
    bad = mesh.cli("get", "vm", "-o", "table", check=False)
    assert bad.returncode != 0 and "unable to match a printer" in bad.stderr
    described = mesh.cli("describe", "vm", "g1").stdout
    for text in ("Name:         g1", "Labels:       app=web", "Kind:         VirtualMachine", "Run Strategy:",
                 "Printable Status:", "Resource Version:", "UID:", "Conditions:", "Ready", "Events:"):
        assert text in described, text
    mesh.cli("delete", "vm", "g1", "g2", "--wait")


def test_get_watch_prints_each_change(mesh):
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "get", "vmi", "-w", "--request-timeout", "20"],
                            env=mesh.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        mesh.cli("apply", "-f", "-", input=vm_manifest("watched"))
        mesh.wait_for(lambda: running(mesh, "watched"), 30, "watched Running")
        mesh.cli("delete", "vm", "watched", "--wait")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    rows = [line.split() for line in out.splitlines() if line.startswith("watched")]
    phases = [r[2] for r in rows]
    assert "Running" in phases and len(rows) >= 2, out


def test_get_watch_with_a_label_selector_is_selected_by_the_server(mesh):
    """`get -w -l`: the api's watch selects, as the kube-apiserver's does: an object that gains the label
    shows up, one that never has it never does, and one that loses it comes once more (the watch's
    DELETED, with its new labels)."""
    proc = subprocess.Popen([sys.executable, "-m", "services.cli", "get", "vm", "-w", "-l", "tier=gold", "-o", "json",
                             "--request-timeout", "20"],
                            env=mesh.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        mesh.cli("apply", "-f", "-", input=vm_manifest("lw1", "Halted") + "---\n" + vm_manifest("lw2", "Halted"))
        mesh.cli("patch", "vm", "lw1", "-p", '{"metadata": {"labels": {"tier": "gold"}}}')
        mesh.cli("patch", "vm", "lw2", "-p", '{"metadata": {"labels": {"tier": "tin"}}}')
        time.sleep(1.0)
        mesh.cli("patch", "vm", "lw1", "-p", '{"metadata": {"labels": {"tier": "lead"}}}')
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
        mesh.cli("delete", "vm", "lw1", "lw2", "--wait")
    docs = [json.loads(d) for d in ("{" + d if not d.startswith("{") else d for d in out.split("\n{")) if d.strip()]
    docs = [d for d in docs if d["kind"] == "VirtualMachine"]   # after the first list's
    assert {d["metadata"]["name"] for d in docs} == {"lw1"}, out
    assert [d["metadata"]["labels"]["tier"] for d in docs][-1] == "lead", out


def test_wait_for_conditions_jsonpath_and_deletion(mesh):
    mesh.cli("apply", "-f", "-", input=vm_manifest("w1"))
    r = mesh.cli("wait", "vmi/w1", "--for=condition=Ready", "--timeout", "60s")
    assert r.stdout.strip() == "virtualmachineinstance.kubevirt.io/w1 condition met"
    r = mesh.cli("wait", "vm/w1", "--for=jsonpath={.status.printableStatus}=Running", "--timeout=30s")
    assert "condition met" in r.stdout
    never = mesh.cli("wait", "vmi/w1", "--for=condition=Paused", "--timeout", "1s", check=False)
    assert never.returncode != 0 and "timed out waiting for the condition on virtualmachineinstance" in never.stderr
    missing = mesh.cli("wait", "vm/nope", "--for=condition=Ready", "--timeout", "1s", check=False)
    assert missing.returncode != 0 and '"nope" not found' in missing.stderr
    mesh.cli("apply", "-f", "-", input=vm_manifest("w2"))
    assert "condition met" in mesh.cli("wait", "vmi/w2", "--for=create", "--timeout", "60s").stdout
    mesh.cli("delete", "vm", "w1", "w2", "--wait=false")
    r = mesh.cli("wait", "vmi/w1", "--for=delete", "--timeout", "60s")
    assert "deleted" in r.stdout


def test_patch_merge_and_json_and_refusals(mesh):
    mesh.cli("apply", "-f", "-", input=vm_manifest("p1", "Halted"))
    assert mesh.cli("patch", "vm", "p1", "-p", '{"metadata": {"labels": {"tier": "gold"}}}').stdout.strip() == \
        "virtualmachine.kubevirt.io/p1 patched"
    assert mesh.get("vm", "p1")["metadata"]["labels"]["tier"] == "gold"
    mesh.cli("patch", "vm", "p1", "--type", "json", "-p",
             '[{"op": "replace", "path": "/spec/runStrategy", "value": "Always"}]')
    mesh.wait_for(lambda: running(mesh, "p1"), 30, "p1 Running after the patch")
    same = mesh.cli("patch", "vm", "p1", "-p", '{"metadata": {"labels": {"tier": "gold"}}}').stdout
    assert "(no change)" in same
    for patch, kind, why in (
            ('{"spec": {"runStrategy": "Sometimes"}}', "merge", "runStrategy"),
            ('{"spec": {"template": {"spec": {"domain": {"cpu": {"cores": "x"}}}}}}', "merge", "cores"),
            ('[{"op": "replace", "path": "/spec/nothere", "value": 1}]', "json", "missing path"),
            ('[{"op": "test", "path": "/spec/runStrategy", "value": "Halted"}]', "json", "test failed"),
            ('{not json', "merge", "unable to parse")):
        r = mesh.cli("patch", "vm", "p1", "--type", kind, "-p", patch, check=False)
        assert r.returncode != 0 and why in r.stderr and "Traceback" not in r.stderr, (patch, r.stderr)
    mesh.cli("delete", "vm", "p1", "--wait")


def settle(m, name: str, quiet: float = 1.5, timeout: float = 30) -> None:
    """Until the VM's resourceVersion stays the same for `quiet` seconds (nobody else is writing it)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        rv = m.get("vm", name)["metadata"]["resourceVersion"]
        if rv != last:
            last, since = rv, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(0.2)
    raise AssertionError(f"vm {name} kept changing")


def _editor(tmp: str, script: str) -> dict:
    path = os.path.join(tmp, "editor.sh")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + textwrap.dedent(script))
    os.chmod(path, 0o755)
    return {"EDITOR": path, "KUBE_EDITOR": ""}


def test_edit_stores_what_the_editor_wrote_and_refuses_a_stale_edit(mesh):
    tmp = short_tmpdir("vmkctl-edit-")
    mesh.cli("apply", "-f", "-", input=vm_manifest("e1", "Halted"))
    # (kubectl edit races the object's other writers the same way: let the controller's writes settle)
    mesh.cli("wait", "vm/e1", "--for=jsonpath={.status.printableStatus}=Stopped", "--timeout", "30s")
    settle(mesh, "e1")
    env = dict(mesh.env, **_editor(tmp, """
        sed -i 's/runStrategy: Halted/runStrategy: Manual/' "$1"
    """))
    r = subprocess.run([sys.executable, "-m", "services.cli", "edit", "vm", "e1"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "virtualmachine.kubevirt.io/e1 edited", r.stderr
    assert mesh.get("vm", "e1")["spec"]["runStrategy"] == "Manual"
    settle(mesh, "e1")   # the controller's answer to the new run strategy
    # Someone else changes the VM while the editor is open: the edit is refused, nothing is lost.
    env = dict(mesh.env, **_editor(tmp, f"""
        {sys.executable} -m services.cli patch vm e1 -p '{{"metadata": {{"labels": {{"by": "other"}}}}}}' >/dev/null
        sed -i 's/runStrategy: Manual/runStrategy: Halted/' "$1"
    """))
    r = subprocess.run([sys.executable, "-m", "services.cli", "edit", "vm", "e1"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "Conflict" in r.stderr and "modified" in r.stderr, r.stderr
    vm = mesh.get("vm", "e1")
    assert vm["spec"]["runStrategy"] == "Manual" and vm["metadata"]["labels"]["by"] == "other"
    # An editor that leaves the file as it was changes nothing.
    env = dict(mesh.env, **_editor(tmp, "true\n"))
    r = subprocess.run([sys.executable, "-m", "services.cli", "edit", "vm", "e1"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "no changes made" in r.stdout
    mesh.cli("delete", "vm", "e1", "--wait")
    shutil.rmtree(tmp, ignore_errors=True)


def test_delete_by_selector_all_and_ignore_not_found(mesh):
    for name, app in (("x1", "a"), ("x2", "a"), ("x3", "b")):
        mesh.cli("apply", "-f", "-", input=labelled(name, app, "Halted"))
    out = mesh.cli("delete", "vm", "-l", "app=a", "--wait").stdout.splitlines()
    assert sorted(out) == ['virtualmachine.kubevirt.io "x1" deleted', 'virtualmachine.kubevirt.io "x2" deleted']
    assert mesh.get("vm", "x3") is not None
    r = mesh.cli("delete", "vm", "gone", check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr
    assert mesh.cli("delete", "vm", "gone", "--ignore-not-found").returncode == 0
    r = mesh.cli("delete", "vm", check=False)
    assert r.returncode != 0 and "no name was specified" in r.stderr
    mesh.cli("delete", "vm", "--all", "--wait")
    assert json.loads(mesh.cli("get", "vm", "-o", "json").stdout)["items"] == []


def test_version_and_completion(mesh):
    out = mesh.cli("version").stdout.splitlines()
    assert out[0].startswith("Client Version: v") and out[1].startswith("Server Version: v")
    script = mesh.cli("completion", "bash").stdout
    check = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "complete -F _virtmesh virtmesh" in script and " describe " in f" {script} "
    assert mesh.cli("completion", "zsh").stdout.startswith("autoload -U +X bashcompinit")


def test_jsonpath_units():
    doc = {"items": [{"metadata": {"name": "a"}, "spec": {"n": 1, "on": True}}, {"metadata": {"name": "b"}}]}
    assert jsonpath.render("{.items[*].metadata.name}", doc) == "a b"
    assert jsonpath.render("{.items[0].spec}", doc) == '{"n":1,"on":true}'
    assert jsonpath.render("{.items[-1].metadata.name}", doc) == "b"
    assert jsonpath.render("{.items[?(@.metadata.name!=\"a\")].metadata.name}", doc) == "b"
    assert jsonpath.render("{..name}", doc) == "a b"
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.render("{range .items[*]}{.x}", doc)


def test_console_waits_for_the_vmi_like_virtctl(mesh):
    mesh.cli("apply", "-f", "-", input=vm_manifest("c1"))
    r = mesh.cli("console", "c1", "--no-stdin", "--stop-after", "1")   # right after apply: it waits
    assert r.returncode == 0
    assert running(mesh, "c1")
    # The README's `virtmesh console demo </dev/null`: stdin ends at once, and so does the console.
    assert mesh.cli("console", "c1", input="", timeout=30).returncode == 0
    r = mesh.cli("console", "nothere", "--timeout", "0.02", check=False)   # minutes, as virtctl's
    assert r.returncode != 0 and 'Unable to connect to VirtualMachineInstance because ' \
        'virtualmachineinstance.kubevirt.io "nothere" not found' in r.stderr
    mesh.cli("delete", "vm", "c1", "--wait")
