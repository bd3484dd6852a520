"""Host paths and import sources a manifest may name (services/common/hostpaths.py), refused at
admission with the field named (issue 13: "Any local user reads root-only files", "Manifests name
any host path")."""
from __future__ import annotations

import os

import grpc
import pytest

from services.common import hostpaths, kvconfig, manifest, proto


@pytest.fixture
def allowed(tmp_path, monkeypatch):
    """An allowed directory of the operator's, holding an image and a kernel directory."""
    d = tmp_path / "allowed"
    (d / "kb").mkdir(parents=True)
    (d / "kb" / "vmlinuz").write_bytes(b"k")
    (d / "root.img").write_bytes(b"x")
    monkeypatch.setenv(hostpaths.ENV_HOST_PATHS, str(d))
    monkeypatch.delenv(hostpaths.ENV_FEATURE_GATES, raising=False)
    monkeypatch.delenv(hostpaths.ENV_IMPORT_ALLOW_INTERNAL, raising=False)
    return d


def vmi(volumes=(), firmware=None):
    disks = [{"name": v["name"], "disk": {}} for v in volumes]
    domain = {"memory": {"guest": "64Mi"}, "devices": {"disks": disks}}
    if firmware:
        domain["firmware"] = firmware
    return proto.wrap(manifest.parse({"metadata": {"name": "v", "namespace": "default"},
                                      "spec": {"domain": domain, "volumes": list(volumes)}},
                                     proto.kv.VirtualMachineInstance))


def dv(url, name="d"):
    return proto.wrap(manifest.parse({"metadata": {"name": name, "namespace": "default"},
                                      "spec": {"source": {"http": {"url": url}},
                                               "storage": {"resources": {"requests": {"storage": "1Gi"}}}}},
                                     proto.kv.DataVolume))


async def refused(api_server, obj, message):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.stub.Create(proto.api.CreateRequest(object=obj))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details().startswith(message), e.value.details()


async def accepted(api_server, obj):
    await api_server.stub.Create(proto.api.CreateRequest(object=obj))


def kernel(image, kernel_path="/vmlinuz"):
    return {"kernelBoot": {"container": {"image": image, "kernelPath": kernel_path}}}


# ---------------------------------------------------------------- admission

async def test_host_disk_needs_the_feature_gate(api_server, allowed, monkeypatch):
    img = str(allowed / "root.img")
    await refused(api_server, vmi([{"name": "d", "hostDisk": {"path": img, "type": "Disk"}}]),
                  "spec.volumes[0]: HostDisk feature gate is not enabled")
    monkeypatch.setenv(hostpaths.ENV_FEATURE_GATES, "Foo,HostDisk")
    await accepted(api_server, vmi([{"name": "d", "hostDisk": {"path": img, "type": "Disk"}}]))


@pytest.mark.parametrize("path, message", [
    ("/etc/passwd", 'spec.volumes[0].hostDisk.path: Forbidden: "/etc/passwd" is not inside a host directory'),
    ("/", 'spec.volumes[0].hostDisk.path: Forbidden: "/" is not inside'),
    ("disk.img", 'spec.volumes[0].hostDisk.path: Invalid value: "disk.img": must be an absolute path'),
    ("{allowed}/../../etc/passwd", "spec.volumes[0].hostDisk.path: Invalid value: "),
    ("{allowed}/./new.img", "spec.volumes[0].hostDisk.path: Invalid value: "),
    ("{allowed}/link/shadow", 'spec.volumes[0].hostDisk.path: Forbidden: "{allowed}/link/shadow" is not inside'),
])
async def test_host_disk_paths_outside_the_allowed_directories_are_refused(api_server, allowed, monkeypatch,
                                                                           path, message):
    monkeypatch.setenv(hostpaths.ENV_FEATURE_GATES, "HostDisk")
    os.symlink("/etc", allowed / "link")   # a symlink inside the allowed directory pointing outside
    path, message = path.format(allowed=allowed), message.format(allowed=allowed)
    await refused(api_server, vmi([{"name": "d", "hostDisk": {"path": path, "type": "DiskOrCreate",
                                                              "capacity": "1Mi"}}]), message)


async def test_host_disk_or_create_inside_an_allowed_directory_is_accepted(api_server, allowed, monkeypatch):
    monkeypatch.setenv(hostpaths.ENV_FEATURE_GATES, "HostDisk")
    await accepted(api_server, vmi([{"name": "d", "hostDisk": {"path": str(allowed / "sub" / "new.img"),
                                                               "type": "DiskOrCreate", "capacity": "1Mi"}}]))


@pytest.mark.parametrize("image", ["/etc/shadow", "file:///etc/shadow", "/", "file:///",
                                   "{allowed}/../../../etc/shadow", "file://{allowed}/%2e%2e/x.img",
                                   "{allowed}/link/shadow"])
async def test_container_disk_images_outside_the_allowed_directories_are_refused(api_server, allowed, image):
    os.symlink("/etc", allowed / "link")
    image = image.format(allowed=allowed)
    await refused(api_server, vmi([{"name": "root", "containerDisk": {"image": image}}]),
                  "spec.volumes[0].containerDisk.image: ")


async def test_container_disk_path_may_not_leave_the_image(api_server, allowed):
    await refused(api_server, vmi([{"name": "root", "containerDisk": {"image": str(allowed / "kb"),
                                                                      "path": "../../../etc/shadow"}}]),
                  'spec.volumes[0].containerDisk.path: Invalid value: "../../../etc/shadow": leaves the image')


async def test_allowed_images_and_registry_references_are_accepted(api_server, allowed):
    await accepted(api_server, vmi([{"name": "a", "containerDisk": {"image": str(allowed / "root.img")}},
                                    {"name": "b", "containerDisk": {"image": f"file://{allowed}/root.img"}},
                                    {"name": "c", "containerDisk": {"image": "quay.io/containerdisks/fedora"}}],
                                   firmware=kernel(str(allowed / "kb"))))


@pytest.mark.parametrize("image, kernel_path, message", [
    ("/", "/etc/shadow", "spec.domain.firmware.kernelBoot.container.image: Forbidden: \"/\""),
    ("/etc", "/shadow", "spec.domain.firmware.kernelBoot.container.image: Forbidden: \"/etc\""),
    ("{allowed}/kb", "../../../etc/shadow",
     'spec.domain.firmware.kernelBoot.container.kernelPath: Invalid value: "../../../etc/shadow": leaves the image'),
])
async def test_kernel_boot_image_must_be_allowed_and_kernel_inside_it(api_server, allowed, image, kernel_path,
                                                                      message):
    await refused(api_server, vmi(firmware=kernel(image.format(allowed=allowed), kernel_path)), message)


async def test_a_vm_template_is_checked_too(api_server, allowed):
    vm = proto.wrap(manifest.parse(
        {"metadata": {"name": "v", "namespace": "default"},
         "spec": {"runStrategy": "Halted", "template": {"spec": {
             "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [{"name": "r", "disk": {}}]}},
             "volumes": [{"name": "r", "containerDisk": {"image": "/etc/shadow"}}]}}}},
        proto.kv.VirtualMachine))
    await refused(api_server, vm, 'spec.template.spec.volumes[0].containerDisk.image: Forbidden: "/etc/shadow"')


@pytest.mark.parametrize("url, message", [
    ("file:///etc/shadow", 'spec.source.http.url: Forbidden: "file:///etc/shadow" is not inside'),
    ("/etc/shadow", 'spec.source.http.url: Forbidden: "/etc/shadow" is not inside'),
    ("file://otherhost/etc/shadow", 'spec.source.http.url: Invalid value: "file://otherhost/etc/shadow"'),
    ("http://127.0.0.1:1/x", 'spec.source.http.url: Forbidden: "http://127.0.0.1:1/x": 127.0.0.1 is a loopback'),
    ("http://[::1]/", 'spec.source.http.url: Forbidden: "http://[::1]/": ::1 is a loopback'),
    ("http://[::ffff:127.0.0.1]/", 'spec.source.http.url: Forbidden: '),
    ("http://169.254.169.254/latest/meta-data", 'spec.source.http.url: Forbidden: '),
    ("https://0.0.0.0/x", 'spec.source.http.url: Forbidden: '),
    ("http://localhost:8080/x", 'spec.source.http.url: Forbidden: "http://localhost:8080/x": localhost is'),
])
async def test_datavolume_import_sources_are_confined(api_server, allowed, url, message):
    await refused(api_server, dv(url), message)


async def test_allowed_datavolume_sources_are_accepted(api_server, allowed, monkeypatch):
    await accepted(api_server, dv(f"file://{allowed}/root.img"))
    monkeypatch.setenv(hostpaths.ENV_IMPORT_ALLOW_INTERNAL, "1")
    await accepted(api_server, dv("http://127.0.0.1:8080/x.img", name="d2"))


# ---------------------------------------------------------------- the module itself

def test_default_is_the_guest_image_cache_only(monkeypatch):
    monkeypatch.delenv(hostpaths.ENV_HOST_PATHS, raising=False)
    monkeypatch.delenv("VIRTMESH_GUEST_DIR", raising=False)
    assert hostpaths.allowed_dirs() == [os.path.realpath("/var/cache/virtmesh/guests")]
    assert hostpaths.HOST_DISK_GATE not in kvconfig.ClusterConfig().gates() and not hostpaths.internal_imports_allowed()
    with pytest.raises(hostpaths.HostPathError, match="^f: Forbidden"):
        hostpaths.check_path("/etc/shadow", "f")


def test_a_symlink_inside_the_image_may_not_leave_it(allowed):
    os.symlink("/etc/shadow", allowed / "kb" / "evil")
    with pytest.raises(hostpaths.HostPathError, match='^k: Invalid value: "evil": leaves the image'):
        hostpaths.check_inside(str(allowed / "kb"), "evil", "k")
    assert hostpaths.check_inside(str(allowed / "kb"), "/vmlinuz", "k") == os.path.realpath(allowed / "kb" / "vmlinuz")


def test_the_node_resolves_host_names_and_checks_every_address(allowed):
    with pytest.raises(hostpaths.HostPathError, match="^spec.source.http.url: Forbidden: "):
        hostpaths.resolve_checked("localhost", 80)
    with pytest.raises(hostpaths.HostPathError, match="^spec.source.http.url: Forbidden: "):
        hostpaths.check_import_url("http://127.1/x", resolve=True)   # inet_aton's short forms too


async def test_a_claim_made_by_hand_with_an_import_endpoint_is_checked_too(api_server, allowed):
    pvc = proto.wrap(manifest.parse(
        {"metadata": {"name": "c", "namespace": "default",
                      "annotations": {"cdi.kubevirt.io/storage.import.endpoint": "file:///etc/shadow"}},
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        proto.kv.PersistentVolumeClaim))
    await refused(api_server, pvc, 'metadata.annotations[cdi.kubevirt.io/storage.import.endpoint]: Forbidden: '
                                   '"file:///etc/shadow"')
