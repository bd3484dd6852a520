"""Cloud-init data sources (services/launcher/cloudinit.py): the ISO a cloudInitNoCloud or
cloudInitConfigDrive volume becomes, read back with xorriso's own extractor; and admission's checks of
such volumes (services/api/validation.py), KubeVirt's causes with their field paths."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess

import pytest

from services.api import validation
from services.api.errors import Invalid
from services.common import instancetype, manifest, proto
from services.launcher import cloudinit, storage
from services.launcher.domxml import convert

needs_xorriso = pytest.mark.skipif(not shutil.which("osirrox"), reason="xorriso is not installed (tools/host.sh)")
UUID = "5a9fc181-957e-5c32-9e5a-2de5e9673531"
USER = "#cloud-config\nhostname: from-user-data\n"
NETWORK = "version: 2\nethernets:\n  eth0:\n    dhcp4: true\n"


def vmi(volume: dict, **spec):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "web.1", "namespace": "shop", "uid": "u-1"},
           "spec": {"architecture": "amd64",
                    "domain": {"memory": {"guest": "64Mi"}, "firmware": {"uuid": UUID},
                               "devices": {"disks": [{"name": "cloudinitdisk", "disk": {"bus": "virtio"}}]}},
                    "volumes": [{"name": "cloudinitdisk", **volume}], **spec}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


def extract(iso: str, into) -> dict[str, bytes]:
    """Every file of the image (path inside it -> content), through xorriso's extractor."""
    subprocess.run(["osirrox", "-indev", iso, "-extract", "/", str(into)], check=True, capture_output=True)
    out = {}
    for root, _, files in os.walk(into):
        for name in files:
            full = os.path.join(root, name)
            out[os.path.relpath(full, into)] = open(full, "rb").read()
    return out


def volume_label(iso: str) -> str:
    with open(iso, "rb") as f:
        f.seek(16 * 2048 + 40)   # the primary volume descriptor's volume identifier
        return f.read(32).decode().strip()


@needs_xorriso
def test_no_cloud_image_holds_kubevirt_files_and_label(tmp_path):
    v = vmi({"cloudInitNoCloud": {"userData": USER, "networkDataBase64": base64.b64encode(NETWORK.encode()).decode()}})
    sources = storage.prepare_volumes(v, str(tmp_path / "vm"))
    iso = sources["cloudinitdisk"].path
    assert iso == str(tmp_path / "vm" / "cloud-init" / "noCloud.iso") and sources["cloudinitdisk"].format == "raw"
    assert volume_label(iso) == "cidata"
    files = extract(iso, tmp_path / "out")
    assert set(files) == {"user-data", "meta-data", "network-config"}
    assert files["user-data"].decode() == USER and files["network-config"].decode() == NETWORK
    # KubeVirt's NoCloud meta data: the firmware UUID, the name up to its first dot as the hostname.
    assert json.loads(files["meta-data"]) == {"instance-id": UUID, "local-hostname": "web"}
    assert list(json.loads(files["meta-data"])) == ["instance-id", "local-hostname"]
    # No stray staging files beside it: only the image itself.
    assert os.listdir(tmp_path / "vm" / "cloud-init") == ["noCloud.iso"]


@needs_xorriso
def test_config_drive_layout_and_meta_data(tmp_path):
    v = vmi({"cloudInitConfigDrive": {"userDataBase64": base64.b64encode(USER.encode()).decode()}},
            hostname="shopfront")
    v.metadata.annotations[instancetype.CLUSTER_INSTANCETYPE_ANNOTATION] = "u1.small"
    iso = storage.prepare_volumes(v, str(tmp_path / "vm"))["cloudinitdisk"].path
    assert os.path.basename(iso) == "configdrive.iso" and volume_label(iso) == "config-2"
    files = extract(iso, tmp_path / "out")
    assert set(files) == {"openstack/latest/user_data", "openstack/latest/meta_data.json"}   # no network data
    assert files["openstack/latest/user_data"].decode() == USER
    meta = json.loads(files["openstack/latest/meta_data.json"])
    assert meta == {"instance_type": "u1.small", "instance_id": "web.1.shop", "hostname": "shopfront", "uuid": UUID}


@needs_xorriso
def test_image_is_made_once_and_kept(tmp_path):
    """A re-sync (or a launcher restarted under a running guest) keeps the image QEMU has open."""
    v = vmi({"cloudInitNoCloud": {"userData": USER}})
    iso = storage.prepare_volumes(v, str(tmp_path))["cloudinitdisk"].path
    before = os.stat(iso)
    v.spec.volumes[0].cloudInitNoCloud.userData = "#cloud-config\n"
    assert storage.prepare_volumes(v, str(tmp_path))["cloudinitdisk"].path == iso
    after = os.stat(iso)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@needs_xorriso
def test_domain_attaches_the_image_as_the_volume_s_disk(tmp_path, libvirt_validate):
    v = vmi({"cloudInitNoCloud": {"userData": USER}})
    dom = convert.convert(v, convert.Context("qemu", storage.prepare_volumes(v, str(tmp_path)), check_firmware=False))
    got = [(d.device, d.source, d.driver.type, d.target_dev) for d in dom.devices.disks]
    assert got == [("disk", f"{tmp_path}/cloud-init/noCloud.iso", "raw", "vda")]
    libvirt_validate(dom.to_xml())


def test_missing_data_is_refused_naming_the_field(tmp_path):
    v = vmi({"cloudInitNoCloud": {}})
    with pytest.raises(storage.VolumeError, match=r"^spec\.volumes\[0\]\.cloudInitNoCloud: userDataBase64, "
                                                 "userData, networkDataBase64 or networkData is required"):
        storage.prepare_volumes(v, str(tmp_path))
    assert not os.path.exists(tmp_path / "cloud-init" / "noCloud.iso")


def test_bad_base64_is_refused_naming_the_field(tmp_path):
    v = vmi({"cloudInitNoCloud": {"userDataBase64": "not base64!"}})
    with pytest.raises(storage.VolumeError, match=r"cloudInitNoCloud\.userDataBase64: Invalid value"):
        storage.prepare_volumes(v, str(tmp_path))


def test_hostname_as_kubevirt_sanitizes_it():
    assert cloudinit.hostname(vmi({"cloudInitNoCloud": {"userData": USER}})) == "web"
    assert cloudinit.hostname(vmi({"cloudInitNoCloud": {"userData": USER}}, hostname="h1")) == "h1"
    long = vmi({"cloudInitNoCloud": {"userData": USER}})
    long.metadata.name = "x" * 80
    assert cloudinit.hostname(long) == "x" * 63


# ---------------------------------------------------------------- admission

def causes(volume: dict) -> list[tuple[str, str]]:
    with pytest.raises(Invalid) as e:
        validation.vmi_spec(vmi(volume).spec, "spec")
    return list(e.value.causes)


P = "spec.volumes[0].cloudInitNoCloud"


@pytest.mark.parametrize("volume, expected", [
    ({"cloudInitNoCloud": {}}, [(P, "must have at least one userdatasource or one networkdatasource set.")]),
    ({"cloudInitNoCloud": {"userData": USER, "userDataBase64": "Iwo="}},
     [(P, "must have only one userdatasource set.")]),
    ({"cloudInitNoCloud": {"networkData": NETWORK, "networkDataBase64": "Iwo="}},
     [(P, "must have only one networkdata source set.")]),
    ({"cloudInitNoCloud": {"userDataBase64": "%%%"}},
     [(f"{P}.userDataBase64", "is not a valid base64 value.")]),
    ({"cloudInitNoCloud": {"userData": "#" * 2049}},
     [(P, "userdata exceeds 2048 byte limit. Should use UserDataSecretRef for larger data.")]),
    ({"cloudInitConfigDrive": {"userData": USER,
                               "networkDataBase64": base64.b64encode(b"n" * 2049).decode()}},
     [("spec.volumes[0].cloudInitConfigDrive",
       "networkdata exceeds 2048 byte limit. Should use NetworkDataSecretRef for larger data.")]),
])
def test_admission_causes(volume, expected):
    assert causes(volume) == expected


def test_admission_takes_each_good_form():
    for volume in ({"cloudInitNoCloud": {"userData": USER}},
                   {"cloudInitNoCloud": {"networkData": NETWORK}},
                   {"cloudInitNoCloud": {"userDataBase64": base64.b64encode(b"#" * 2048).decode()}},
                   {"cloudInitConfigDrive": {"userData": USER, "networkData": NETWORK}}):
        validation.vmi_spec(vmi(volume).spec, "spec")
