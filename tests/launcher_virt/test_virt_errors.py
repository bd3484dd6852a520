"""virt.py keeps libvirt's error code as exception types: each mapped type is raised for the real libvirt
error of libvirt's own test driver (test:///default), through the wrapper's one mapping."""
import pytest

libvirt = pytest.importorskip("libvirt")

from services.launcher import virt  # noqa: E402

XML = """<domain type='test'><name>{name}</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64'>hvm</type></os></domain>"""


@pytest.fixture
def conn():
    c = libvirt.open("test:///default")
    yield c
    c.close()


@pytest.fixture
def running():
    """A Hypervisor with its own running domain (the test driver's state lives as long as the process)."""
    made = []

    def make(name):
        hv = virt.Hypervisor("test:///default", name)
        hv.define_and_start(XML.format(name=name))
        made.append(hv)
        return hv
    yield make
    for hv in made:
        hv.undefine()


def raised(fn, *args) -> virt.VirtError:
    with pytest.raises(virt.VirtError) as e:
        virt.call("the call", fn, *args)
    return e.value


def test_every_table_entry_is_a_libvirt_error_code():
    assert all(isinstance(getattr(libvirt, name), int) for name in virt._ERROR_TYPES)


def test_a_missing_domain_is_domain_not_found(conn):
    e = raised(conn.lookupByName, "no-such-domain")
    assert type(e) is virt.DomainNotFound and e.code == libvirt.VIR_ERR_NO_DOMAIN
    assert str(e) == f"the call: {e.detail}" and e.detail  # libvirt's own words, kept for people


def test_destroying_a_stopped_domain_is_operation_invalid(conn, running):
    hv = running("err_stopped")
    hv.destroy()
    e = raised(conn.lookupByName("err_stopped").destroy)
    assert type(e) is virt.OperationInvalid and e.code == libvirt.VIR_ERR_OPERATION_INVALID


def test_pausing_a_stopped_domain_is_operation_invalid_and_a_missing_one_not_found(running):
    hv = running("err_pause")
    hv.shutdown()
    with pytest.raises(virt.OperationInvalid, match="not running"):
        hv.pause()
    with pytest.raises(virt.DomainNotFound):
        virt.Hypervisor("test:///default", "err_never_defined").pause()


def test_a_driver_without_hotplug_is_no_support(running):
    hv = running("err_hotplug")
    with pytest.raises(virt.NoSupport) as e:
        hv.device("attach", "<disk type='file'><source file='/x'/><target dev='vdz'/></disk>")
    assert e.value.code == libvirt.VIR_ERR_NO_SUPPORT
    # A detach that failed leaves no unplug pending: the next sync asks again.
    with pytest.raises(virt.NoSupport):
        hv.device("detach", "<interface type='user'/>", "ua-x")
    assert not hv.unplug_pending("ua-x")


def test_flags_the_driver_lacks_are_invalid_arg(conn, running):
    running("err_flags")
    dom = conn.lookupByName("err_flags")
    dom.destroy()
    e = raised(dom.createWithFlags, libvirt.VIR_DOMAIN_START_PAUSED)
    assert type(e) is virt.InvalidArg and e.code == libvirt.VIR_ERR_INVALID_ARG


def test_a_definition_libvirt_refuses_is_invalid_config():
    hv = virt.Hypervisor("test:///default", "err_bad")
    with pytest.raises(virt.InvalidConfig, match="define of domain err_bad"):
        hv.define_and_start("<domain type='test'><name>err_bad</name></domain>")
    with pytest.raises(virt.InvalidConfig):
        hv.define_and_start("<domain")


def test_absent_metadata_is_no_metadata(conn, running):
    running("err_meta")
    e = raised(conn.lookupByName("err_meta").metadata, libvirt.VIR_DOMAIN_METADATA_ELEMENT, "http://kubevirt.io")
    assert type(e) is virt.NoMetadata and e.code == libvirt.VIR_ERR_NO_DOMAIN_METADATA


def test_an_unmapped_code_stays_a_virt_error_with_its_code(conn, running):
    running("err_twice")
    # Starting a running domain: the test driver says so as an internal error (QEMU's driver: operation
    # invalid, which the table maps); either way the code travels with the exception.
    e = raised(conn.lookupByName("err_twice").create)
    assert type(e) is virt.VirtError and e.code == libvirt.VIR_ERR_INTERNAL_ERROR


def test_an_unreachable_libvirt_is_connection_failed():
    with pytest.raises(virt.ConnectionFailed, match="cannot connect to libvirt"):
        virt.Hypervisor("test:///nonexistent/file.xml", "x").state()
