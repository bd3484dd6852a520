from services._proto.kubevirt.v1 import events_pb2 as _events_pb2
from services._proto.kubevirt.v1 import instancetype_pb2 as _instancetype_pb2
from services._proto.kubevirt.v1 import config_pb2 as _config_pb2
from services._proto.kubevirt.v1 import kubevirt_pb2 as _kubevirt_pb2
from services._proto.kubevirt.v1 import migration_pb2 as _migration_pb2
from services._proto.kubevirt.v1 import snapshot_pb2 as _snapshot_pb2
from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    KIND_UNSPECIFIED: _ClassVar[Kind]
    VIRTUAL_MACHINE: _ClassVar[Kind]
    VIRTUAL_MACHINE_INSTANCE: _ClassVar[Kind]
    NODE: _ClassVar[Kind]
    PERSISTENT_VOLUME_CLAIM: _ClassVar[Kind]
    DATA_VOLUME: _ClassVar[Kind]
    VIRTUAL_MACHINE_INSTANCETYPE: _ClassVar[Kind]
    VIRTUAL_MACHINE_CLUSTER_INSTANCETYPE: _ClassVar[Kind]
    VIRTUAL_MACHINE_PREFERENCE: _ClassVar[Kind]
    VIRTUAL_MACHINE_CLUSTER_PREFERENCE: _ClassVar[Kind]
    CONTROLLER_REVISION: _ClassVar[Kind]
    KUBEVIRT: _ClassVar[Kind]
    VIRTUAL_MACHINE_INSTANCE_MIGRATION: _ClassVar[Kind]
    MIGRATION_POLICY: _ClassVar[Kind]
    VIRTUAL_MACHINE_SNAPSHOT: _ClassVar[Kind]
    VIRTUAL_MACHINE_SNAPSHOT_CONTENT: _ClassVar[Kind]
    VIRTUAL_MACHINE_RESTORE: _ClassVar[Kind]
    EVENT: _ClassVar[Kind]
    SECRET: _ClassVar[Kind]
    CONFIG_MAP: _ClassVar[Kind]
KIND_UNSPECIFIED: Kind
VIRTUAL_MACHINE: Kind
VIRTUAL_MACHINE_INSTANCE: Kind
NODE: Kind
PERSISTENT_VOLUME_CLAIM: Kind
DATA_VOLUME: Kind
VIRTUAL_MACHINE_INSTANCETYPE: Kind
VIRTUAL_MACHINE_CLUSTER_INSTANCETYPE: Kind
VIRTUAL_MACHINE_PREFERENCE: Kind
VIRTUAL_MACHINE_CLUSTER_PREFERENCE: Kind
CONTROLLER_REVISION: Kind
KUBEVIRT: Kind
VIRTUAL_MACHINE_INSTANCE_MIGRATION: Kind
MIGRATION_POLICY: Kind
VIRTUAL_MACHINE_SNAPSHOT: Kind
VIRTUAL_MACHINE_SNAPSHOT_CONTENT: Kind
VIRTUAL_MACHINE_RESTORE: Kind
EVENT: Kind
SECRET: Kind
CONFIG_MAP: Kind

class Object(_message.Message):
    __slots__ = ("virtualMachine", "virtualMachineInstance", "node", "persistentVolumeClaim", "dataVolume", "virtualMachineInstancetype", "virtualMachineClusterInstancetype", "virtualMachinePreference", "virtualMachineClusterPreference", "controllerRevision", "kubeVirt", "virtualMachineInstanceMigration", "migrationPolicy", "virtualMachineSnapshot", "virtualMachineSnapshotContent", "virtualMachineRestore", "event", "secret", "configMap", "traceparent", "tracestate")
    VIRTUALMACHINE_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEINSTANCE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    PERSISTENTVOLUMECLAIM_FIELD_NUMBER: _ClassVar[int]
    DATAVOLUME_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEINSTANCETYPE_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINECLUSTERINSTANCETYPE_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEPREFERENCE_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINECLUSTERPREFERENCE_FIELD_NUMBER: _ClassVar[int]
    CONTROLLERREVISION_FIELD_NUMBER: _ClassVar[int]
    KUBEVIRT_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEINSTANCEMIGRATION_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONPOLICY_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINESNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINESNAPSHOTCONTENT_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINERESTORE_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CONFIGMAP_FIELD_NUMBER: _ClassVar[int]
    TRACEPARENT_FIELD_NUMBER: _ClassVar[int]
    TRACESTATE_FIELD_NUMBER: _ClassVar[int]
    virtualMachine: _types_pb2.VirtualMachine
    virtualMachineInstance: _types_pb2.VirtualMachineInstance
    node: _types_pb2.Node
    persistentVolumeClaim: _types_pb2.PersistentVolumeClaim
    dataVolume: _types_pb2.DataVolume
    virtualMachineInstancetype: _instancetype_pb2.VirtualMachineInstancetype
    virtualMachineClusterInstancetype: _instancetype_pb2.VirtualMachineClusterInstancetype
    virtualMachinePreference: _instancetype_pb2.VirtualMachinePreference
    virtualMachineClusterPreference: _instancetype_pb2.VirtualMachineClusterPreference
    controllerRevision: _instancetype_pb2.ControllerRevision
    kubeVirt: _kubevirt_pb2.KubeVirt
    virtualMachineInstanceMigration: _migration_pb2.VirtualMachineInstanceMigration
    migrationPolicy: _migration_pb2.MigrationPolicy
    virtualMachineSnapshot: _snapshot_pb2.VirtualMachineSnapshot
    virtualMachineSnapshotContent: _snapshot_pb2.VirtualMachineSnapshotContent
    virtualMachineRestore: _snapshot_pb2.VirtualMachineRestore
    event: _events_pb2.Event
    secret: _config_pb2.Secret
    configMap: _config_pb2.ConfigMap
    traceparent: str
    tracestate: str
    def __init__(self, virtualMachine: _Optional[_Union[_types_pb2.VirtualMachine, _Mapping]] = ..., virtualMachineInstance: _Optional[_Union[_types_pb2.VirtualMachineInstance, _Mapping]] = ..., node: _Optional[_Union[_types_pb2.Node, _Mapping]] = ..., persistentVolumeClaim: _Optional[_Union[_types_pb2.PersistentVolumeClaim, _Mapping]] = ..., dataVolume: _Optional[_Union[_types_pb2.DataVolume, _Mapping]] = ..., virtualMachineInstancetype: _Optional[_Union[_instancetype_pb2.VirtualMachineInstancetype, _Mapping]] = ..., virtualMachineClusterInstancetype: _Optional[_Union[_instancetype_pb2.VirtualMachineClusterInstancetype, _Mapping]] = ..., virtualMachinePreference: _Optional[_Union[_instancetype_pb2.VirtualMachinePreference, _Mapping]] = ..., virtualMachineClusterPreference: _Optional[_Union[_instancetype_pb2.VirtualMachineClusterPreference, _Mapping]] = ..., controllerRevision: _Optional[_Union[_instancetype_pb2.ControllerRevision, _Mapping]] = ..., kubeVirt: _Optional[_Union[_kubevirt_pb2.KubeVirt, _Mapping]] = ..., virtualMachineInstanceMigration: _Optional[_Union[_migration_pb2.VirtualMachineInstanceMigration, _Mapping]] = ..., migrationPolicy: _Optional[_Union[_migration_pb2.MigrationPolicy, _Mapping]] = ..., virtualMachineSnapshot: _Optional[_Union[_snapshot_pb2.VirtualMachineSnapshot, _Mapping]] = ..., virtualMachineSnapshotContent: _Optional[_Union[_snapshot_pb2.VirtualMachineSnapshotContent, _Mapping]] = ..., virtualMachineRestore: _Optional[_Union[_snapshot_pb2.VirtualMachineRestore, _Mapping]] = ..., event: _Optional[_Union[_events_pb2.Event, _Mapping]] = ..., secret: _Optional[_Union[_config_pb2.Secret, _Mapping]] = ..., configMap: _Optional[_Union[_config_pb2.ConfigMap, _Mapping]] = ..., traceparent: _Optional[str] = ..., tracestate: _Optional[str] = ...) -> None: ...

class ObjectRef(_message.Message):
    __slots__ = ("kind", "namespace", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: Kind
    namespace: str
    name: str
    def __init__(self, kind: _Optional[_Union[Kind, str]] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("object",)
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    object: Object
    def __init__(self, object: _Optional[_Union[Object, _Mapping]] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("ref",)
    REF_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("kind", "namespace", "labelSelector", "nodeName")
    class LabelSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LABELSELECTOR_FIELD_NUMBER: _ClassVar[int]
    NODENAME_FIELD_NUMBER: _ClassVar[int]
    kind: Kind
    namespace: str
    labelSelector: _containers.ScalarMap[str, str]
    nodeName: str
    def __init__(self, kind: _Optional[_Union[Kind, str]] = ..., namespace: _Optional[str] = ..., labelSelector: _Optional[_Mapping[str, str]] = ..., nodeName: _Optional[str] = ...) -> None: ...

class ObjectList(_message.Message):
    __slots__ = ("items", "resourceVersion")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    RESOURCEVERSION_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Object]
    resourceVersion: str
    def __init__(self, items: _Optional[_Iterable[_Union[Object, _Mapping]]] = ..., resourceVersion: _Optional[str] = ...) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("object", "withStatus")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    WITHSTATUS_FIELD_NUMBER: _ClassVar[int]
    object: Object
    withStatus: bool
    def __init__(self, object: _Optional[_Union[Object, _Mapping]] = ..., withStatus: _Optional[bool] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("ref", "uid", "resourceVersion")
    REF_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    RESOURCEVERSION_FIELD_NUMBER: _ClassVar[int]
    ref: ObjectRef
    uid: str
    resourceVersion: str
    def __init__(self, ref: _Optional[_Union[ObjectRef, _Mapping]] = ..., uid: _Optional[str] = ..., resourceVersion: _Optional[str] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("kind", "namespace", "resourceVersion", "nodeName", "labelSelector")
    class LabelSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    RESOURCEVERSION_FIELD_NUMBER: _ClassVar[int]
    NODENAME_FIELD_NUMBER: _ClassVar[int]
    LABELSELECTOR_FIELD_NUMBER: _ClassVar[int]
    kind: Kind
    namespace: str
    resourceVersion: str
    nodeName: str
    labelSelector: _containers.ScalarMap[str, str]
    def __init__(self, kind: _Optional[_Union[Kind, str]] = ..., namespace: _Optional[str] = ..., resourceVersion: _Optional[str] = ..., nodeName: _Optional[str] = ..., labelSelector: _Optional[_Mapping[str, str]] = ...) -> None: ...

class WatchEvent(_message.Message):
    __slots__ = ("type", "object", "resourceVersion")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCEVERSION_FIELD_NUMBER: _ClassVar[int]
    type: str
    object: Object
    resourceVersion: str
    def __init__(self, type: _Optional[str] = ..., object: _Optional[_Union[Object, _Mapping]] = ..., resourceVersion: _Optional[str] = ...) -> None: ...

class SubresourceRequest(_message.Message):
    __slots__ = ("namespace", "name", "gracePeriodSeconds", "paused", "dryRun")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GRACEPERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    DRYRUN_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    gracePeriodSeconds: int
    paused: bool
    dryRun: bool
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., gracePeriodSeconds: _Optional[int] = ..., paused: _Optional[bool] = ..., dryRun: _Optional[bool] = ...) -> None: ...

class SubresourceResponse(_message.Message):
    __slots__ = ("message",)
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: str
    def __init__(self, message: _Optional[str] = ...) -> None: ...

class ConsoleRequest(_message.Message):
    __slots__ = ("namespace", "name", "data", "fromStart")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    FROMSTART_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    data: bytes
    fromStart: bool
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., data: _Optional[bytes] = ..., fromStart: _Optional[bool] = ...) -> None: ...

class ConsoleData(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class VolumeRequest(_message.Message):
    __slots__ = ("kind", "namespace", "name", "addVolumeOptions", "removeVolumeOptions")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDVOLUMEOPTIONS_FIELD_NUMBER: _ClassVar[int]
    REMOVEVOLUMEOPTIONS_FIELD_NUMBER: _ClassVar[int]
    kind: Kind
    namespace: str
    name: str
    addVolumeOptions: _types_pb2.AddVolumeOptions
    removeVolumeOptions: _types_pb2.RemoveVolumeOptions
    def __init__(self, kind: _Optional[_Union[Kind, str]] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ..., addVolumeOptions: _Optional[_Union[_types_pb2.AddVolumeOptions, _Mapping]] = ..., removeVolumeOptions: _Optional[_Union[_types_pb2.RemoveVolumeOptions, _Mapping]] = ...) -> None: ...

class MigrateRequest(_message.Message):
    __slots__ = ("namespace", "name", "options")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    options: _migration_pb2.MigrateOptions
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., options: _Optional[_Union[_migration_pb2.MigrateOptions, _Mapping]] = ...) -> None: ...

class PortForwardRequest(_message.Message):
    __slots__ = ("namespace", "name", "port", "protocol", "data")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    port: int
    protocol: str
    data: bytes
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ..., port: _Optional[int] = ..., protocol: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class StreamData(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...
