from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from services._proto.virtmesh.v1 import reason_pb2 as _reason_pb2
from services._proto.virtmesh.v1 import volumes_pb2 as _volumes_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MigrationMetadata(_message.Message):
    __slots__ = ("uid", "startTimestamp", "endTimestamp", "completed", "failed", "failureReason", "abortStatus", "mode", "dataTotalBytes", "dataProcessedBytes", "dataRemainingBytes", "memDirtyRateBytes", "memoryBps", "downtimeMs", "timeElapsedMs")
    UID_FIELD_NUMBER: _ClassVar[int]
    STARTTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENDTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILUREREASON_FIELD_NUMBER: _ClassVar[int]
    ABORTSTATUS_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    DATATOTALBYTES_FIELD_NUMBER: _ClassVar[int]
    DATAPROCESSEDBYTES_FIELD_NUMBER: _ClassVar[int]
    DATAREMAININGBYTES_FIELD_NUMBER: _ClassVar[int]
    MEMDIRTYRATEBYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORYBPS_FIELD_NUMBER: _ClassVar[int]
    DOWNTIMEMS_FIELD_NUMBER: _ClassVar[int]
    TIMEELAPSEDMS_FIELD_NUMBER: _ClassVar[int]
    uid: str
    startTimestamp: str
    endTimestamp: str
    completed: bool
    failed: bool
    failureReason: str
    abortStatus: str
    mode: str
    dataTotalBytes: int
    dataProcessedBytes: int
    dataRemainingBytes: int
    memDirtyRateBytes: int
    memoryBps: int
    downtimeMs: int
    timeElapsedMs: int
    def __init__(self, uid: _Optional[str] = ..., startTimestamp: _Optional[str] = ..., endTimestamp: _Optional[str] = ..., completed: _Optional[bool] = ..., failed: _Optional[bool] = ..., failureReason: _Optional[str] = ..., abortStatus: _Optional[str] = ..., mode: _Optional[str] = ..., dataTotalBytes: _Optional[int] = ..., dataProcessedBytes: _Optional[int] = ..., dataRemainingBytes: _Optional[int] = ..., memDirtyRateBytes: _Optional[int] = ..., memoryBps: _Optional[int] = ..., downtimeMs: _Optional[int] = ..., timeElapsedMs: _Optional[int] = ...) -> None: ...

class MigrationOptions(_message.Message):
    __slots__ = ("bandwidth", "progressTimeout", "completionTimeoutPerGiB", "unsafeMigration", "allowAutoConverge", "allowPostCopy", "allowWorkloadDisruption")
    BANDWIDTH_FIELD_NUMBER: _ClassVar[int]
    PROGRESSTIMEOUT_FIELD_NUMBER: _ClassVar[int]
    COMPLETIONTIMEOUTPERGIB_FIELD_NUMBER: _ClassVar[int]
    UNSAFEMIGRATION_FIELD_NUMBER: _ClassVar[int]
    ALLOWAUTOCONVERGE_FIELD_NUMBER: _ClassVar[int]
    ALLOWPOSTCOPY_FIELD_NUMBER: _ClassVar[int]
    ALLOWWORKLOADDISRUPTION_FIELD_NUMBER: _ClassVar[int]
    bandwidth: str
    progressTimeout: int
    completionTimeoutPerGiB: int
    unsafeMigration: bool
    allowAutoConverge: bool
    allowPostCopy: bool
    allowWorkloadDisruption: bool
    def __init__(self, bandwidth: _Optional[str] = ..., progressTimeout: _Optional[int] = ..., completionTimeoutPerGiB: _Optional[int] = ..., unsafeMigration: _Optional[bool] = ..., allowAutoConverge: _Optional[bool] = ..., allowPostCopy: _Optional[bool] = ..., allowWorkloadDisruption: _Optional[bool] = ...) -> None: ...

class MigrateVirtualMachineRequest(_message.Message):
    __slots__ = ("vmi", "options")
    VMI_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    vmi: _types_pb2.VirtualMachineInstance
    options: MigrationOptions
    def __init__(self, vmi: _Optional[_Union[_types_pb2.VirtualMachineInstance, _Mapping]] = ..., options: _Optional[_Union[MigrationOptions, _Mapping]] = ...) -> None: ...

class SyncMigrationTargetRequest(_message.Message):
    __slots__ = ("vmi", "volumePaths", "featureGates", "imagePaths", "volumeFiles")
    class VolumePathsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ImagePathsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class VolumeFilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _volumes_pb2.VolumeFiles
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_volumes_pb2.VolumeFiles, _Mapping]] = ...) -> None: ...
    VMI_FIELD_NUMBER: _ClassVar[int]
    VOLUMEPATHS_FIELD_NUMBER: _ClassVar[int]
    FEATUREGATES_FIELD_NUMBER: _ClassVar[int]
    IMAGEPATHS_FIELD_NUMBER: _ClassVar[int]
    VOLUMEFILES_FIELD_NUMBER: _ClassVar[int]
    vmi: _types_pb2.VirtualMachineInstance
    volumePaths: _containers.ScalarMap[str, str]
    featureGates: _containers.RepeatedScalarFieldContainer[str]
    imagePaths: _containers.ScalarMap[str, str]
    volumeFiles: _containers.MessageMap[str, _volumes_pb2.VolumeFiles]
    def __init__(self, vmi: _Optional[_Union[_types_pb2.VirtualMachineInstance, _Mapping]] = ..., volumePaths: _Optional[_Mapping[str, str]] = ..., featureGates: _Optional[_Iterable[str]] = ..., imagePaths: _Optional[_Mapping[str, str]] = ..., volumeFiles: _Optional[_Mapping[str, _volumes_pb2.VolumeFiles]] = ...) -> None: ...

class CancelMigrationRequest(_message.Message):
    __slots__ = ("migrationUid",)
    MIGRATIONUID_FIELD_NUMBER: _ClassVar[int]
    migrationUid: str
    def __init__(self, migrationUid: _Optional[str] = ...) -> None: ...

class MigrationResponse(_message.Message):
    __slots__ = ("success", "message", "directory", "reason")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    DIRECTORY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    directory: str
    reason: _reason_pb2.LauncherReason
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., directory: _Optional[str] = ..., reason: _Optional[_Union[_reason_pb2.LauncherReason, str]] = ...) -> None: ...
