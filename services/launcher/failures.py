"""The launcher's failures -> the LauncherReason its replies carry: the one table (virt.py maps libvirt's
error codes to the VirtError types; this maps those and the launcher's own errors to reasons). The handler
decides on the reason, never on the message's words (which stay libvirt's and ours, for people)."""
from __future__ import annotations

from services.common import proto
from services.launcher import storage, virt
from services.launcher.domxml import convert

R = proto.reason

# First match wins: subclasses before their bases (ImagePullError is a VolumeError, both are ValueErrors).
_REASONS: tuple[tuple[type[BaseException], R.LauncherReason], ...] = (
    (virt.DomainNotFound, R.DOMAIN_NOT_FOUND),
    (virt.OperationInvalid, R.DOMAIN_STATE_INVALID),
    (virt.NoSupport, R.HYPERVISOR_UNSUPPORTED),
    (virt.InvalidArg, R.HYPERVISOR_UNSUPPORTED),
    (virt.InvalidConfig, R.DEFINITION_REFUSED),
    (virt.DeviceNotFound, R.DEVICE_NOT_FOUND),
    (virt.OperationTimeout, R.OPERATION_TIMEOUT),
    (virt.OperationAborted, R.OPERATION_ABORTED),
    (virt.ConnectionFailed, R.LIBVIRT_UNAVAILABLE),
    (virt.VirtError, R.OPERATION_FAILED),
    (storage.ImagePullError, R.IMAGE_NOT_PULLED),
    (storage.VolumeError, R.VOLUME_NOT_READY),
    (convert.ConversionError, R.CONVERSION_FAILED),
    (ValueError, R.CONVERSION_FAILED),
)


def reason_of(e: BaseException) -> R.LauncherReason:
    return next((reason for cls, reason in _REASONS if isinstance(e, cls)), R.LAUNCHER_REASON_UNSPECIFIED)


def response(e: BaseException, message: str = "") -> proto.launcher.Response:
    """A failed Cmd reply for `e`: its reason, and `message` (else the exception's own words)."""
    return proto.launcher.Response(success=False, message=message or str(e), reason=reason_of(e))


def migration_response(e: BaseException, message: str = "") -> proto.lmigration.MigrationResponse:
    return proto.lmigration.MigrationResponse(success=False, message=message or str(e), reason=reason_of(e))
