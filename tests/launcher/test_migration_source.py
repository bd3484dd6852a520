"""The launcher's migration decisions (services/launcher/migration.py) and the handler's LiveMigratable
condition (services/handler/migration.py), pure."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from services.common import manifest, migrations as M, proto
from services.handler import migration as hm
from services.launcher import migration as lm
from services.launcher.domxml import model as m

DOMAIN = """<domain type='qemu' xmlns:kubevirt='http://kubevirt.io'>
  <name>ns_vm</name>
  <metadata><kubevirt:kubevirt><kubevirt:uid>u1</kubevirt:uid></kubevirt:kubevirt></metadata>
  <os><type arch='x86_64' machine='pc-q35-7.2'>hvm</type><kernel>/var/cache/virtmesh/guests/amd64/kernel</kernel>
      <nvram>/d/a/vms/u1/vm_VARS.fd</nvram></os>
  <devices>
    <disk type='file' device='disk'><source file='/d/a/vms/u1/disk-0.qcow2'/><target dev='vda'/></disk>
    <disk type='file' device='disk'><source file='/var/lib/shared/img.raw'/><target dev='vdb'/></disk>
    <disk type='file' device='disk'><source file='/d/a/vms/u1/ro.img'/><target dev='vdc'/><readonly/></disk>
    <disk type='file' device='cdrom'><source file='/d/a/vms/u1/ci.iso'/><target dev='sda'/></disk>
    <serial type='unix'><source mode='bind' path='/d/a/vms/u1/serial0.sock'/><log file='/d/a/vms/u1/serial0.log'
      append='on'/></serial>
    <serial type='file'><source path='/d/a/vms/u1x/other.log'/></serial>
  </devices>
</domain>"""


def test_the_target_gets_its_own_paths_for_what_was_under_the_source_launchers():
    out = ET.fromstring(lm.rewrite_paths(DOMAIN, "/d/a/vms/u1", "/d/b/vms/u1"))
    assert out.find("os/nvram").text == "/d/b/vms/u1/vm_VARS.fd"
    assert out.find("os/kernel").text == "/var/cache/virtmesh/guests/amd64/kernel"     # shared: kept
    assert [d.find("source").get("file") for d in out.iter("disk")] == [
        "/d/b/vms/u1/disk-0.qcow2", "/var/lib/shared/img.raw", "/d/b/vms/u1/ro.img", "/d/b/vms/u1/ci.iso"]
    serial, other = out.iter("serial")
    assert serial.find("source").get("path") == "/d/b/vms/u1/serial0.sock"
    assert serial.find("log").get("file") == "/d/b/vms/u1/serial0.log"
    assert other.find("source").get("path") == "/d/a/vms/u1x/other.log"           # a prefix, not a directory
    assert out.find("metadata/{http://kubevirt.io}kubevirt/{http://kubevirt.io}uid").text == "u1"
    assert lm.rewrite_paths(DOMAIN, "/d/a/vms/u1", "/d/a/vms/u1/") == DOMAIN         # same directory: untouched


def test_local_disks_go_along_shared_and_read_only_ones_do_not():
    assert lm.local_disks(m.Domain.from_xml(DOMAIN), "/d/a/vms/u1") == [("vda", "/d/a/vms/u1/disk-0.qcow2")]


@pytest.mark.parametrize("memory, local, gib", [("128Mi", 0, 1), ("1Gi", 0, 2), ("512Mi", 600_000_000, 2),
                                                  ("", 0, 0)])
def test_the_data_size_is_kubevirts(memory, local, gib):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.spec.domain.memory.guest = memory
    assert lm.data_size_gib(vmi, local) == gib        # GB rounded up, as resource.Quantity's ScaledValue(Giga)


def test_bandwidth_in_mib_per_second():
    assert [lm.bandwidth_mib(x) for x in ("", "0Mi", "8Mi", "1Gi", "64M")] == [0, 0, 8, 1024, 61]
    assert lm.target_uris("192.0.2.2") == ("qemu+tcp://192.0.2.2/system", "tcp://192.0.2.2")
    assert lm.target_uris("fd00::2") == ("qemu+tcp://[fd00::2]/system", "tcp://[fd00::2]")


def test_the_monitor_aborts_a_stuck_or_endless_migration():
    mon = lm.Monitor(progress_timeout=150, acceptable=1000, allow_disruption=False, allow_post_copy=False, start=0)
    assert mon.step(10, 1000) is None
    assert mon.step(100, 900) is None               # progress
    assert mon.step(200, 950) is None               # 100 s without progress: not yet
    assert mon.step(251, 950) == lm.Monitor.STUCK
    assert mon.message(lm.Monitor.STUCK, 251) == "Live migration stuck for 151 seconds and has been aborted"
    mon = lm.Monitor(progress_timeout=0, acceptable=150, allow_disruption=False, allow_post_copy=False, start=0)
    for t in range(0, 150, 10):
        assert mon.step(t, 1000 - t) is None
    assert mon.step(151, 1) == lm.Monitor.TOO_LONG
    assert mon.message(lm.Monitor.TOO_LONG, 151) == \
        "Live migration is not completed after 150 seconds and has been aborted"


def test_with_workload_disruption_the_guest_is_helped_along_instead():
    mon = lm.Monitor(progress_timeout=150, acceptable=10, allow_disruption=True, allow_post_copy=True, start=0)
    assert mon.step(11, 5) == lm.Monitor.POST_COPY
    assert mon.step(500, 5) is None                 # post-copy: the target runs the guest, never abort
    mon = lm.Monitor(progress_timeout=150, acceptable=10, allow_disruption=True, allow_post_copy=False, start=0)
    assert mon.step(11, 5) == lm.Monitor.PAUSE and mon.acceptable == 20
    assert mon.step(15, 4) is None and mon.step(21, 3) == lm.Monitor.TOO_LONG


# ---------------------------------------------------------------- LiveMigratable (handler)

def vmi_of(spec: dict, annotations=None, volume_status=()):
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
           "metadata": {"name": "v", "annotations": annotations or {}}, "spec": {"domain": {"devices": {}}, **spec}}
    vmi = proto.inner(manifest.to_object(doc))
    for vs in volume_status:
        vmi.status.volumeStatus.append(vs)
    return vmi


def test_live_migratable_by_kubevirts_rules():
    assert hm.migratable(vmi_of({})) == ("", "", M.LIVE_MIGRATION)
    masq = {"domain": {"devices": {"interfaces": [{"name": "default", "masquerade": {}}]}},
            "networks": [{"name": "default", "pod": {}}]}
    assert hm.migratable(vmi_of(masq))[0] == ""
    bridge = {"domain": {"devices": {"interfaces": [{"name": "default", "bridge": {}}]}},
              "networks": [{"name": "default", "pod": {}}]}
    assert hm.migratable(vmi_of(bridge)) == (
        M.REASON_INTERFACE, "cannot migrate VMI which does not use masquerade, bridge with "
        "kubevirt.io/allow-pod-bridge-network-live-migration VM annotation or a migratable plugin to connect "
        "to the pod network", "")
    disks = {"domain": {"devices": {"disks": [{"name": "c", "disk": {}}]}},
             "volumes": [{"name": "c", "containerDisk": {"image": "/img"}}]}
    assert hm.migratable(vmi_of(disks)) == ("", "", M.BLOCK_MIGRATION)
    host = {"volumes": [{"name": "h", "hostDisk": {"path": "/x", "type": "Disk"}}]}
    assert hm.migratable(vmi_of(host)) == (M.REASON_DISKS, "cannot migrate VMI with non-shared HostDisk", "")
    claim = {"domain": {"devices": {"disks": [{"name": "d", "disk": {}}]}},
             "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}
    assert hm.migratable(vmi_of(claim))[1] == (
        "cannot migrate VMI: Unable to determine if PVC data is shared, live migration requires that all PVCs "
        "must be shared (using ReadWriteMany access mode)")
    rwo = proto.kv.VolumeStatus(name="d")
    rwo.persistentVolumeClaimInfo.accessModes.append("ReadWriteOnce")
    assert hm.migratable(vmi_of(claim, volume_status=[rwo])) == (
        M.REASON_DISKS, "cannot migrate VMI: PVC data is not shared, live migration requires that all PVCs must "
        "be shared (using ReadWriteMany access mode)", "")


def test_the_condition_on_a_status():
    vmi = vmi_of({"volumes": [{"name": "h", "hostDisk": {"path": "/x", "type": "Disk"}}]})
    hm.set_live_migratable(vmi)
    c, = [c for c in vmi.status.conditions if c.type == "LiveMigratable"]
    assert (c.status, c.reason) == ("False", "DisksNotLiveMigratable") and not vmi.status.migrationMethod
    vmi = vmi_of({})
    hm.set_live_migratable(vmi)
    assert [(c.type, c.status) for c in vmi.status.conditions] == [("LiveMigratable", "True")]
    assert vmi.status.migrationMethod == "LiveMigration"


def test_migration_options_from_the_configuration():
    cfg = proto.migrationstate.MigrationConfiguration(bandwidthPerMigration="8Mi", progressTimeout=150,
                                                      completionTimeoutPerGiB=150, allowPostCopy=True)
    opts = hm.options_of(cfg)
    assert (opts.bandwidth, opts.progressTimeout, opts.completionTimeoutPerGiB) == ("8Mi", 150, 150)
    assert opts.allowPostCopy and opts.allowWorkloadDisruption     # follows allowPostCopy when unset
    cfg.allowWorkloadDisruption = False
    assert not hm.options_of(cfg).allowWorkloadDisruption


def test_evictions_as_kubevirts_pod_eviction_admitter():
    def vmi(strategy="", migratable=True, evacuating="", node="n1"):
        v = vmi_of({"evictionStrategy": strategy} if strategy else {})
        v.metadata.namespace, v.status.nodeName, v.status.evacuationNodeName = "ns", node, evacuating
        v.status.conditions.add(type="LiveMigratable", status="True" if migratable else "False")
        return v
    ev = 'Eviction triggered evacuation of VMI "ns/v"'
    assert M.eviction(vmi("LiveMigrate"), "LiveMigrate", "n1") == ("evacuate", ev)
    assert M.eviction(vmi("LiveMigrate", migratable=False), "LiveMigrate", "n1") == (
        "refuse", "VMI v is configured with an eviction strategy but is not live-migratable")
    assert M.eviction(vmi(evacuating="n1"), "LiveMigrate", "n1") == ("refuse", "Evacuation in progress: " + ev)
    assert M.eviction(vmi(), "LiveMigrate", "n2") == ("refuse", "Eviction request for target Pod")
    assert M.eviction(vmi(migratable=False), "LiveMigrateIfPossible", "n1") == ("stop", "")
    assert M.eviction(vmi(), "LiveMigrateIfPossible", "n1")[0] == "evacuate"
    assert M.eviction(vmi(migratable=False), "External", "n1")[0] == "evacuate"
    assert M.eviction(vmi(), "None", "n1") == ("stop", "")
    assert M.eviction_strategy(vmi(), "LiveMigrate") == "LiveMigrate"            # the cluster's default
    assert M.eviction_strategy(vmi("None"), "LiveMigrate") == "None"             # the VMI's own wins
