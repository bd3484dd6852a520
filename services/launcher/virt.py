"""The only module that imports libvirt: connection, flags, states, events (Nova's host.py/guest.py).

libvirt calls block, so callers run them in a thread (asyncio.to_thread); libvirt's event loop
runs on its own thread and hands lifecycle events to asyncio with call_soon_threadsafe.
"""
from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, Optional

try:
    import libvirt
except ImportError:  # unit tests of other modules never need the binding
    libvirt = None
else:
    # libvirt prints every error to stderr by default; we raise VirtError with the message instead.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

from services.common.domain import METADATA_NS  # noqa: E402
from services.common.kvm import kvm_usable  # noqa: E402,F401  (re-exported for callers/tests)

log = logging.getLogger(__name__)

# KubeVirt's api.LifeCycle names, indexed by virDomainState.
STATES = ["NoState", "Running", "Blocked", "Paused", "Shutdown", "Shutoff", "Crashed", "PMSuspended"]
# KubeVirt's StateChangeReason names per state (virDomain*Reason enums).
_RUNNING = ["Unknown", "Booted", "Migrated", "Restored", "FromSnapshot", "Unpaused", "MigrationCanceled",
            "SaveCanceled", "Wakeup", "Crashed", "PostcopyStarted"]
_PAUSED = ["Unknown", "User", "Migration", "Save", "Dump", "IOError", "Watchdog", "FromSnapshot",
           "ShuttingDown", "Snapshot", "Crashed", "StartingUp", "PostcopyPaused", "PostcopyFailed"]
_SHUTDOWN = ["Unknown", "User"]
_SHUTOFF = ["Unknown", "Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "FromSnapshot",
            "Daemon"]
_CRASHED = ["Unknown", "Panicked"]
_REASONS = {"Running": _RUNNING, "Paused": _PAUSED, "Shutdown": _SHUTDOWN, "Shutoff": _SHUTOFF,
            "Crashed": _CRASHED}


class VirtError(Exception):
    pass


@dataclass
class DomainState:
    exists: bool
    state: str = ""
    reason: str = ""
    xml: str = ""


def state_names(state: int, reason: int) -> tuple[str, str]:
    name = STATES[state] if 0 <= state < len(STATES) else "NoState"
    reasons = _REASONS.get(name, [])
    return name, (reasons[reason] if 0 <= reason < len(reasons) else "Unknown")


def machine_type(domain_xml: str) -> str:
    """The machine attribute of <os><type>, as libvirt expanded it (q35 -> pc-q35-7.2)."""
    if not domain_xml:
        return ""
    node = ET.fromstring(domain_xml).find("./os/type")
    return node.get("machine", "") if node is not None else ""


def domain_uuid(domain_xml: str) -> str:
    """The domain's UUID (the firmware UUID, or libvirt's own when none was given)."""
    return ET.fromstring(domain_xml).findtext("uuid", "") if domain_xml else ""


def persistent_tpm(domain_xml: str) -> bool:
    """A <tpm> whose emulator backend keeps its state (persistent_state="yes")."""
    if not domain_xml:
        return False
    return ET.fromstring(domain_xml).find("./devices/tpm/backend[@persistent_state='yes']") is not None


def domain_type(emulation: str, uri: str) -> str:
    """KubeVirt's useEmulation as auto|kvm|emulation -> libvirt domain type."""
    if uri.startswith("test:"):
        return "test"
    if emulation == "kvm":
        return "kvm"
    if emulation == "emulation":
        return "qemu"
    return "kvm" if kvm_usable() else "qemu"


_event_loop_started = False
_event_lock = threading.Lock()


def _start_event_loop() -> None:
    global _event_loop_started
    with _event_lock:
        if _event_loop_started:
            return
        libvirt.virEventRegisterDefaultImpl()

        def run():
            while True:
                libvirt.virEventRunDefaultImpl()

        threading.Thread(target=run, name="libvirt-events", daemon=True).start()
        _event_loop_started = True


KUBEVIRT_NS = METADATA_NS


class Hypervisor:
    """One libvirt connection and one domain (a launcher runs exactly one VM).

    Launchers share the host's libvirtd, so a domain name (`<namespace>_<name>`) can outlive its
    VMI or belong to another mesh: with `owner_uid`, a domain whose <metadata><kubevirt><uid> is
    another VMI's is treated as not there, and never stopped or undefined by us.
    """

    def __init__(self, uri: str, domain_name: str, on_event: Optional[Callable[[], None]] = None,
                 owner_uid: str = ""):
        if libvirt is None:
            raise VirtError("libvirt-python is not installed (pip install '.[libvirt]')")
        self.uri = uri
        self.name = domain_name
        self.on_event = on_event
        self.owner_uid = owner_uid
        self._conn = None
        self._removed: dict[str, threading.Event] = {}  # alias -> set by DEVICE_REMOVED
        # Set once our domain has migrated away (launcher/migration.py): a domain of this name and owner
        # here later is another launcher's (the VMI migrating back), never ours to stop or undefine.
        self.released = False

    def connect(self):
        if self._conn is not None:
            try:
                if self._conn.isAlive():
                    return self._conn
            except libvirt.libvirtError:
                pass
        if self.on_event is not None:
            _start_event_loop()
        try:
            conn = libvirt.open(self.uri)
        except libvirt.libvirtError as e:
            raise VirtError(f"cannot connect to libvirt at {self.uri}: {e.get_error_message()}") from None
        if self.on_event is not None:
            cb = self.on_event
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                                        lambda c, dom, ev, detail, opaque: dom.name() == self.name and cb(), None)
            # Device hot(un)plug finishes asynchronously, in the guest: wake on its events too; a
            # removal also releases whoever waits for it (detach_device).
            def removed(c, dom, alias, opaque):
                self._device_removed(c, dom, alias, opaque)
                if dom.name() == self.name:
                    cb()
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, removed, None)
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                        lambda c, dom, alias, opaque: dom.name() == self.name and cb(), None)
        self._conn = conn
        return conn

    def _lookup(self):
        try:
            return self.connect().lookupByName(self.name)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return None
            raise VirtError(e.get_error_message()) from None

    def _owner(self, dom) -> Optional[str]:
        try:
            md = dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, KUBEVIRT_NS)
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_SUPPORT:
                return None  # driver without metadata: trust the name
            return ""  # no kubevirt metadata: not a domain of ours
        uid = ET.fromstring(md).find("uid")
        return (uid.text or "") if uid is not None else ""

    def _domain(self):
        """Our domain, or None (absent, or another VMI's domain of the same name, or ours migrated away)."""
        if self.released:
            return None
        dom = self._lookup()
        if dom is None or not self.owner_uid:
            return dom
        owner = self._owner(dom)
        return dom if owner is None or owner == self.owner_uid else None

    def state(self, with_xml: bool = False) -> DomainState:
        dom = self._domain()
        if dom is None:
            return DomainState(exists=False)
        try:
            st, reason = dom.state()
            xml = dom.XMLDesc(0) if with_xml else ""
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return DomainState(exists=False)
            raise VirtError(e.get_error_message()) from None
        name, why = state_names(st, reason)
        return DomainState(True, name, why, xml)

    def _call(self, what: str, fn):
        try:
            return fn()
        except libvirt.libvirtError as e:
            raise VirtError(f"{what} of domain {self.name}: {e.get_error_message()}") from None

    def define_and_start(self, xml: str, paused: bool = False) -> bool:
        """Define (or redefine) and start unless already active. Returns True when started now."""
        conn = self.connect()
        existing = self._lookup()
        if existing is not None:
            owner = self._owner(existing) if self.owner_uid else None
            if owner not in (None, self.owner_uid) and existing.isActive():
                raise VirtError(f"domain {self.name} is running for another VMI (uid {owner or 'unknown'})")
            if owner in (None, self.owner_uid) and existing.isActive():
                return False  # idempotent: a re-sync after a handler restart changes nothing
        dom = self._call("define", lambda: conn.defineXML(xml))
        try:
            try:
                dom.createWithFlags(libvirt.VIR_DOMAIN_START_PAUSED if paused else 0)
            except libvirt.libvirtError as e:
                if not paused or e.get_error_code() != libvirt.VIR_ERR_INVALID_ARG:
                    raise
                dom.create()  # drivers without START_PAUSED (the test driver): start, then pause
                dom.suspend()
        except libvirt.libvirtError as e:
            log.error("starting domain %s failed: %s\n%s", self.name, e.get_error_message(), xml)
            raise VirtError(f"start of domain {self.name}: {e.get_error_message()}") from None
        return True

    def live_xml(self) -> str:
        dom = self._domain()
        if dom is None or not dom.isActive():
            raise VirtError(f"domain {self.name} is not running")
        return self._call("XMLDesc", lambda: dom.XMLDesc(0))

    def device(self, action: str, xml: str) -> None:
        """attach | detach | update one device, live and in the persistent config (LIVE|CONFIG,
        as KubeVirt). A detach returns once the guest let go or after libvirt's own wait (~5 s);
        callers confirm it from the live XML (the DEVICE_REMOVED event wakes them)."""
        dom = self._domain()
        if dom is None or not dom.isActive():
            raise VirtError(f"domain {self.name} is not running")
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
        fn = {"attach": dom.attachDeviceFlags, "detach": dom.detachDeviceFlags,
              "update": dom.updateDeviceFlags}[action]
        self._call(f"{action} device", lambda: fn(xml, flags))

    def shutdown(self) -> None:
        dom = self._domain()
        if dom is not None and dom.isActive():
            self._call("shutdown", dom.shutdown)

    def destroy(self) -> None:
        dom = self._domain()
        if dom is not None and dom.isActive():
            try:
                dom.destroy()
            except libvirt.libvirtError as e:
                if e.get_error_code() not in (libvirt.VIR_ERR_NO_DOMAIN, libvirt.VIR_ERR_OPERATION_INVALID):
                    raise VirtError(f"destroy of domain {self.name}: {e.get_error_message()}") from None

    def pause(self) -> None:
        dom = self._domain()
        if dom is None or not dom.isActive():
            raise VirtError(f"domain {self.name} is not running")
        self._call("suspend", dom.suspend)

    def unpause(self) -> None:
        dom = self._domain()
        if dom is None or not dom.isActive():
            raise VirtError(f"domain {self.name} is not running")
        self._call("resume", dom.resume)

    def undefine(self) -> None:
        dom = self._domain()
        if dom is None:
            return
        self.destroy()
        # NVRAM goes with the domain; a VMI restart defines a fresh one from the template.
        # A persistent TPM's state (swtpm's dir, keyed by the domain UUID, which a VM keeps via its
        # stable firmware UUID) stays for the next VMI of the VM; any other TPM state goes.
        flags = getattr(libvirt, "VIR_DOMAIN_UNDEFINE_NVRAM", 0)
        try:
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
        except libvirt.libvirtError:
            xml = ""  # gone meanwhile: undefineFlags below says so
        if persistent_tpm(xml):
            flags |= getattr(libvirt, "VIR_DOMAIN_UNDEFINE_KEEP_TPM", 0)
        try:
            dom.undefineFlags(flags)
            return
        except libvirt.libvirtError as e:
            if e.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                return
            if e.get_error_code() not in (libvirt.VIR_ERR_INVALID_ARG, libvirt.VIR_ERR_NO_SUPPORT):
                raise VirtError(f"undefine of domain {self.name}: {e.get_error_message()}") from None
        self._call("undefine", dom.undefine)  # drivers without NVRAM support (the test driver)

    # -------------------------------------------------------------- device hotplug

    def _device_removed(self, conn, dom, alias, opaque) -> None:
        if dom.name() == self.name:
            ev = self._removed.get(alias)
            if ev is not None:
                ev.set()

    def detach_device(self, xml: str, alias: str, timeout: float = 30.0) -> None:
        """Ask the guest to release the device and wait until QEMU reports it gone
        (DEVICE_REMOVED; the live XML is re-read too, for an event that came before we listened)."""
        dom = self._domain()
        if dom is None:
            return
        gone = threading.Event()
        self._removed[alias] = gone
        try:
            self.device("detach", xml)
            deadline = time.monotonic() + timeout
            while not gone.wait(0.5):
                if f"<alias name='{alias}'/>" not in self._call("read XML", lambda: dom.XMLDesc(0)):
                    return
                if time.monotonic() > deadline:
                    raise VirtError(f"detach of {alias} from domain {self.name}: the guest did not release "
                                    f"the device within {timeout:.0f}s")
        finally:
            self._removed.pop(alias, None)

    # -------------------------------------------------------------- soft reboot, slirp forwards

    def reboot_acpi(self) -> None:
        """ACPI reboot: libvirt presses the power button and resets QEMU when the guest powers off
        (KubeVirt's SoftRebootVMI without a guest agent: DOMAIN_REBOOT_ACPI_POWER_BTN)."""
        dom = self._domain()
        if dom is None or not dom.isActive():
            raise VirtError(f"domain {self.name} is not running")
        self._call("reboot", lambda: dom.reboot(libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN))

    def monitor(self, command: str) -> str:
        """One HMP command on the domain's QEMU monitor (slirp's hostfwd_add/remove, info usernet:
        libvirt has no API for a user-mode NIC's forwards). Its output; HMP reports errors as text."""
        import libvirt_qemu
        dom = self._domain()
        if dom is None or not dom.isActive():
            raise VirtError(f"domain {self.name} is not running")
        return self._call("monitor command", lambda: libvirt_qemu.qemuMonitorCommand(
            dom, command, libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP))

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except libvirt.libvirtError:
                pass
            self._conn = None
