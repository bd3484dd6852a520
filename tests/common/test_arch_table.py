"""The one architecture table (services/common/arch.py) and the spec's enums (services/common/domain.py)
agree with themselves and with every place that reads them: adding a bus or an arch touches one row."""
from __future__ import annotations

import fnmatch

import pytest

from services.api import defaults, validation
from services.common import arch, domain, machines, manifest, proto
from services.launcher.domxml import archs

RUNNING = [a for a in arch.ARCHS.values() if a.runs]


@pytest.mark.parametrize("a", arch.ARCHS.values(), ids=lambda a: a.name)
def test_each_row_is_consistent(a):
    assert set(a.disk_buses) <= set(domain.DISK_BUSES)
    assert set(a.cdrom_buses) <= set(domain.CDROM_BUSES)
    if a.runs:   # the defaults of an arch the api admits are among the buses it allows
        for kind in domain.DISK_TARGETS:
            assert a.admits_disk_bus(kind, a.default_bus(kind)), (a.name, kind)
    assert machines.emulated(a.name, a.default_machine)   # the default machine passes its own globs
    assert a.cpu_model in (None, *domain.HOST_CPU_MODES)
    assert arch.FROM_LIBVIRT[arch.TO_LIBVIRT[a.name]] == a.name
    assert a.labeller_machine in ("", a.default_machine)


def test_the_launcher_designs_exactly_the_arches_that_run():
    assert set(archs.ARCHS) == set(arch.GUEST_ARCHS) == {a.name for a in RUNNING}
    for a in RUNNING:
        design = archs.ARCHS[a.name]
        assert design.guest is a
        assert (design.efi_secure is not None) == a.secure_boot
        assert design.efi is not None   # EFI may be asked for on every arch that runs
        assert design.is_pcie(a.default_machine)
        assert all(any(fnmatch.fnmatchcase(m, g) for g in a.emulated_machines) for m in
                   (p.replace("*", "7.2") for p in design.pcie_machines))


def test_bus_prefixes_cover_every_bus():
    assert set(domain.BUS_PREFIX) == set(domain.DISK_BUSES)
    assert set(domain.CDROM_BUSES) | set(domain.LUN_BUSES) <= set(domain.DISK_BUSES)


@pytest.mark.parametrize("a", RUNNING, ids=lambda a: a.name)
def test_a_defaulted_vmi_of_each_arch_is_admitted(a):
    """What the api defaults a VMI to (machine, CPU model, firmware, buses) its own admission accepts."""
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": {"name": "v"},
           "spec": {"architecture": a.name, "domain": {"memory": {"guest": "64Mi"}, "devices": {"disks": [
               {"name": "d"}, {"name": "c", "cdrom": {}}, {"name": "l", "lun": {}}]}},
                    "volumes": [{"name": n, "emptyDisk": {"capacity": "1Gi"}} for n in "dcl"]}}
    spec = manifest.parse(doc, proto.kv.VirtualMachineInstance).spec
    defaults.vmi_spec(spec)
    assert spec.domain.machine.type == a.default_machine
    assert spec.domain.cpu.model == (a.cpu_model or "")
    validation.vmi_spec(spec, "spec")
