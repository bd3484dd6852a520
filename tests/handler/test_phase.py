"""Domain state -> VMI phase, KubeVirt's calculateVmPhaseForStatusReason."""
import pytest

from services.common import proto
from services.handler import phase


def dom(state, reason, exists=True):
    return proto.launcher.Domain(exists=exists, state=state, reason=reason)


@pytest.mark.parametrize("domain, current, expected", [
    (dom("Running", "Booted"), "Scheduled", "Running"),
    (dom("Paused", "User"), "Running", "Running"),
    (dom("Blocked", "Unknown"), "Running", "Running"),
    (dom("PMSuspended", "Unknown"), "Running", "Running"),
    (dom("Shutoff", "Shutdown"), "Running", "Succeeded"),
    (dom("Shutoff", "Saved"), "Running", "Succeeded"),
    (dom("Shutoff", "Crashed"), "Running", "Failed"),
    (dom("Crashed", "Panicked"), "Running", "Failed"),
    (dom("Shutoff", "Destroyed"), "Running", "Failed"),
    (dom("Shutoff", "Migrated"), "Running", "Running"),
    (dom("Shutoff", "Unknown"), "Scheduled", "Scheduled"),  # defined, not started yet
    (dom("", "", exists=False), "Scheduled", "Scheduled"),
    (dom("", "", exists=False), "Running", "Failed"),     # vanished while running
    (None, "Scheduled", "Scheduled"),
])
def test_vmi_phase(domain, current, expected):
    assert phase.vmi_phase(domain, current) == expected


def test_destroyed_without_acpi_succeeds():
    assert phase.vmi_phase(dom("Shutoff", "Destroyed"), "Running", acpi_enabled=False) == "Succeeded"


def test_paused_by_user():
    assert phase.paused_by_user(dom("Paused", "User"))
    assert not phase.paused_by_user(dom("Paused", "StartingUp"))
    assert not phase.paused_by_user(dom("Running", "Booted"))
