from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from services._proto.virtmesh.v1 import migration_pb2 as _migration_pb2
from services._proto.virtmesh.v1 import reason_pb2 as _reason_pb2
from services._proto.virtmesh.v1 import volumes_pb2 as _volumes_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VirtualMachineOptions(_message.Message):
    __slots__ = ("emulation", "featureGates")
    EMULATION_FIELD_NUMBER: _ClassVar[int]
    FEATUREGATES_FIELD_NUMBER: _ClassVar[int]
    emulation: str
    featureGates: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, emulation: _Optional[str] = ..., featureGates: _Optional[_Iterable[str]] = ...) -> None: ...

class VMIRequest(_message.Message):
    __slots__ = ("vmi", "options", "gracePeriodSeconds", "volumePaths", "prHelperSocket", "imagePaths", "volumeFiles")
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
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    GRACEPERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    VOLUMEPATHS_FIELD_NUMBER: _ClassVar[int]
    PRHELPERSOCKET_FIELD_NUMBER: _ClassVar[int]
    IMAGEPATHS_FIELD_NUMBER: _ClassVar[int]
    VOLUMEFILES_FIELD_NUMBER: _ClassVar[int]
    vmi: _types_pb2.VirtualMachineInstance
    options: VirtualMachineOptions
    gracePeriodSeconds: int
    volumePaths: _containers.ScalarMap[str, str]
    prHelperSocket: str
    imagePaths: _containers.ScalarMap[str, str]
    volumeFiles: _containers.MessageMap[str, _volumes_pb2.VolumeFiles]
    def __init__(self, vmi: _Optional[_Union[_types_pb2.VirtualMachineInstance, _Mapping]] = ..., options: _Optional[_Union[VirtualMachineOptions, _Mapping]] = ..., gracePeriodSeconds: _Optional[int] = ..., volumePaths: _Optional[_Mapping[str, str]] = ..., prHelperSocket: _Optional[str] = ..., imagePaths: _Optional[_Mapping[str, str]] = ..., volumeFiles: _Optional[_Mapping[str, _volumes_pb2.VolumeFiles]] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("success", "message", "volumeErrors", "traceSpans", "domain", "reason")
    class VolumeErrorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VOLUMEERRORS_FIELD_NUMBER: _ClassVar[int]
    TRACESPANS_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    volumeErrors: _containers.ScalarMap[str, str]
    traceSpans: bytes
    domain: Domain
    reason: _reason_pb2.LauncherReason
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ..., volumeErrors: _Optional[_Mapping[str, str]] = ..., traceSpans: _Optional[bytes] = ..., domain: _Optional[_Union[Domain, _Mapping]] = ..., reason: _Optional[_Union[_reason_pb2.LauncherReason, str]] = ...) -> None: ...

class EmptyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Domain(_message.Message):
    __slots__ = ("name", "uuid", "state", "reason", "machineType", "domainType", "exists", "interfaces", "disks", "revision", "migration")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MACHINETYPE_FIELD_NUMBER: _ClassVar[int]
    DOMAINTYPE_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    DISKS_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    uuid: str
    state: str
    reason: str
    machineType: str
    domainType: str
    exists: bool
    interfaces: _containers.RepeatedCompositeFieldContainer[DomainInterface]
    disks: _containers.RepeatedCompositeFieldContainer[DomainDisk]
    revision: int
    migration: _migration_pb2.MigrationMetadata
    def __init__(self, name: _Optional[str] = ..., uuid: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., machineType: _Optional[str] = ..., domainType: _Optional[str] = ..., exists: _Optional[bool] = ..., interfaces: _Optional[_Iterable[_Union[DomainInterface, _Mapping]]] = ..., disks: _Optional[_Iterable[_Union[DomainDisk, _Mapping]]] = ..., revision: _Optional[int] = ..., migration: _Optional[_Union[_migration_pb2.MigrationMetadata, _Mapping]] = ...) -> None: ...

class DomainDisk(_message.Message):
    __slots__ = ("volume", "target")
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    volume: str
    target: str
    def __init__(self, volume: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class DomainInterface(_message.Message):
    __slots__ = ("name", "mac", "linkState", "target")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    LINKSTATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    name: str
    mac: str
    linkState: str
    target: str
    def __init__(self, name: _Optional[str] = ..., mac: _Optional[str] = ..., linkState: _Optional[str] = ..., target: _Optional[str] = ...) -> None: ...

class DomainEvent(_message.Message):
    __slots__ = ("eventType", "domain")
    EVENTTYPE_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    eventType: str
    domain: Domain
    def __init__(self, eventType: _Optional[str] = ..., domain: _Optional[_Union[Domain, _Mapping]] = ...) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("supportedCmdVersions", "vmiUid", "pid")
    SUPPORTEDCMDVERSIONS_FIELD_NUMBER: _ClassVar[int]
    VMIUID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    supportedCmdVersions: _containers.RepeatedScalarFieldContainer[int]
    vmiUid: str
    pid: int
    def __init__(self, supportedCmdVersions: _Optional[_Iterable[int]] = ..., vmiUid: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

class VcpuStats(_message.Message):
    __slots__ = ("id", "state", "timeSeconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TIMESECONDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    state: str
    timeSeconds: float
    def __init__(self, id: _Optional[int] = ..., state: _Optional[str] = ..., timeSeconds: _Optional[float] = ...) -> None: ...

class InterfaceStats(_message.Message):
    __slots__ = ("name", "rxBytes", "rxPackets", "rxErrors", "rxDrops", "txBytes", "txPackets", "txErrors", "txDrops")
    NAME_FIELD_NUMBER: _ClassVar[int]
    RXBYTES_FIELD_NUMBER: _ClassVar[int]
    RXPACKETS_FIELD_NUMBER: _ClassVar[int]
    RXERRORS_FIELD_NUMBER: _ClassVar[int]
    RXDROPS_FIELD_NUMBER: _ClassVar[int]
    TXBYTES_FIELD_NUMBER: _ClassVar[int]
    TXPACKETS_FIELD_NUMBER: _ClassVar[int]
    TXERRORS_FIELD_NUMBER: _ClassVar[int]
    TXDROPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    rxBytes: int
    rxPackets: int
    rxErrors: int
    rxDrops: int
    txBytes: int
    txPackets: int
    txErrors: int
    txDrops: int
    def __init__(self, name: _Optional[str] = ..., rxBytes: _Optional[int] = ..., rxPackets: _Optional[int] = ..., rxErrors: _Optional[int] = ..., rxDrops: _Optional[int] = ..., txBytes: _Optional[int] = ..., txPackets: _Optional[int] = ..., txErrors: _Optional[int] = ..., txDrops: _Optional[int] = ...) -> None: ...

class BlockStats(_message.Message):
    __slots__ = ("name", "readBytes", "readRequests", "writeBytes", "writeRequests")
    NAME_FIELD_NUMBER: _ClassVar[int]
    READBYTES_FIELD_NUMBER: _ClassVar[int]
    READREQUESTS_FIELD_NUMBER: _ClassVar[int]
    WRITEBYTES_FIELD_NUMBER: _ClassVar[int]
    WRITEREQUESTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    readBytes: int
    readRequests: int
    writeBytes: int
    writeRequests: int
    def __init__(self, name: _Optional[str] = ..., readBytes: _Optional[int] = ..., readRequests: _Optional[int] = ..., writeBytes: _Optional[int] = ..., writeRequests: _Optional[int] = ...) -> None: ...

class DomainStats(_message.Message):
    __slots__ = ("exists", "cpuTimeSeconds", "cpuUserSeconds", "cpuSystemSeconds", "vcpus", "memoryResidentBytes", "memoryAvailableBytes", "memoryUsableBytes", "memoryDomainBytes", "interfaces", "blocks")
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    CPUTIMESECONDS_FIELD_NUMBER: _ClassVar[int]
    CPUUSERSECONDS_FIELD_NUMBER: _ClassVar[int]
    CPUSYSTEMSECONDS_FIELD_NUMBER: _ClassVar[int]
    VCPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORYRESIDENTBYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORYAVAILABLEBYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORYUSABLEBYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORYDOMAINBYTES_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    BLOCKS_FIELD_NUMBER: _ClassVar[int]
    exists: bool
    cpuTimeSeconds: float
    cpuUserSeconds: float
    cpuSystemSeconds: float
    vcpus: _containers.RepeatedCompositeFieldContainer[VcpuStats]
    memoryResidentBytes: int
    memoryAvailableBytes: int
    memoryUsableBytes: int
    memoryDomainBytes: int
    interfaces: _containers.RepeatedCompositeFieldContainer[InterfaceStats]
    blocks: _containers.RepeatedCompositeFieldContainer[BlockStats]
    def __init__(self, exists: _Optional[bool] = ..., cpuTimeSeconds: _Optional[float] = ..., cpuUserSeconds: _Optional[float] = ..., cpuSystemSeconds: _Optional[float] = ..., vcpus: _Optional[_Iterable[_Union[VcpuStats, _Mapping]]] = ..., memoryResidentBytes: _Optional[int] = ..., memoryAvailableBytes: _Optional[int] = ..., memoryUsableBytes: _Optional[int] = ..., memoryDomainBytes: _Optional[int] = ..., interfaces: _Optional[_Iterable[_Union[InterfaceStats, _Mapping]]] = ..., blocks: _Optional[_Iterable[_Union[BlockStats, _Mapping]]] = ...) -> None: ...

class DomainStatsResponse(_message.Message):
    __slots__ = ("response", "stats")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    response: Response
    stats: DomainStats
    def __init__(self, response: _Optional[_Union[Response, _Mapping]] = ..., stats: _Optional[_Union[DomainStats, _Mapping]] = ...) -> None: ...

class ConsoleChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class ConsoleInput(_message.Message):
    __slots__ = ("data", "fromStart")
    DATA_FIELD_NUMBER: _ClassVar[int]
    FROMSTART_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    fromStart: bool
    def __init__(self, data: _Optional[bytes] = ..., fromStart: _Optional[bool] = ...) -> None: ...

class ForwardInput(_message.Message):
    __slots__ = ("port", "protocol", "vnc", "data", "vmi")
    PORT_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    VNC_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    VMI_FIELD_NUMBER: _ClassVar[int]
    port: int
    protocol: str
    vnc: bool
    data: bytes
    vmi: _types_pb2.VirtualMachineInstance
    def __init__(self, port: _Optional[int] = ..., protocol: _Optional[str] = ..., vnc: _Optional[bool] = ..., data: _Optional[bytes] = ..., vmi: _Optional[_Union[_types_pb2.VirtualMachineInstance, _Mapping]] = ...) -> None: ...

class CopyDiskRequest(_message.Message):
    __slots__ = ("source", "destination", "format", "timeoutSeconds")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTSECONDS_FIELD_NUMBER: _ClassVar[int]
    source: str
    destination: str
    format: str
    timeoutSeconds: int
    def __init__(self, source: _Optional[str] = ..., destination: _Optional[str] = ..., format: _Optional[str] = ..., timeoutSeconds: _Optional[int] = ...) -> None: ...
