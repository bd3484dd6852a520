"""Secrets and ConfigMaps (core/v1) in the store, and the VMI volumes that read them: configMap and secret
disks, cloud-init data from Secrets. A mesh on libvirt's test driver (real processes, real gRPC, a real
SQLite store); each image the launcher made is read back with xorriso's own extractor."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest
import yaml

from harness import Mesh, short_tmpdir

pytestmark = pytest.mark.skipif(not shutil.which("osirrox"), reason="xorriso is not installed (tools/host.sh)")
NS = "cfg"


@pytest.fixture(scope="module")
def mesh():
    d = short_tmpdir("vmcfg-")
    m = Mesh(d, "test:///default")
    yield m
    m.stop()


def objects() -> str:
    return yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": NS},
         "data": {"app.conf": "port=8080\n"}, "binaryData": {"logo.bin": base64.b64encode(b"\x00\x01").decode()}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": NS},
         "stringData": {"password": "s3cret"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "boot", "namespace": NS},
         "stringData": {"userdata": "#cloud-config\nhostname: from-secret\n"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ssh-keys", "namespace": NS},
         "stringData": {"admin": "ssh-ed25519 AAAAC3Nza admin@example"}}])


def vmi(name: str, config_map: str = "app", optional: bool = False) -> str:
    return yaml.safe_dump({
        "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": name, "namespace": NS},
        "spec": {"domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [
            {"name": "cfg", "disk": {}}, {"name": "sec", "disk": {}}, {"name": "cloudinitdisk", "disk": {}}]}},
            "accessCredentials": [{"sshPublicKey": {"source": {"secret": {"secretName": "ssh-keys"}},
                                                    "propagationMethod": {"noCloud": {}}}}],
            "volumes": [{"name": "cfg", "configMap": {"name": config_map, "optional": optional}},
                        {"name": "sec", "secret": {"secretName": "creds", "volumeLabel": "creds"}},
                        {"name": "cloudinitdisk", "cloudInitNoCloud": {"secretRef": {"name": "boot"}}}]}})


def read_iso(path: str, into) -> dict[str, bytes]:
    subprocess.run(["osirrox", "-indev", path, "-extract", "/", str(into)], check=True, capture_output=True)
    return {os.path.relpath(os.path.join(r, f), into): open(os.path.join(r, f), "rb").read()
            for r, _, files in os.walk(into) for f in files}


def label(path: str) -> str:
    with open(path, "rb") as f:
        f.seek(16 * 2048 + 40)
        return f.read(32).decode().strip()


def test_secret_and_config_map_disks_and_cloud_init_from_a_secret(mesh, tmp_path):
    m = mesh
    m.cli("apply", "-f", "-", input=objects())
    # stringData went into data; nothing of it is stored as such; type defaulted.
    secret = m.get("secret", "creds", NS)
    assert secret["data"] == {"password": base64.b64encode(b"s3cret").decode()} and "stringData" not in secret
    assert secret["type"] == "Opaque"
    out = m.cli("get", "secrets", "-n", NS).stdout.split("\n")
    assert out[0].split() == ["NAME", "TYPE", "DATA", "AGE"] and out[2].split()[:3] == ["creds", "Opaque", "1"]
    described = m.cli("describe", "secret", "creds", "-n", NS).stdout
    assert "Type:         Opaque" in described and "password:  6 bytes" in described   # kubectl's: sizes only
    assert "s3cret" not in described and base64.b64encode(b"s3cret").decode() not in described

    m.cli("apply", "-f", "-", input=vmi("v"))
    m.wait_for(lambda: m.vmi_phase("v", NS) == "Running", 60, "v Running")
    uid = m.get("vmi", "v", NS)["metadata"]["uid"]
    vm_dir = os.path.join(m.data_dir, "vms", uid)
    cfg = os.path.join(vm_dir, "config-disks", "cfg.iso")
    assert label(cfg) == "cfgdata"
    assert read_iso(cfg, tmp_path / "cfg") == {"app.conf": b"port=8080\n", "logo.bin": b"\x00\x01"}
    sec = os.path.join(vm_dir, "config-disks", "sec.iso")
    assert label(sec) == "creds" and read_iso(sec, tmp_path / "sec") == {"password": b"s3cret"}
    ci = read_iso(os.path.join(vm_dir, "cloud-init", "noCloud.iso"), tmp_path / "ci")
    assert ci["user-data"] == b"#cloud-config\nhostname: from-secret\n"
    # The access credential's key, in KubeVirt's meta data.
    assert json.loads(ci["meta-data"])["public-keys"] == {"0": "ssh-ed25519 AAAAC3Nza admin@example"}
    m.cli("delete", "vmi", "v", "-n", NS)


def test_a_missing_config_map_holds_the_start_until_it_exists(mesh, tmp_path):
    m = mesh
    m.cli("apply", "-f", "-", input=objects())
    m.cli("apply", "-f", "-", input=vmi("late", config_map="later"))

    def failed_mount():
        conds = (m.get("vmi", "late", NS) or {}).get("status", {}).get("conditions", [])
        return next((c for c in conds if c["type"] == "Synchronized" and c.get("reason") == "FailedMount"), None)
    c = m.wait_for(failed_mount, 30, "FailedMount on the VMI")
    assert c["message"] == 'MountVolume.SetUp failed for volume "cfg" : configmap "later" not found'
    assert m.vmi_phase("late", NS) == "Scheduled"
    m.cli("apply", "-f", "-", input=yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap",
                                                     "metadata": {"name": "later", "namespace": NS},
                                                     "data": {"k": "v"}}))
    m.wait_for(lambda: m.vmi_phase("late", NS) == "Running", 60, "late Running once its ConfigMap exists")
    assert failed_mount() is None
    m.cli("delete", "vmi", "late", "-n", NS)


def test_an_optional_missing_config_map_is_an_empty_disk(mesh, tmp_path):
    m = mesh
    m.cli("apply", "-f", "-", input=objects())
    m.cli("apply", "-f", "-", input=vmi("opt", config_map="absent", optional=True))
    m.wait_for(lambda: m.vmi_phase("opt", NS) == "Running", 60, "opt Running")
    uid = m.get("vmi", "opt", NS)["metadata"]["uid"]
    assert read_iso(os.path.join(m.data_dir, "vms", uid, "config-disks", "cfg.iso"), tmp_path / "o") == {}
    m.cli("delete", "vmi", "opt", "-n", NS)


def test_secrets_and_config_maps_are_checked_as_the_apiserver_does(mesh):
    m = mesh
    bad = yaml.safe_dump({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad", "namespace": NS},
                          "data": {"no spaces": "x"}})
    r = m.cli("apply", "-f", "-", input=bad, check=False)
    assert r.returncode != 0 and 'data[no spaces]: Invalid value: "no spaces": a valid config key' in r.stderr
    assert m.get("configmap", "bad", NS) is None
    frozen = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "frozen", "namespace": NS},
              "immutable": True, "stringData": {"a": "1"}}
    m.cli("apply", "-f", "-", input=yaml.safe_dump(frozen))
    r = m.cli("apply", "-f", "-", input=yaml.safe_dump({**frozen, "stringData": {"a": "2"}}), check=False)
    assert r.returncode != 0 and "data: Forbidden: field is immutable when `immutable` is set" in r.stderr
    assert m.get("secret", "frozen", NS)["data"] == {"a": base64.b64encode(b"1").decode()}
