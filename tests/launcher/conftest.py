"""Fixtures for the launcher's domain-XML tests: manifests from YAML, and libvirt's own validation."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
import xml.etree.ElementTree as ET

import pytest
import yaml

from services.common import manifest, proto


@pytest.fixture
def vmi_from_yaml():
    def parse(text: str):
        return manifest.parse(yaml.safe_load(text), proto.kv.VirtualMachineInstance)
    return parse


def _libvirt():
    try:
        import libvirt
    except ImportError:
        return None
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
    return libvirt


def _renamed(xml: str, name: str) -> str:
    root = ET.fromstring(xml)
    root.find("name").text = name
    uuid_el = root.find("uuid")
    if uuid_el is not None:  # the test driver keeps domains: avoid uuid clashes between cases
        root.remove(uuid_el)
        sysinfo = root.find("sysinfo/system")
        if sysinfo is not None:
            for entry in list(sysinfo):
                if entry.get("name") == "uuid":
                    sysinfo.remove(entry)
    return ET.tostring(root, encoding="unicode")


def _define_undefine(libvirt, uri: str, xml: str) -> None:
    conn = libvirt.open(uri)
    try:
        dom = conn.defineXML(xml)
        try:
            dom.undefineFlags(getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0))
        except libvirt.libvirtError:
            dom.undefine()
    finally:
        conn.close()


def _system_qemu(libvirt):
    """qemu:///system when a libvirtd answers (define only; nothing is started)."""
    if os.environ.get("VIRTMESH_SKIP_QEMU_DEFINE") or not os.path.exists("/var/run/libvirt/libvirt-sock"):
        return None
    try:
        libvirt.open("qemu:///system").close()
    except libvirt.libvirtError:
        return None
    return "qemu:///system"


@pytest.fixture(scope="session")
def libvirt_validate():
    """Check XML the way libvirt does: the RNG schema (virt-xml-validate), the test driver's parser
    (defineXML on test:///default), and, when a libvirtd runs, the QEMU driver's define-time
    checks (stricter: e.g. it refuses a CD-ROM on the virtio bus). Skips if libvirt is missing."""
    libvirt = _libvirt()
    if libvirt is None:
        pytest.skip("libvirt-python is not installed")
    validator = shutil.which("virt-xml-validate")
    qemu_uri = _system_qemu(libvirt)

    def validate(xml: str) -> list[str]:
        done = []
        if validator:
            with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
                f.write(xml)
            try:
                r = subprocess.run([validator, f.name, "domain"], capture_output=True, text=True)
            finally:
                os.unlink(f.name)
            assert r.returncode == 0, f"virt-xml-validate rejected the XML:\n{r.stderr}{r.stdout}\n{xml}"
            done.append("virt-xml-validate")
        name = f"virtmesh-xmlcheck-{uuid.uuid4().hex[:8]}"
        try:
            _define_undefine(libvirt, "test:///default", _renamed(xml, name))
        except libvirt.libvirtError as e:
            raise AssertionError(f"libvirt test driver rejected the XML: {e}\n{xml}") from None
        done.append("test:///default")
        if qemu_uri:
            try:
                _define_undefine(libvirt, qemu_uri, _renamed(xml, name))
            except libvirt.libvirtError as e:
                raise AssertionError(f"libvirt QEMU driver rejected the XML: {e}\n{xml}") from None
            done.append(qemu_uri)
        return done

    return validate
