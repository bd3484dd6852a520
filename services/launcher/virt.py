"""The only module that imports libvirt: connection, flags, states, events (Nova's host.py/guest.py).

libvirt calls block, so callers run them in a thread (asyncio.to_thread); libvirt's event loop
runs on its own thread and hands lifecycle events to asyncio with call_soon_threadsafe.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Optional

try:
    import libvirt
except ImportError:  # unit tests of other modules never need the binding
    libvirt = None
else:
    # libvirt prints every error to stderr by default; we raise VirtError with the message instead.
    libvirt.registerErrorHandler(lambda _ctx, _err: None, None)

from services.common.domain import METADATA_NS  # noqa: E402
from services.common.domainmeta import KubevirtMetadata  # noqa: E402
from services.common.kvm import kvm_usable  # noqa: E402,F401  (re-exported for callers/tests)
from services.launcher.domxml import model as m  # noqa: E402

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
    """A libvirt call failed, or the wrapper refused one. `code` keeps libvirt's virErrorNumber (0 when
    the wrapper raised it itself) and `detail` libvirt's own message; the subclass says what it means."""

    def __init__(self, message: str, code: int = 0, detail: str = ""):
        super().__init__(message)
        self.code = code
        self.detail = detail or message


class DomainNotFound(VirtError):
    """No domain of ours (VIR_ERR_NO_DOMAIN; also another VMI's domain of the name, or ours migrated away)."""


class DeviceNotFound(VirtError):
    """No such device in the domain (VIR_ERR_DEVICE_MISSING), e.g. detaching one already gone."""


class OperationInvalid(VirtError):
    """The domain's state forbids the call: not running, already running (VIR_ERR_OPERATION_INVALID)."""


class NoSupport(VirtError):
    """The hypervisor driver lacks the API (VIR_ERR_NO_SUPPORT), e.g. device hotplug on the test driver."""


class InvalidArg(VirtError):
    """An argument or flag the driver refuses (VIR_ERR_INVALID_ARG), e.g. START_PAUSED on the test driver."""


class InvalidConfig(VirtError):
    """A domain or device definition libvirt refuses (VIR_ERR_XML_ERROR, XML_DETAIL, CONFIG_UNSUPPORTED)."""


class NoMetadata(VirtError):
    """The domain has no metadata element in the namespace asked for (VIR_ERR_NO_DOMAIN_METADATA)."""


class OperationFailed(VirtError):
    """libvirt or QEMU tried and failed (VIR_ERR_OPERATION_FAILED), e.g. an unplug the guest refused."""


class OperationAborted(VirtError):
    """A job was cancelled (VIR_ERR_OPERATION_ABORTED), e.g. a migration aborted by abortJob."""


class OperationTimeout(VirtError):
    """libvirt gave up waiting (VIR_ERR_OPERATION_TIMEOUT, AGENT_UNRESPONSIVE)."""


class ConnectionFailed(VirtError):
    """libvirt is not reachable (no connection, or the daemon went away)."""


# libvirt's error code -> the type callers catch: the one place that reads virErrorNumber (Nova's
# host.py does the same for VIR_ERR_NO_DOMAIN -> InstanceNotFound). Names, so the table needs no binding.
_ERROR_TYPES = {
    "VIR_ERR_NO_DOMAIN": DomainNotFound,
    "VIR_ERR_DEVICE_MISSING": DeviceNotFound,
    "VIR_ERR_OPERATION_INVALID": OperationInvalid,
    "VIR_ERR_NO_SUPPORT": NoSupport,
    "VIR_ERR_INVALID_ARG": InvalidArg,
    "VIR_ERR_XML_ERROR": InvalidConfig,
    "VIR_ERR_XML_DETAIL": InvalidConfig,
    "VIR_ERR_CONFIG_UNSUPPORTED": InvalidConfig,
    "VIR_ERR_NO_DOMAIN_METADATA": NoMetadata,
    "VIR_ERR_OPERATION_FAILED": OperationFailed,
    "VIR_ERR_OPERATION_ABORTED": OperationAborted,
    "VIR_ERR_OPERATION_TIMEOUT": OperationTimeout,
    "VIR_ERR_AGENT_UNRESPONSIVE": OperationTimeout,
    "VIR_ERR_NO_CONNECT": ConnectionFailed,
    "VIR_ERR_INVALID_CONN": ConnectionFailed,
    "VIR_ERR_RPC": ConnectionFailed,
}
_BY_CODE: dict[int, type[VirtError]] = {}


def error(e: libvirt.libvirtError, what: str = "") -> VirtError:
    """A libvirtError as the VirtError subclass of its code; `what` prefixes the message."""
    if not _BY_CODE and libvirt is not None:
        _BY_CODE.update({getattr(libvirt, name): cls for name, cls in _ERROR_TYPES.items() if hasattr(libvirt, name)})
    code = e.get_error_code() or 0
    detail = e.get_error_message() or str(e)
    return _BY_CODE.get(code, VirtError)(f"{what}: {detail}" if what else detail, code, detail)


def call(what: str, fn: Callable, *args):
    """fn(*args), its libvirtError raised as the VirtError subclass of its code (blocking: run in a thread)."""
    try:
        return fn(*args)
    except libvirt.libvirtError as e:
        raise error(e, what) from None


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


def persistent_tpm(domain_xml: str) -> bool:
    """A <tpm> whose emulator backend keeps its state (persistent_state)."""
    if not domain_xml:
        return False
    return any(t.persistent_state for t in m.Domain.from_xml(domain_xml).devices.tpms)


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


_opened_ahead: dict[str, Any] = {}   # uri -> a connection a spare launcher opened before its VM was known


def open_ahead(uri: str) -> None:
    """Connect to `uri` before this launcher knows its VM (the zygote's spare, while idle): its first libvirt
    call then does not wait for the event loop and the connection, a few ms of a start's or a migration
    target's path. A failure is left to the launcher's own connect, which says why."""
    _start_event_loop()
    try:
        _opened_ahead[uri] = libvirt.open(uri)
    except libvirt.libvirtError:
        pass


def _take_opened_ahead(uri: str):
    conn = _opened_ahead.pop(uri, None)
    try:
        return conn if conn is not None and conn.isAlive() else None
    except libvirt.libvirtError:
        return None   # libvirtd restarted meanwhile


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



class Hypervisor:
    """One libvirt connection and one domain (a launcher runs exactly one VM).

    Launchers share the host's libvirtd, so a domain name (`<namespace>_<name>`) can outlive its
    VMI or belong to another mesh: with `owner_uid`, a domain whose <metadata><kubevirt><uid> is
    another VMI's is treated as not there, and never stopped or undefined by us.

    Every failure leaves as a VirtError subclass (libvirt's error code kept, see `error`).
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
        # Aliases whose unplug QEMU has been asked for and not yet reported done (DEVICE_REMOVED): QEMU
        # refuses a second device_del meanwhile, so a repeated detach waits for the guest instead.
        self._unplugging: set[str] = set()
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
            conn = _take_opened_ahead(self.uri) or libvirt.open(self.uri)
        except libvirt.libvirtError as e:
            cause = error(e)
            raise ConnectionFailed(f"cannot connect to libvirt at {self.uri}: {cause.detail}", cause.code,
                                   cause.detail) from None
        if self.on_event is not None:
            cb = self.on_event
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE, self._lifecycle_event, None)
            # Device hot(un)plug finishes asynchronously, in the guest: wake on its events too; a
            # removal also releases whoever waits for it (detach_device).
            def removed(c, dom, alias, opaque):
                self._device_removed(c, dom, alias, opaque)
                if dom.name() == self.name:
                    cb()
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_REMOVED, removed, None)
            conn.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_DEVICE_ADDED,
                                        lambda c, dom, alias, opaque: dom.name() == self.name and cb(), None)
            # A closed connection (libvirtd restarted) wakes us too: the next read reconnects.
            try:
                conn.registerCloseCallback(lambda c, reason, opaque: cb(), None)
            except libvirt.libvirtError:
                pass  # a driver without close callbacks (the test driver) never closes under us
        self._conn = conn
        return conn

    def _lifecycle_event(self, conn, dom, event: int, detail: int, opaque) -> None:
        # A new definition is news to nobody: its definer starts it (STARTED follows), or a migration persists
        # the domain it brings just before it resumes it (RESUMED follows, ~3 ms later: a read at each would
        # take CPU from the switchover).
        if self.on_event is not None and dom.name() == self.name and (event, detail) != (
                libvirt.VIR_DOMAIN_EVENT_DEFINED, libvirt.VIR_DOMAIN_EVENT_DEFINED_ADDED):
            self.on_event()

    def _lookup(self):
        conn = self.connect()
        try:
            return call(f"lookup of domain {self.name}", conn.lookupByName, self.name)
        except DomainNotFound:
            return None

    def _owner(self, dom) -> Optional[str]:
        try:
            md = call("metadata", dom.metadata, libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS)
        except NoSupport:
            return None  # driver without metadata: trust the name
        except VirtError:
            return ""  # no kubevirt metadata (or the domain went): not a domain of ours
        try:
            return KubevirtMetadata.from_xml(md).uid
        except ValueError:
            return ""

    def _domain(self):
        """Our domain, or None (absent, or another VMI's domain of the same name, or ours migrated away)."""
        if self.released:
            return None
        dom = self._lookup()
        if dom is None or not self.owner_uid:
            return dom
        owner = self._owner(dom)
        return dom if owner is None or owner == self.owner_uid else None

    def _running(self):
        """Our domain, running; else DomainNotFound (none of ours here) or OperationInvalid (stopped)."""
        dom = self._domain()
        if dom is None:
            raise DomainNotFound(f"domain {self.name} is not running (no domain of this VMI here)")
        if not self._call("isActive", dom.isActive):
            raise OperationInvalid(f"domain {self.name} is not running")
        return dom

    def state(self, with_xml: bool = False) -> DomainState:
        """The domain's state and, `with_xml`, its live XML -- not while it is paused for a migration (the
        target's incoming domain until it resumes, the source's at the switchover): libvirt is moving it
        then, and its devices are read once it runs."""
        dom = self._domain()
        if dom is None:
            return DomainState(exists=False)
        try:
            st, reason = self._call("state", dom.state)
            name, why = state_names(st, reason)
            moving = name == "Paused" and why == "Migration"
            xml = self._call("XMLDesc", dom.XMLDesc, 0) if with_xml and not moving else ""
        except DomainNotFound:
            return DomainState(exists=False)
        return DomainState(True, name, why, xml)

    def _call(self, what: str, fn, *args):
        return call(f"{what} of domain {self.name}", fn, *args)

    def define_and_start(self, xml: str, paused: bool = False) -> bool:
        """Define (or redefine) and start unless already active. Returns True when started now."""
        conn = self.connect()
        existing = self._lookup()
        if existing is not None:
            owner = self._owner(existing) if self.owner_uid else None
            active = self._call("isActive", existing.isActive)
            if owner not in (None, self.owner_uid) and active:
                raise OperationInvalid(f"domain {self.name} is running for another VMI (uid {owner or 'unknown'})")
            if owner in (None, self.owner_uid) and active:
                return False  # idempotent: a re-sync after a handler restart changes nothing
        dom = self._call("define", conn.defineXML, xml)
        try:
            try:
                self._call("start", dom.createWithFlags, libvirt.VIR_DOMAIN_START_PAUSED if paused else 0)
            except InvalidArg:
                if not paused:
                    raise
                self._call("start", dom.create)  # drivers without START_PAUSED (the test driver): start, then pause
                self._call("suspend", dom.suspend)
        except VirtError as e:
            log.error("starting domain %s failed: %s\n%s", self.name, e.detail, xml)
            raise
        return True

    def live_xml(self) -> str:
        dom = self._running()
        return self._call("XMLDesc", dom.XMLDesc, 0)

    def live_domain(self) -> m.Domain:
        """The running domain as the model reads it back (devices by alias, machine, metadata)."""
        return m.Domain.from_xml(self.live_xml())

    def device(self, action: str, xml: str, alias: str = "") -> None:
        """attach | detach | update one device, live and in the persistent config (LIVE|CONFIG,
        as KubeVirt). A detach returns once the guest let go or after libvirt's own wait (~5 s);
        callers confirm it from the live XML (the DEVICE_REMOVED event wakes them). With `alias`, a
        detach whose unplug is still pending from an earlier request is not asked for again."""
        dom = self._running()
        flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
        fn = {"attach": dom.attachDeviceFlags, "detach": dom.detachDeviceFlags,
              "update": dom.updateDeviceFlags}[action]
        if action == "detach" and alias:
            if alias in self._unplugging:
                return
            self._unplugging.add(alias)   # before the call: DEVICE_REMOVED may come while it runs
        elif alias:
            self._unplugging.discard(alias)
        try:
            self._call(f"{action} device", fn, xml, flags)
        except VirtError:
            self._unplugging.discard(alias)
            raise

    def unplug_pending(self, alias: str) -> bool:
        return alias in self._unplugging

    def shutdown(self) -> None:
        dom = self._domain()
        if dom is not None and self._call("isActive", dom.isActive):
            self._call("shutdown", dom.shutdown)

    def destroy(self) -> None:
        dom = self._domain()
        try:
            if dom is not None and self._call("isActive", dom.isActive):
                self._call("destroy", dom.destroy)
        except (DomainNotFound, OperationInvalid):
            pass  # gone or stopped meanwhile: what destroy wanted

    def pause(self) -> None:
        self._call("suspend", self._running().suspend)

    def unpause(self) -> None:
        self._call("resume", self._running().resume)

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
            xml = self._call("XMLDesc", dom.XMLDesc, libvirt.VIR_DOMAIN_XML_INACTIVE)
        except VirtError:
            xml = ""  # gone meanwhile: undefineFlags below says so
        if persistent_tpm(xml):
            flags |= getattr(libvirt, "VIR_DOMAIN_UNDEFINE_KEEP_TPM", 0)
        try:
            self._call("undefine", dom.undefineFlags, flags)
            return
        except DomainNotFound:
            return
        except (InvalidArg, NoSupport):
            pass
        self._call("undefine", dom.undefine)  # drivers without NVRAM support (the test driver)

    # -------------------------------------------------------------- device hotplug

    def _device_removed(self, conn, dom, alias, opaque) -> None:
        if dom.name() == self.name:
            self._unplugging.discard(alias)
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
                live = m.Domain.from_xml(self._call("read XML", dom.XMLDesc, 0))
                if live.disk_by_alias(alias) is None and live.interface_by_alias(alias) is None:
                    return
                if time.monotonic() > deadline:
                    raise OperationTimeout(f"detach of {alias} from domain {self.name}: the guest did not "
                                           f"release the device within {timeout:.0f}s")
        finally:
            self._removed.pop(alias, None)

    # -------------------------------------------------------------- soft reboot, slirp forwards

    def reboot_acpi(self) -> None:
        """ACPI reboot: libvirt presses the power button and resets QEMU when the guest powers off
        (KubeVirt's SoftRebootVMI without a guest agent: DOMAIN_REBOOT_ACPI_POWER_BTN)."""
        dom = self._running()
        self._call("reboot", dom.reboot, libvirt.VIR_DOMAIN_REBOOT_ACPI_POWER_BTN)

    def monitor(self, command: str) -> str:
        """One HMP command on the domain's QEMU monitor (slirp's hostfwd_add/remove, info usernet:
        libvirt has no API for a user-mode NIC's forwards). Its output; HMP reports errors as text."""
        import libvirt_qemu
        dom = self._running()
        return self._call("monitor command", libvirt_qemu.qemuMonitorCommand, dom, command,
                          libvirt_qemu.VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except libvirt.libvirtError:
                pass
            self._conn = None
