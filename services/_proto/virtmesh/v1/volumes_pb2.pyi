from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class VolumeFiles(_message.Message):
    __slots__ = ("files", "networkFiles", "sshPublicKeys")
    class FilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    class NetworkFilesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bytes
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bytes] = ...) -> None: ...
    FILES_FIELD_NUMBER: _ClassVar[int]
    NETWORKFILES_FIELD_NUMBER: _ClassVar[int]
    SSHPUBLICKEYS_FIELD_NUMBER: _ClassVar[int]
    files: _containers.ScalarMap[str, bytes]
    networkFiles: _containers.ScalarMap[str, bytes]
    sshPublicKeys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, files: _Optional[_Mapping[str, bytes]] = ..., networkFiles: _Optional[_Mapping[str, bytes]] = ..., sshPublicKeys: _Optional[_Iterable[str]] = ...) -> None: ...
