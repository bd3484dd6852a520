"""Domain state -> VMI phase (KubeVirt's calculateVmPhaseForStatusReason), kept pure for tests."""
from __future__ import annotations

from services.common import vmstate

_RUNNING_STATES = ("Running", "Paused", "Blocked", "PMSuspended")
_SUCCEEDED_REASONS = ("Shutdown", "Saved", "FromSnapshot")


def vmi_phase(domain, current_phase: str, acpi_enabled: bool = True) -> str:
    """The phase the VMI should have given what libvirt reports about its domain."""
    if domain is None or not domain.exists:
        # No domain yet: still starting; a domain that vanished after running is a failure.
        return vmstate.FAILED if current_phase == vmstate.RUNNING else current_phase
    if domain.state in _RUNNING_STATES:
        return vmstate.RUNNING
    if domain.state in ("Shutoff", "Crashed"):
        if domain.reason in ("Crashed", "Panicked", "Failed"):
            return vmstate.FAILED
        if domain.reason == "Destroyed":
            return vmstate.FAILED if acpi_enabled else vmstate.SUCCEEDED
        if domain.reason in _SUCCEEDED_REASONS:
            return vmstate.SUCCEEDED
        if domain.reason == "Migrated":
            return current_phase
        # Shutoff with no reason before the first start is "defined, not started yet".
        return vmstate.FAILED if current_phase == vmstate.RUNNING else current_phase
    if domain.state == "Shutdown":  # shutting down: still running until it is off
        return vmstate.RUNNING
    return current_phase


def paused_by_user(domain) -> bool:
    """Paused, but not by QEMU starting up or by a live migration's last phase."""
    return domain is not None and domain.exists and domain.state == "Paused" and \
        domain.reason not in ("StartingUp", "Migration", "PostcopyPaused")
