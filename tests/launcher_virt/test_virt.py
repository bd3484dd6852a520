"""services/launcher/virt.py against libvirt's own test driver: define/start/pause/stop/undefine."""
import pytest

libvirt = pytest.importorskip("libvirt")

from services.launcher import virt  # noqa: E402

XML = """<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>"""


def test_lifecycle_on_the_test_driver():
    hv = virt.Hypervisor("test:///default", "ns_vm1")
    assert hv.state().exists is False
    assert hv.define_and_start(XML.format(name="ns_vm1")) is True
    assert hv.define_and_start(XML.format(name="ns_vm1")) is False  # already active: idempotent
    st = hv.state()
    assert (st.exists, st.state, st.reason) == (True, "Running", "Booted")
    hv.pause()
    assert (hv.state().state, hv.state().reason) == ("Paused", "User")
    hv.unpause()
    assert (hv.state().state, hv.state().reason) == ("Running", "Unpaused")
    hv.shutdown()
    assert (hv.state().state, hv.state().reason) == ("Shutoff", "Shutdown")
    with pytest.raises(virt.VirtError, match="not running"):
        hv.pause()
    hv.undefine()
    assert hv.state().exists is False


def test_destroy_reason_and_start_paused():
    hv = virt.Hypervisor("test:///default", "ns_vm2")
    hv.define_and_start(XML.format(name="ns_vm2"), paused=True)
    assert hv.state().state == "Paused"
    hv.destroy()
    assert (hv.state().state, hv.state().reason) == ("Shutoff", "Destroyed")
    hv.undefine()


def test_bad_uri_is_a_clear_error():
    hv = virt.Hypervisor("test:///nonexistent/file.xml", "x")
    with pytest.raises(virt.VirtError, match="cannot connect to libvirt"):
        hv.state()


def test_state_names():
    assert virt.state_names(5, 3) == ("Shutoff", "Crashed")
    assert virt.state_names(6, 1) == ("Crashed", "Panicked")
    assert virt.state_names(3, 11) == ("Paused", "StartingUp")


def test_emulation_choice():
    assert virt.domain_type("auto", "test:///default") == "test"
    assert virt.domain_type("emulation", "qemu:///system") == "qemu"
    assert virt.domain_type("kvm", "qemu:///system") == "kvm"
    # These machines: /dev/kvm exists but the CPU shows no vmx/svm, so auto must pick TCG.
    expected = "kvm" if virt.kvm_usable() else "qemu"
    assert virt.domain_type("auto", "qemu:///system") == expected
    flags = open("/proc/cpuinfo").read()
    if " vmx" not in flags and " svm" not in flags:
        assert expected == "qemu"


OWNED = """<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory>
<metadata><kubevirt xmlns="http://kubevirt.io"><uid>{uid}</uid></kubevirt></metadata>
<os><type arch='x86_64'>hvm</type></os></domain>"""


def test_a_domain_of_another_vmi_is_not_ours():
    mine = virt.Hypervisor("test:///default", "ns_vm3", owner_uid="uid-a")
    other = virt.Hypervisor("test:///default", "ns_vm3", owner_uid="uid-b")
    assert mine.define_and_start(OWNED.format(name="ns_vm3", uid="uid-a"))
    assert other.state().exists is False
    other.destroy()  # must not touch uid-a's domain
    other.undefine()
    assert mine.state().state == "Running"
    with pytest.raises(virt.VirtError, match="running for another VMI"):
        other.define_and_start(OWNED.format(name="ns_vm3", uid="uid-b"))
    mine.undefine()


def test_a_connection_opened_ahead_serves_the_first_hypervisor_only_while_alive():
    """A spare launcher connects before its VM is known (virt.open_ahead); its launcher's first connect takes
    that connection, once; one closed meanwhile (libvirtd restarted) is replaced by a new one."""
    uri = "test:///default"
    virt.open_ahead(uri)
    ahead = virt._opened_ahead[uri]
    hv = virt.Hypervisor(uri, "ns_ahead", on_event=lambda: None)
    assert hv.connect() is ahead
    assert uri not in virt._opened_ahead
    assert virt.Hypervisor(uri, "ns_other").connect() is not ahead
    virt.open_ahead(uri)
    stale = virt._opened_ahead[uri]
    stale.close()
    fresh = virt.Hypervisor(uri, "ns_fresh")
    assert fresh.connect() is not stale and fresh.connect().isAlive()
    assert fresh.define_and_start(XML.format(name="ns_fresh")) is True
    fresh.destroy()
    fresh.undefine()
