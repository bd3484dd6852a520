from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class LauncherReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LAUNCHER_REASON_UNSPECIFIED: _ClassVar[LauncherReason]
    DOMAIN_NOT_FOUND: _ClassVar[LauncherReason]
    DOMAIN_STATE_INVALID: _ClassVar[LauncherReason]
    HYPERVISOR_UNSUPPORTED: _ClassVar[LauncherReason]
    DEFINITION_REFUSED: _ClassVar[LauncherReason]
    DEVICE_NOT_FOUND: _ClassVar[LauncherReason]
    OPERATION_FAILED: _ClassVar[LauncherReason]
    OPERATION_TIMEOUT: _ClassVar[LauncherReason]
    OPERATION_ABORTED: _ClassVar[LauncherReason]
    LIBVIRT_UNAVAILABLE: _ClassVar[LauncherReason]
    IMAGE_NOT_PULLED: _ClassVar[LauncherReason]
    VOLUME_NOT_READY: _ClassVar[LauncherReason]
    CONVERSION_FAILED: _ClassVar[LauncherReason]
    NOT_MIGRATING: _ClassVar[LauncherReason]
    MIGRATION_ALREADY_RAN: _ClassVar[LauncherReason]
LAUNCHER_REASON_UNSPECIFIED: LauncherReason
DOMAIN_NOT_FOUND: LauncherReason
DOMAIN_STATE_INVALID: LauncherReason
HYPERVISOR_UNSUPPORTED: LauncherReason
DEFINITION_REFUSED: LauncherReason
DEVICE_NOT_FOUND: LauncherReason
OPERATION_FAILED: LauncherReason
OPERATION_TIMEOUT: LauncherReason
OPERATION_ABORTED: LauncherReason
LIBVIRT_UNAVAILABLE: LauncherReason
IMAGE_NOT_PULLED: LauncherReason
VOLUME_NOT_READY: LauncherReason
CONVERSION_FAILED: LauncherReason
NOT_MIGRATING: LauncherReason
MIGRATION_ALREADY_RAN: LauncherReason
