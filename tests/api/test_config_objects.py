"""Secrets and ConfigMaps without a process: the api's defaulting, checks and immutability
(services/api/configobjects.py), who may read Secrets (services/common/authz.py), the files the handler
hands a launcher (services/handler/configvolumes.py) and the disks the launcher makes of them
(services/launcher/configdisks.py, cloud-init's secretRef in services/launcher/cloudinit.py)."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import subprocess

import pytest

from services.api import configobjects, defaults, validation
from services.api.errors import Invalid
from services.common import authz, manifest, meshtls, proto
from services.handler import configvolumes, pullsecrets
from services.launcher import storage

needs_xorriso = pytest.mark.skipif(not shutil.which("osirrox"), reason="xorriso is not installed (tools/host.sh)")


def obj(doc: dict) -> proto.api.Object:
    return manifest.to_object({"metadata": {"name": "o", "namespace": "ns"}, **doc})


def secret(**fields) -> proto.api.Object:
    return obj({"apiVersion": "v1", "kind": "Secret", **fields})


def config_map(**fields) -> proto.api.Object:
    return obj({"apiVersion": "v1", "kind": "ConfigMap", **fields})


def invalid(o: proto.api.Object) -> str:
    with pytest.raises(Invalid) as e:
        validation.validate(o)
    return str(e.value)


# ---------------------------------------------------------------- the api

def test_string_data_goes_into_data_and_type_defaults():
    s = secret(data={"a": base64.b64encode(b"old").decode(), "b": "Yg=="}, stringData={"a": "new"})
    defaults.create(s)
    res = proto.inner(s)
    assert dict(res.data) == {"a": b"new", "b": b"b"} and not res.stringData and res.type == "Opaque"
    s = secret(type="kubernetes.io/tls", stringData={"tls.crt": "c", "tls.key": "k"})
    defaults.create(s)
    assert proto.inner(s).type == "kubernetes.io/tls"


def test_keys_duplicates_and_size_are_checked():
    assert 'data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric' in invalid(
        _defaulted(secret(stringData={"a/b": "x"})))
    assert invalid(_defaulted(config_map(data={"..x": "1"}))).startswith('data[..x]: Invalid value: "..x"')
    assert 'data[k]: Invalid value: "k": duplicate of key present in binaryData' in invalid(
        _defaulted(config_map(data={"k": "v"}, binaryData={"k": "AA=="})))
    big = _defaulted(secret(stringData={"a": "x" * (configobjects.MAX_SIZE + 1)}))
    assert invalid(big) == f"data: Too long: may not be more than {configobjects.MAX_SIZE} bytes"
    validation.validate(_defaulted(config_map(data={"app.conf": "x", "KEY_NAME-1": "y"})))


def _defaulted(o):
    defaults.create(o)
    return o


def test_immutable_objects_keep_their_data_and_secrets_their_type():
    old = proto.inner(_defaulted(secret(stringData={"a": "1"}, immutable=True)))
    new = proto.copy(old)
    new.data["a"] = b"2"
    with pytest.raises(Invalid, match="^data: Forbidden: field is immutable when `immutable` is set$"):
        configobjects.update(proto.SECRET, old, new)
    new = proto.copy(old)
    new.ClearField("immutable")
    with pytest.raises(Invalid, match="^immutable: Forbidden"):
        configobjects.update(proto.SECRET, old, new)
    new = proto.copy(old)
    new.type = "kubernetes.io/tls"
    with pytest.raises(Invalid, match='^type: Invalid value: "kubernetes.io/tls": field is immutable$'):
        configobjects.update(proto.SECRET, old, new)
    mutable = proto.inner(_defaulted(config_map(data={"a": "1"})))
    changed = proto.copy(mutable)
    changed.data["a"] = "2"
    configobjects.update(proto.CONFIG_MAP, mutable, changed)   # allowed


def test_viewers_read_everything_but_secrets():
    policy = authz.mesh_policy()
    viewer = authz.Caller("ann", (meshtls.VIEWERS_GROUP,), certified=True)
    admin = authz.Caller("bob", (meshtls.ADMINS_GROUP,), certified=True)
    for method, request in (("/virtmesh.v1.Resources/Get", proto.api.GetRequest(ref=proto.ref(proto.SECRET, "n", "s"))),
                            ("/virtmesh.v1.Resources/List", proto.api.ListRequest(kind=proto.SECRET)),
                            ("/virtmesh.v1.Resources/Watch", proto.api.WatchRequest(kind=proto.SECRET))):
        assert "may not read Secrets" in (policy(viewer, method, request) or ""), method
        assert policy(admin, method, request) is None
    assert policy(viewer, "/virtmesh.v1.Resources/List", proto.api.ListRequest(kind=proto.CONFIG_MAP)) is None
    reads_only = authz.mesh_policy(unix_reads_only=True)
    local = authz.Caller("", (), certified=False)
    assert reads_only(local, "/virtmesh.v1.Resources/List", proto.api.ListRequest(kind=proto.SECRET))
    assert reads_only(local, "/virtmesh.v1.Resources/List", proto.api.ListRequest(kind=proto.VM)) is None


# ---------------------------------------------------------------- the handler's files

class Store:
    """The two reads configvolumes makes, from a dict."""

    def __init__(self, *objs):
        self.objs = {(proto.kind_of(o), proto.inner(o).metadata.name): proto.inner(o) for o in objs}
        self.gets = 0

    async def get_or_none(self, kind, namespace, name):
        self.gets += 1
        assert namespace == "ns"
        return self.objs.get((kind, name))


def vmi(*volumes) -> object:
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "v", "namespace": "ns", "uid": "u"},
           "spec": {"domain": {"memory": {"guest": "64Mi"}, "firmware": {"uuid": "5a9fc181-957e-5c32-9e5a-2de5e9673531"},
                               "devices": {"disks": [{"name": v["name"], "disk": {}} for v in volumes]}},
                    "volumes": list(volumes)}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


def test_handler_reads_what_the_volumes_name():
    cm = _defaulted(obj({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "ns"},
                         "data": {"a": "1"}, "binaryData": {"b": "AAE="}}))
    user = _defaulted(obj({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ud", "namespace": "ns"},
                           "stringData": {"userdata": "#cloud-config"}}))
    net = _defaulted(obj({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "nd", "namespace": "ns"},
                          "stringData": {"networkData": "version: 2"}}))
    v = vmi({"name": "cfg", "configMap": {"name": "app"}},
            {"name": "ci", "cloudInitConfigDrive": {"secretRef": {"name": "ud"}, "networkDataSecretRef": {"name": "nd"}}},
            {"name": "opt", "secret": {"secretName": "absent", "optional": True}})
    assert configvolumes.needed(v)
    files = asyncio.run(configvolumes.files_of(Store(cm, user, net), v))
    assert dict(files["cfg"].files) == {"a": b"1", "b": b"\x00\x01"}
    assert dict(files["ci"].files) == {"userdata": b"#cloud-config"}
    assert dict(files["ci"].networkFiles) == {"networkData": b"version: 2"}
    assert not files["opt"].files   # optional and absent: an empty volume
    store = Store()
    plain = vmi({"name": "d", "emptyDisk": {"capacity": "1Mi"}},
                {"name": "ci", "cloudInitNoCloud": {"userData": "#cloud-config"}})
    assert not configvolumes.needed(plain) and asyncio.run(configvolumes.files_of(store, plain)) == {}
    assert store.gets == 0
    with pytest.raises(configvolumes.Missing, match='^MountVolume.SetUp failed for volume "s" : secret "gone" not '
                                                     'found$'):
        asyncio.run(configvolumes.files_of(Store(), vmi({"name": "s", "secret": {"secretName": "gone"}})))


# ---------------------------------------------------------------- the launcher's disks

def extract(iso: str, into) -> dict[str, bytes]:
    subprocess.run(["osirrox", "-indev", iso, "-extract", "/", str(into)], check=True, capture_output=True)
    return {os.path.relpath(os.path.join(r, f), into): open(os.path.join(r, f), "rb").read()
            for r, _, fs in os.walk(into) for f in fs}


@needs_xorriso
def test_launcher_makes_disks_of_the_files(tmp_path):
    v = vmi({"name": "cfg", "configMap": {"name": "app", "volumeLabel": "appcfg"}},
            {"name": "ci", "cloudInitNoCloud": {"secretRef": {"name": "ud"}, "networkData": "version: 2"}})
    given = {"cfg": proto.volumefiles.VolumeFiles(files={"a": b"1"}),
             "ci": proto.volumefiles.VolumeFiles(files={"userData": b"#cloud-config\n"})}
    out = storage.prepare_volumes(v, str(tmp_path / "vm"), volume_files=given)
    assert out["cfg"].path == str(tmp_path / "vm" / "config-disks" / "cfg.iso")
    assert extract(out["cfg"].path, tmp_path / "cfg") == {"a": b"1"}
    ci = extract(out["ci"].path, tmp_path / "ci")
    assert ci["user-data"] == b"#cloud-config\n" and ci["network-config"] == b"version: 2"


def test_launcher_refuses_what_it_was_not_given(tmp_path):
    with pytest.raises(storage.VolumeError, match=r'^spec\.volumes\[0\]\.secret: the files of secret "s" were not '
                                                  "given to this node$"):
        storage.prepare_volumes(vmi({"name": "s", "secret": {"secretName": "s"}}), str(tmp_path))
    given = {"ci": proto.volumefiles.VolumeFiles(files={"other": b"x"})}
    with pytest.raises(storage.VolumeError, match="^no cloud-init data-source found at volume: ci$"):
        storage.prepare_volumes(vmi({"name": "ci", "cloudInitNoCloud": {"secretRef": {"name": "ud"}}}),
                                str(tmp_path), volume_files=given)


def test_admission_takes_config_volumes_and_secret_refs():
    spec = vmi({"name": "cfg", "configMap": {"name": "app"}}, {"name": "s", "secret": {"secretName": "x"}},
               {"name": "ci", "cloudInitNoCloud": {"secretRef": {"name": "ud"}}}).spec
    validation.vmi_spec(spec, "spec")
    with pytest.raises(Invalid) as e:
        validation.vmi_spec(vmi({"name": "cfg", "configMap": {}}, {"name": "s", "secret": {}}).spec, "spec")
    assert list(e.value.causes) == [("spec.volumes[0].configMap.name", "Required value"),
                                    ("spec.volumes[1].secret.secretName", "Required value")]


# ---------------------------------------------------------------- registry credentials (imagePullSecret)

def test_registry_credentials_secrets():
    auths = {"reg.example:5000": {"auth": base64.b64encode(b"u:p").decode()}}
    cfg = _defaulted(secret(type="kubernetes.io/dockerconfigjson",
                            stringData={".dockerconfigjson": json.dumps({"auths": auths})}))
    validation.validate(cfg)
    assert json.loads(pullsecrets.auth_file(proto.inner(cfg))) == {"auths": auths}
    legacy = _defaulted(secret(type="kubernetes.io/dockercfg", stringData={".dockercfg": json.dumps(auths)}))
    assert json.loads(pullsecrets.auth_file(proto.inner(legacy))) == {"auths": auths}
    assert pullsecrets.auth_file(proto.inner(_defaulted(secret(stringData={"a": "b"})))) is None   # Opaque
    assert invalid(_defaulted(secret(type="kubernetes.io/dockerconfigjson", stringData={"x": "{}"}))) == \
        "data[.dockerconfigjson]: Required value"
    assert invalid(_defaulted(secret(type="kubernetes.io/dockerconfigjson", stringData={".dockerconfigjson": "{"}))
                   ).startswith('data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": ')


# ---------------------------------------------------------------- accessCredentials through cloud-init

def with_creds(creds: list, *volumes) -> object:
    v = vmi(*volumes)
    for c in creds:
        v.spec.accessCredentials.append(manifest.parse(c, proto.kv.AccessCredential))
    return v


def ssh(secret_name: str = "keys", **method) -> dict:
    return {"sshPublicKey": {"source": {"secret": {"secretName": secret_name}} if secret_name else {},
                             "propagationMethod": method}}


def test_access_credentials_admission():
    ci = {"name": "ci", "cloudInitNoCloud": {"userData": "#cloud-config"}}
    validation.vmi_spec(with_creds([ssh(noCloud={})], ci).spec, "spec")
    with pytest.raises(Invalid) as e:
        validation.vmi_spec(with_creds([ssh(configDrive={}), ssh("", noCloud={}, configDrive={}), {}], ci).spec, "spec")
    a = "spec.accessCredentials"
    assert list(e.value.causes) == [
        (f"{a}[0].sshPublicKey.propagationMethod",
         f"{a}[0] requires a configDrive volume to exist when the configDrive propagationMethod is in use."),
        (f"{a}[1].sshPublicKey.source", f"{a}[1] must have exactly one source set"),
        (f"{a}[1].sshPublicKey.propagationMethod",
         f"{a}[1] requires a configDrive volume to exist when the configDrive propagationMethod is in use."),
        (f"{a}[1].sshPublicKey.propagationMethod", f"{a}[1] must have exactly one propagationMethod set"),
        (f"{a}[2]", f"{a}[2] must have exactly one access credential type set")]


def test_ssh_keys_reach_the_data_source_s_meta_data(tmp_path):
    keys = _defaulted(obj({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys", "namespace": "ns"},
                           "stringData": {"b": "ssh-ed25519 BBBB b@x\n", "a": "ssh-rsa AAAA a@x", "empty": ""}}))
    v = with_creds([ssh(noCloud={})], {"name": "ci", "cloudInitNoCloud": {"userData": "#cloud-config"}})
    assert configvolumes.needed(v)
    files = asyncio.run(configvolumes.files_of(Store(keys), v))
    assert list(files["ci"].sshPublicKeys) == ["ssh-rsa AAAA a@x", "ssh-ed25519 BBBB b@x"]   # by key name
    with pytest.raises(configvolumes.Missing, match='secret "keys" not found'):
        asyncio.run(configvolumes.files_of(Store(), v))
    if shutil.which("osirrox"):
        iso = storage.prepare_volumes(v, str(tmp_path / "vm"), volume_files=files)["ci"].path
        meta = json.loads(extract(iso, tmp_path / "x")["meta-data"])
        assert meta["public-keys"] == {"0": "ssh-rsa AAAA a@x", "1": "ssh-ed25519 BBBB b@x"}
