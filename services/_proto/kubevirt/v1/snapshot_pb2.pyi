from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TypedLocalObjectReference(_message.Message):
    __slots__ = ("apiGroup", "kind", "name")
    APIGROUP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    apiGroup: str
    kind: str
    name: str
    def __init__(self, apiGroup: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class SnapshotError(_message.Message):
    __slots__ = ("time", "message")
    TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    time: str
    message: str
    def __init__(self, time: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class VirtualMachineSnapshotSpec(_message.Message):
    __slots__ = ("source", "deletionPolicy", "failureDeadline")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DELETIONPOLICY_FIELD_NUMBER: _ClassVar[int]
    FAILUREDEADLINE_FIELD_NUMBER: _ClassVar[int]
    source: TypedLocalObjectReference
    deletionPolicy: str
    failureDeadline: str
    def __init__(self, source: _Optional[_Union[TypedLocalObjectReference, _Mapping]] = ..., deletionPolicy: _Optional[str] = ..., failureDeadline: _Optional[str] = ...) -> None: ...

class SourceIndication(_message.Message):
    __slots__ = ("indication", "message")
    INDICATION_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    indication: str
    message: str
    def __init__(self, indication: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class SnapshotVolumesLists(_message.Message):
    __slots__ = ("includedVolumes", "excludedVolumes")
    INCLUDEDVOLUMES_FIELD_NUMBER: _ClassVar[int]
    EXCLUDEDVOLUMES_FIELD_NUMBER: _ClassVar[int]
    includedVolumes: _containers.RepeatedScalarFieldContainer[str]
    excludedVolumes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, includedVolumes: _Optional[_Iterable[str]] = ..., excludedVolumes: _Optional[_Iterable[str]] = ...) -> None: ...

class VirtualMachineSnapshotStatus(_message.Message):
    __slots__ = ("sourceUID", "virtualMachineSnapshotContentName", "creationTime", "phase", "readyToUse", "error", "conditions", "indications", "sourceIndications", "snapshotVolumes")
    SOURCEUID_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINESNAPSHOTCONTENTNAME_FIELD_NUMBER: _ClassVar[int]
    CREATIONTIME_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    READYTOUSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    INDICATIONS_FIELD_NUMBER: _ClassVar[int]
    SOURCEINDICATIONS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTVOLUMES_FIELD_NUMBER: _ClassVar[int]
    sourceUID: str
    virtualMachineSnapshotContentName: str
    creationTime: str
    phase: str
    readyToUse: bool
    error: SnapshotError
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    indications: _containers.RepeatedScalarFieldContainer[str]
    sourceIndications: _containers.RepeatedCompositeFieldContainer[SourceIndication]
    snapshotVolumes: SnapshotVolumesLists
    def __init__(self, sourceUID: _Optional[str] = ..., virtualMachineSnapshotContentName: _Optional[str] = ..., creationTime: _Optional[str] = ..., phase: _Optional[str] = ..., readyToUse: _Optional[bool] = ..., error: _Optional[_Union[SnapshotError, _Mapping]] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., indications: _Optional[_Iterable[str]] = ..., sourceIndications: _Optional[_Iterable[_Union[SourceIndication, _Mapping]]] = ..., snapshotVolumes: _Optional[_Union[SnapshotVolumesLists, _Mapping]] = ...) -> None: ...

class VirtualMachineSnapshot(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachineSnapshotSpec
    status: VirtualMachineSnapshotStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineSnapshotSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineSnapshotStatus, _Mapping]] = ...) -> None: ...

class SnapshotVirtualMachine(_message.Message):
    __slots__ = ("metadata", "spec", "status")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    metadata: _types_pb2.ObjectMeta
    spec: _types_pb2.VirtualMachineSpec
    status: _types_pb2.VirtualMachineStatus
    def __init__(self, metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[_types_pb2.VirtualMachineSpec, _Mapping]] = ..., status: _Optional[_Union[_types_pb2.VirtualMachineStatus, _Mapping]] = ...) -> None: ...

class SnapshotSourceSpec(_message.Message):
    __slots__ = ("virtualMachine",)
    VIRTUALMACHINE_FIELD_NUMBER: _ClassVar[int]
    virtualMachine: SnapshotVirtualMachine
    def __init__(self, virtualMachine: _Optional[_Union[SnapshotVirtualMachine, _Mapping]] = ...) -> None: ...

class SnapshotPersistentVolumeClaim(_message.Message):
    __slots__ = ("metadata", "spec")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    metadata: _types_pb2.ObjectMeta
    spec: _types_pb2.PersistentVolumeClaimSpec
    def __init__(self, metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[_types_pb2.PersistentVolumeClaimSpec, _Mapping]] = ...) -> None: ...

class VolumeBackup(_message.Message):
    __slots__ = ("volumeName", "persistentVolumeClaim", "volumeSnapshotName")
    VOLUMENAME_FIELD_NUMBER: _ClassVar[int]
    PERSISTENTVOLUMECLAIM_FIELD_NUMBER: _ClassVar[int]
    VOLUMESNAPSHOTNAME_FIELD_NUMBER: _ClassVar[int]
    volumeName: str
    persistentVolumeClaim: SnapshotPersistentVolumeClaim
    volumeSnapshotName: str
    def __init__(self, volumeName: _Optional[str] = ..., persistentVolumeClaim: _Optional[_Union[SnapshotPersistentVolumeClaim, _Mapping]] = ..., volumeSnapshotName: _Optional[str] = ...) -> None: ...

class VirtualMachineSnapshotContentSpec(_message.Message):
    __slots__ = ("virtualMachineSnapshotName", "source", "volumeBackups")
    VIRTUALMACHINESNAPSHOTNAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    VOLUMEBACKUPS_FIELD_NUMBER: _ClassVar[int]
    virtualMachineSnapshotName: str
    source: SnapshotSourceSpec
    volumeBackups: _containers.RepeatedCompositeFieldContainer[VolumeBackup]
    def __init__(self, virtualMachineSnapshotName: _Optional[str] = ..., source: _Optional[_Union[SnapshotSourceSpec, _Mapping]] = ..., volumeBackups: _Optional[_Iterable[_Union[VolumeBackup, _Mapping]]] = ...) -> None: ...

class VolumeSnapshotStatus(_message.Message):
    __slots__ = ("volumeSnapshotName", "creationTime", "readyToUse", "error")
    VOLUMESNAPSHOTNAME_FIELD_NUMBER: _ClassVar[int]
    CREATIONTIME_FIELD_NUMBER: _ClassVar[int]
    READYTOUSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    volumeSnapshotName: str
    creationTime: str
    readyToUse: bool
    error: SnapshotError
    def __init__(self, volumeSnapshotName: _Optional[str] = ..., creationTime: _Optional[str] = ..., readyToUse: _Optional[bool] = ..., error: _Optional[_Union[SnapshotError, _Mapping]] = ...) -> None: ...

class VirtualMachineSnapshotContentStatus(_message.Message):
    __slots__ = ("creationTime", "readyToUse", "error", "volumeSnapshotStatus")
    CREATIONTIME_FIELD_NUMBER: _ClassVar[int]
    READYTOUSE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    VOLUMESNAPSHOTSTATUS_FIELD_NUMBER: _ClassVar[int]
    creationTime: str
    readyToUse: bool
    error: SnapshotError
    volumeSnapshotStatus: _containers.RepeatedCompositeFieldContainer[VolumeSnapshotStatus]
    def __init__(self, creationTime: _Optional[str] = ..., readyToUse: _Optional[bool] = ..., error: _Optional[_Union[SnapshotError, _Mapping]] = ..., volumeSnapshotStatus: _Optional[_Iterable[_Union[VolumeSnapshotStatus, _Mapping]]] = ...) -> None: ...

class VirtualMachineSnapshotContent(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachineSnapshotContentSpec
    status: VirtualMachineSnapshotContentStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineSnapshotContentSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineSnapshotContentStatus, _Mapping]] = ...) -> None: ...

class VolumeRestoreOverride(_message.Message):
    __slots__ = ("volumeName", "restoreName", "labels", "annotations")
    class LabelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VOLUMENAME_FIELD_NUMBER: _ClassVar[int]
    RESTORENAME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    volumeName: str
    restoreName: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    def __init__(self, volumeName: _Optional[str] = ..., restoreName: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VirtualMachineRestoreSpec(_message.Message):
    __slots__ = ("target", "virtualMachineSnapshotName", "targetReadinessPolicy", "volumeRestorePolicy", "volumeOwnershipPolicy", "volumeRestoreOverrides", "patches")
    TARGET_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINESNAPSHOTNAME_FIELD_NUMBER: _ClassVar[int]
    TARGETREADINESSPOLICY_FIELD_NUMBER: _ClassVar[int]
    VOLUMERESTOREPOLICY_FIELD_NUMBER: _ClassVar[int]
    VOLUMEOWNERSHIPPOLICY_FIELD_NUMBER: _ClassVar[int]
    VOLUMERESTOREOVERRIDES_FIELD_NUMBER: _ClassVar[int]
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    target: TypedLocalObjectReference
    virtualMachineSnapshotName: str
    targetReadinessPolicy: str
    volumeRestorePolicy: str
    volumeOwnershipPolicy: str
    volumeRestoreOverrides: _containers.RepeatedCompositeFieldContainer[VolumeRestoreOverride]
    patches: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, target: _Optional[_Union[TypedLocalObjectReference, _Mapping]] = ..., virtualMachineSnapshotName: _Optional[str] = ..., targetReadinessPolicy: _Optional[str] = ..., volumeRestorePolicy: _Optional[str] = ..., volumeOwnershipPolicy: _Optional[str] = ..., volumeRestoreOverrides: _Optional[_Iterable[_Union[VolumeRestoreOverride, _Mapping]]] = ..., patches: _Optional[_Iterable[str]] = ...) -> None: ...

class VolumeRestore(_message.Message):
    __slots__ = ("volumeName", "persistentVolumeClaim", "volumeSnapshotName", "dataVolumeName")
    VOLUMENAME_FIELD_NUMBER: _ClassVar[int]
    PERSISTENTVOLUMECLAIM_FIELD_NUMBER: _ClassVar[int]
    VOLUMESNAPSHOTNAME_FIELD_NUMBER: _ClassVar[int]
    DATAVOLUMENAME_FIELD_NUMBER: _ClassVar[int]
    volumeName: str
    persistentVolumeClaim: str
    volumeSnapshotName: str
    dataVolumeName: str
    def __init__(self, volumeName: _Optional[str] = ..., persistentVolumeClaim: _Optional[str] = ..., volumeSnapshotName: _Optional[str] = ..., dataVolumeName: _Optional[str] = ...) -> None: ...

class VirtualMachineRestoreStatus(_message.Message):
    __slots__ = ("restores", "restoreTime", "deletedDataVolumes", "complete", "conditions")
    RESTORES_FIELD_NUMBER: _ClassVar[int]
    RESTORETIME_FIELD_NUMBER: _ClassVar[int]
    DELETEDDATAVOLUMES_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    restores: _containers.RepeatedCompositeFieldContainer[VolumeRestore]
    restoreTime: str
    deletedDataVolumes: _containers.RepeatedScalarFieldContainer[str]
    complete: bool
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    def __init__(self, restores: _Optional[_Iterable[_Union[VolumeRestore, _Mapping]]] = ..., restoreTime: _Optional[str] = ..., deletedDataVolumes: _Optional[_Iterable[str]] = ..., complete: _Optional[bool] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ...) -> None: ...

class VirtualMachineRestore(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachineRestoreSpec
    status: VirtualMachineRestoreStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineRestoreSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineRestoreStatus, _Mapping]] = ...) -> None: ...
