from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VirtualMachineOptions(_message.Message):
    __slots__ = ("emulation",)
    EMULATION_FIELD_NUMBER: _ClassVar[int]
    emulation: str
    def __init__(self, emulation: _Optional[str] = ...) -> None: ...

class VMIRequest(_message.Message):
    __slots__ = ("vmi", "options", "gracePeriodSeconds")
    VMI_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    GRACEPERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    vmi: _types_pb2.VirtualMachineInstance
    options: VirtualMachineOptions
    gracePeriodSeconds: int
    def __init__(self, vmi: _Optional[_Union[_types_pb2.VirtualMachineInstance, _Mapping]] = ..., options: _Optional[_Union[VirtualMachineOptions, _Mapping]] = ..., gracePeriodSeconds: _Optional[int] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("success", "message")
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    success: bool
    message: str
    def __init__(self, success: _Optional[bool] = ..., message: _Optional[str] = ...) -> None: ...

class EmptyRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Domain(_message.Message):
    __slots__ = ("name", "uuid", "state", "reason", "machineType", "domainType", "xml", "exists")
    NAME_FIELD_NUMBER: _ClassVar[int]
    UUID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MACHINETYPE_FIELD_NUMBER: _ClassVar[int]
    DOMAINTYPE_FIELD_NUMBER: _ClassVar[int]
    XML_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    uuid: str
    state: str
    reason: str
    machineType: str
    domainType: str
    xml: str
    exists: bool
    def __init__(self, name: _Optional[str] = ..., uuid: _Optional[str] = ..., state: _Optional[str] = ..., reason: _Optional[str] = ..., machineType: _Optional[str] = ..., domainType: _Optional[str] = ..., xml: _Optional[str] = ..., exists: _Optional[bool] = ...) -> None: ...

class DomainEvent(_message.Message):
    __slots__ = ("eventType", "domain")
    EVENTTYPE_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    eventType: str
    domain: Domain
    def __init__(self, eventType: _Optional[str] = ..., domain: _Optional[_Union[Domain, _Mapping]] = ...) -> None: ...

class DomainResponse(_message.Message):
    __slots__ = ("response", "domain")
    RESPONSE_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    response: Response
    domain: Domain
    def __init__(self, response: _Optional[_Union[Response, _Mapping]] = ..., domain: _Optional[_Union[Domain, _Mapping]] = ...) -> None: ...

class InfoResponse(_message.Message):
    __slots__ = ("supportedCmdVersions", "vmiUid", "pid")
    SUPPORTEDCMDVERSIONS_FIELD_NUMBER: _ClassVar[int]
    VMIUID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    supportedCmdVersions: _containers.RepeatedScalarFieldContainer[int]
    vmiUid: str
    pid: int
    def __init__(self, supportedCmdVersions: _Optional[_Iterable[int]] = ..., vmiUid: _Optional[str] = ..., pid: _Optional[int] = ...) -> None: ...

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
