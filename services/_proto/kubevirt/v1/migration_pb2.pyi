from services._proto.kubevirt.v1 import migrationstate_pb2 as _migrationstate_pb2
from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VirtualMachineInstanceMigrationSpec(_message.Message):
    __slots__ = ("vmiName", "addedNodeSelector")
    class AddedNodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    VMINAME_FIELD_NUMBER: _ClassVar[int]
    ADDEDNODESELECTOR_FIELD_NUMBER: _ClassVar[int]
    vmiName: str
    addedNodeSelector: _containers.ScalarMap[str, str]
    def __init__(self, vmiName: _Optional[str] = ..., addedNodeSelector: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VirtualMachineInstanceMigrationPhaseTransitionTimestamp(_message.Message):
    __slots__ = ("phase", "phaseTransitionTimestamp")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PHASETRANSITIONTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    phase: str
    phaseTransitionTimestamp: str
    def __init__(self, phase: _Optional[str] = ..., phaseTransitionTimestamp: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceMigrationStatus(_message.Message):
    __slots__ = ("phase", "conditions", "phaseTransitionTimestamps", "migrationState")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    PHASETRANSITIONTIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONSTATE_FIELD_NUMBER: _ClassVar[int]
    phase: str
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    phaseTransitionTimestamps: _containers.RepeatedCompositeFieldContainer[VirtualMachineInstanceMigrationPhaseTransitionTimestamp]
    migrationState: _migrationstate_pb2.VirtualMachineInstanceMigrationState
    def __init__(self, phase: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., phaseTransitionTimestamps: _Optional[_Iterable[_Union[VirtualMachineInstanceMigrationPhaseTransitionTimestamp, _Mapping]]] = ..., migrationState: _Optional[_Union[_migrationstate_pb2.VirtualMachineInstanceMigrationState, _Mapping]] = ...) -> None: ...

class VirtualMachineInstanceMigration(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachineInstanceMigrationSpec
    status: VirtualMachineInstanceMigrationStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstanceMigrationSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineInstanceMigrationStatus, _Mapping]] = ...) -> None: ...

class MigrateOptions(_message.Message):
    __slots__ = ("dryRun", "addedNodeSelector")
    class AddedNodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DRYRUN_FIELD_NUMBER: _ClassVar[int]
    ADDEDNODESELECTOR_FIELD_NUMBER: _ClassVar[int]
    dryRun: _containers.RepeatedScalarFieldContainer[str]
    addedNodeSelector: _containers.ScalarMap[str, str]
    def __init__(self, dryRun: _Optional[_Iterable[str]] = ..., addedNodeSelector: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MigrationPolicySelectors(_message.Message):
    __slots__ = ("namespaceSelector", "virtualMachineInstanceSelector")
    class NamespaceSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class VirtualMachineInstanceSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAMESPACESELECTOR_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEINSTANCESELECTOR_FIELD_NUMBER: _ClassVar[int]
    namespaceSelector: _containers.ScalarMap[str, str]
    virtualMachineInstanceSelector: _containers.ScalarMap[str, str]
    def __init__(self, namespaceSelector: _Optional[_Mapping[str, str]] = ..., virtualMachineInstanceSelector: _Optional[_Mapping[str, str]] = ...) -> None: ...

class MigrationPolicySpec(_message.Message):
    __slots__ = ("selectors", "allowAutoConverge", "bandwidthPerMigration", "completionTimeoutPerGiB", "allowPostCopy", "allowWorkloadDisruption")
    SELECTORS_FIELD_NUMBER: _ClassVar[int]
    ALLOWAUTOCONVERGE_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTHPERMIGRATION_FIELD_NUMBER: _ClassVar[int]
    COMPLETIONTIMEOUTPERGIB_FIELD_NUMBER: _ClassVar[int]
    ALLOWPOSTCOPY_FIELD_NUMBER: _ClassVar[int]
    ALLOWWORKLOADDISRUPTION_FIELD_NUMBER: _ClassVar[int]
    selectors: MigrationPolicySelectors
    allowAutoConverge: bool
    bandwidthPerMigration: str
    completionTimeoutPerGiB: int
    allowPostCopy: bool
    allowWorkloadDisruption: bool
    def __init__(self, selectors: _Optional[_Union[MigrationPolicySelectors, _Mapping]] = ..., allowAutoConverge: _Optional[bool] = ..., bandwidthPerMigration: _Optional[str] = ..., completionTimeoutPerGiB: _Optional[int] = ..., allowPostCopy: _Optional[bool] = ..., allowWorkloadDisruption: _Optional[bool] = ...) -> None: ...

class MigrationPolicyStatus(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MigrationPolicy(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: MigrationPolicySpec
    status: MigrationPolicyStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[MigrationPolicySpec, _Mapping]] = ..., status: _Optional[_Union[MigrationPolicyStatus, _Mapping]] = ...) -> None: ...
