from google.protobuf import struct_pb2 as _struct_pb2
from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CPUInstancetype(_message.Message):
    __slots__ = ("guest", "model", "dedicatedCPUPlacement", "numa", "isolateEmulatorThread", "realtime", "maxSockets")
    GUEST_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DEDICATEDCPUPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    NUMA_FIELD_NUMBER: _ClassVar[int]
    ISOLATEEMULATORTHREAD_FIELD_NUMBER: _ClassVar[int]
    REALTIME_FIELD_NUMBER: _ClassVar[int]
    MAXSOCKETS_FIELD_NUMBER: _ClassVar[int]
    guest: int
    model: str
    dedicatedCPUPlacement: bool
    numa: _types_pb2.NUMA
    isolateEmulatorThread: bool
    realtime: _types_pb2.Realtime
    maxSockets: int
    def __init__(self, guest: _Optional[int] = ..., model: _Optional[str] = ..., dedicatedCPUPlacement: _Optional[bool] = ..., numa: _Optional[_Union[_types_pb2.NUMA, _Mapping]] = ..., isolateEmulatorThread: _Optional[bool] = ..., realtime: _Optional[_Union[_types_pb2.Realtime, _Mapping]] = ..., maxSockets: _Optional[int] = ...) -> None: ...

class MemoryInstancetype(_message.Message):
    __slots__ = ("guest", "hugepages", "overcommitPercent", "maxGuest")
    GUEST_FIELD_NUMBER: _ClassVar[int]
    HUGEPAGES_FIELD_NUMBER: _ClassVar[int]
    OVERCOMMITPERCENT_FIELD_NUMBER: _ClassVar[int]
    MAXGUEST_FIELD_NUMBER: _ClassVar[int]
    guest: str
    hugepages: _types_pb2.Hugepages
    overcommitPercent: int
    maxGuest: str
    def __init__(self, guest: _Optional[str] = ..., hugepages: _Optional[_Union[_types_pb2.Hugepages, _Mapping]] = ..., overcommitPercent: _Optional[int] = ..., maxGuest: _Optional[str] = ...) -> None: ...

class VirtualMachineInstancetypeSpec(_message.Message):
    __slots__ = ("nodeSelector", "schedulerName", "cpu", "memory", "gpus", "hostDevices", "ioThreadsPolicy", "launchSecurity", "annotations")
    class NodeSelectorEntry(_message.Message):
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
    NODESELECTOR_FIELD_NUMBER: _ClassVar[int]
    SCHEDULERNAME_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    HOSTDEVICES_FIELD_NUMBER: _ClassVar[int]
    IOTHREADSPOLICY_FIELD_NUMBER: _ClassVar[int]
    LAUNCHSECURITY_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    nodeSelector: _containers.ScalarMap[str, str]
    schedulerName: str
    cpu: CPUInstancetype
    memory: MemoryInstancetype
    gpus: _containers.RepeatedCompositeFieldContainer[_types_pb2.GPU]
    hostDevices: _containers.RepeatedCompositeFieldContainer[_types_pb2.HostDevice]
    ioThreadsPolicy: str
    launchSecurity: _types_pb2.LaunchSecurity
    annotations: _containers.ScalarMap[str, str]
    def __init__(self, nodeSelector: _Optional[_Mapping[str, str]] = ..., schedulerName: _Optional[str] = ..., cpu: _Optional[_Union[CPUInstancetype, _Mapping]] = ..., memory: _Optional[_Union[MemoryInstancetype, _Mapping]] = ..., gpus: _Optional[_Iterable[_Union[_types_pb2.GPU, _Mapping]]] = ..., hostDevices: _Optional[_Iterable[_Union[_types_pb2.HostDevice, _Mapping]]] = ..., ioThreadsPolicy: _Optional[str] = ..., launchSecurity: _Optional[_Union[_types_pb2.LaunchSecurity, _Mapping]] = ..., annotations: _Optional[_Mapping[str, str]] = ...) -> None: ...

class VirtualMachineInstancetype(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachineInstancetypeSpec
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstancetypeSpec, _Mapping]] = ...) -> None: ...

class VirtualMachineClusterInstancetype(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachineInstancetypeSpec
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstancetypeSpec, _Mapping]] = ...) -> None: ...

class ClockPreferences(_message.Message):
    __slots__ = ("preferredClockOffset", "preferredTimer")
    PREFERREDCLOCKOFFSET_FIELD_NUMBER: _ClassVar[int]
    PREFERREDTIMER_FIELD_NUMBER: _ClassVar[int]
    preferredClockOffset: ClockOffset
    preferredTimer: _types_pb2.Timer
    def __init__(self, preferredClockOffset: _Optional[_Union[ClockOffset, _Mapping]] = ..., preferredTimer: _Optional[_Union[_types_pb2.Timer, _Mapping]] = ...) -> None: ...

class SpreadOptions(_message.Message):
    __slots__ = ("across", "ratio")
    ACROSS_FIELD_NUMBER: _ClassVar[int]
    RATIO_FIELD_NUMBER: _ClassVar[int]
    across: str
    ratio: int
    def __init__(self, across: _Optional[str] = ..., ratio: _Optional[int] = ...) -> None: ...

class CPUPreferences(_message.Message):
    __slots__ = ("preferredCPUTopology", "spreadOptions", "preferredCPUFeatures")
    PREFERREDCPUTOPOLOGY_FIELD_NUMBER: _ClassVar[int]
    SPREADOPTIONS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDCPUFEATURES_FIELD_NUMBER: _ClassVar[int]
    preferredCPUTopology: str
    spreadOptions: SpreadOptions
    preferredCPUFeatures: _containers.RepeatedCompositeFieldContainer[_types_pb2.CPUFeature]
    def __init__(self, preferredCPUTopology: _Optional[str] = ..., spreadOptions: _Optional[_Union[SpreadOptions, _Mapping]] = ..., preferredCPUFeatures: _Optional[_Iterable[_Union[_types_pb2.CPUFeature, _Mapping]]] = ...) -> None: ...

class DevicePreferences(_message.Message):
    __slots__ = ("preferredAutoattachGraphicsDevice", "preferredAutoattachMemBalloon", "preferredAutoattachPodInterface", "preferredAutoattachSerialConsole", "preferredAutoattachInputDevice", "preferredDisableHotplug", "preferredVirtualGPUOptions", "preferredSoundModel", "preferredUseVirtioTransitional", "preferredInputBus", "preferredInputType", "preferredDiskBus", "preferredLunBus", "preferredCdromBus", "preferredDiskDedicatedIoThread", "preferredDiskCache", "preferredDiskIO", "preferredDiskBlockSize", "preferredInterfaceModel", "preferredRng", "preferredBlockMultiQueue", "preferredNetworkInterfaceMultiQueue", "preferredTPM", "preferredInterfaceMasquerade", "preferredPanicDeviceModel")
    PREFERREDAUTOATTACHGRAPHICSDEVICE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDAUTOATTACHMEMBALLOON_FIELD_NUMBER: _ClassVar[int]
    PREFERREDAUTOATTACHPODINTERFACE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDAUTOATTACHSERIALCONSOLE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDAUTOATTACHINPUTDEVICE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDDISABLEHOTPLUG_FIELD_NUMBER: _ClassVar[int]
    PREFERREDVIRTUALGPUOPTIONS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDSOUNDMODEL_FIELD_NUMBER: _ClassVar[int]
    PREFERREDUSEVIRTIOTRANSITIONAL_FIELD_NUMBER: _ClassVar[int]
    PREFERREDINPUTBUS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDINPUTTYPE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDDISKBUS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDLUNBUS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDCDROMBUS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDDISKDEDICATEDIOTHREAD_FIELD_NUMBER: _ClassVar[int]
    PREFERREDDISKCACHE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDDISKIO_FIELD_NUMBER: _ClassVar[int]
    PREFERREDDISKBLOCKSIZE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDINTERFACEMODEL_FIELD_NUMBER: _ClassVar[int]
    PREFERREDRNG_FIELD_NUMBER: _ClassVar[int]
    PREFERREDBLOCKMULTIQUEUE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDNETWORKINTERFACEMULTIQUEUE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDTPM_FIELD_NUMBER: _ClassVar[int]
    PREFERREDINTERFACEMASQUERADE_FIELD_NUMBER: _ClassVar[int]
    PREFERREDPANICDEVICEMODEL_FIELD_NUMBER: _ClassVar[int]
    preferredAutoattachGraphicsDevice: bool
    preferredAutoattachMemBalloon: bool
    preferredAutoattachPodInterface: bool
    preferredAutoattachSerialConsole: bool
    preferredAutoattachInputDevice: bool
    preferredDisableHotplug: bool
    preferredVirtualGPUOptions: _types_pb2.VGPUOptions
    preferredSoundModel: str
    preferredUseVirtioTransitional: bool
    preferredInputBus: str
    preferredInputType: str
    preferredDiskBus: str
    preferredLunBus: str
    preferredCdromBus: str
    preferredDiskDedicatedIoThread: bool
    preferredDiskCache: str
    preferredDiskIO: str
    preferredDiskBlockSize: _types_pb2.BlockSize
    preferredInterfaceModel: str
    preferredRng: _types_pb2.Rng
    preferredBlockMultiQueue: bool
    preferredNetworkInterfaceMultiQueue: bool
    preferredTPM: _types_pb2.TPMDevice
    preferredInterfaceMasquerade: _types_pb2.InterfaceMasquerade
    preferredPanicDeviceModel: str
    def __init__(self, preferredAutoattachGraphicsDevice: _Optional[bool] = ..., preferredAutoattachMemBalloon: _Optional[bool] = ..., preferredAutoattachPodInterface: _Optional[bool] = ..., preferredAutoattachSerialConsole: _Optional[bool] = ..., preferredAutoattachInputDevice: _Optional[bool] = ..., preferredDisableHotplug: _Optional[bool] = ..., preferredVirtualGPUOptions: _Optional[_Union[_types_pb2.VGPUOptions, _Mapping]] = ..., preferredSoundModel: _Optional[str] = ..., preferredUseVirtioTransitional: _Optional[bool] = ..., preferredInputBus: _Optional[str] = ..., preferredInputType: _Optional[str] = ..., preferredDiskBus: _Optional[str] = ..., preferredLunBus: _Optional[str] = ..., preferredCdromBus: _Optional[str] = ..., preferredDiskDedicatedIoThread: _Optional[bool] = ..., preferredDiskCache: _Optional[str] = ..., preferredDiskIO: _Optional[str] = ..., preferredDiskBlockSize: _Optional[_Union[_types_pb2.BlockSize, _Mapping]] = ..., preferredInterfaceModel: _Optional[str] = ..., preferredRng: _Optional[_Union[_types_pb2.Rng, _Mapping]] = ..., preferredBlockMultiQueue: _Optional[bool] = ..., preferredNetworkInterfaceMultiQueue: _Optional[bool] = ..., preferredTPM: _Optional[_Union[_types_pb2.TPMDevice, _Mapping]] = ..., preferredInterfaceMasquerade: _Optional[_Union[_types_pb2.InterfaceMasquerade, _Mapping]] = ..., preferredPanicDeviceModel: _Optional[str] = ...) -> None: ...

class FeaturePreferences(_message.Message):
    __slots__ = ("preferredAcpi", "preferredApic", "preferredHyperv", "preferredKvm", "preferredPvspinlock", "preferredSmm")
    PREFERREDACPI_FIELD_NUMBER: _ClassVar[int]
    PREFERREDAPIC_FIELD_NUMBER: _ClassVar[int]
    PREFERREDHYPERV_FIELD_NUMBER: _ClassVar[int]
    PREFERREDKVM_FIELD_NUMBER: _ClassVar[int]
    PREFERREDPVSPINLOCK_FIELD_NUMBER: _ClassVar[int]
    PREFERREDSMM_FIELD_NUMBER: _ClassVar[int]
    preferredAcpi: _types_pb2.FeatureState
    preferredApic: _types_pb2.FeatureAPIC
    preferredHyperv: _types_pb2.FeatureHyperv
    preferredKvm: _types_pb2.FeatureKVM
    preferredPvspinlock: _types_pb2.FeatureState
    preferredSmm: _types_pb2.FeatureState
    def __init__(self, preferredAcpi: _Optional[_Union[_types_pb2.FeatureState, _Mapping]] = ..., preferredApic: _Optional[_Union[_types_pb2.FeatureAPIC, _Mapping]] = ..., preferredHyperv: _Optional[_Union[_types_pb2.FeatureHyperv, _Mapping]] = ..., preferredKvm: _Optional[_Union[_types_pb2.FeatureKVM, _Mapping]] = ..., preferredPvspinlock: _Optional[_Union[_types_pb2.FeatureState, _Mapping]] = ..., preferredSmm: _Optional[_Union[_types_pb2.FeatureState, _Mapping]] = ...) -> None: ...

class FirmwarePreferences(_message.Message):
    __slots__ = ("preferredUseBios", "preferredUseBiosSerial", "preferredUseEfi", "preferredUseSecureBoot", "preferredEfi")
    PREFERREDUSEBIOS_FIELD_NUMBER: _ClassVar[int]
    PREFERREDUSEBIOSSERIAL_FIELD_NUMBER: _ClassVar[int]
    PREFERREDUSEEFI_FIELD_NUMBER: _ClassVar[int]
    PREFERREDUSESECUREBOOT_FIELD_NUMBER: _ClassVar[int]
    PREFERREDEFI_FIELD_NUMBER: _ClassVar[int]
    preferredUseBios: bool
    preferredUseBiosSerial: bool
    preferredUseEfi: bool
    preferredUseSecureBoot: bool
    preferredEfi: _types_pb2.EFI
    def __init__(self, preferredUseBios: _Optional[bool] = ..., preferredUseBiosSerial: _Optional[bool] = ..., preferredUseEfi: _Optional[bool] = ..., preferredUseSecureBoot: _Optional[bool] = ..., preferredEfi: _Optional[_Union[_types_pb2.EFI, _Mapping]] = ...) -> None: ...

class MachinePreferences(_message.Message):
    __slots__ = ("preferredMachineType",)
    PREFERREDMACHINETYPE_FIELD_NUMBER: _ClassVar[int]
    preferredMachineType: str
    def __init__(self, preferredMachineType: _Optional[str] = ...) -> None: ...

class VolumePreferences(_message.Message):
    __slots__ = ("preferredStorageClassName",)
    PREFERREDSTORAGECLASSNAME_FIELD_NUMBER: _ClassVar[int]
    preferredStorageClassName: str
    def __init__(self, preferredStorageClassName: _Optional[str] = ...) -> None: ...

class CPUPreferenceRequirement(_message.Message):
    __slots__ = ("guest",)
    GUEST_FIELD_NUMBER: _ClassVar[int]
    guest: int
    def __init__(self, guest: _Optional[int] = ...) -> None: ...

class MemoryPreferenceRequirement(_message.Message):
    __slots__ = ("guest",)
    GUEST_FIELD_NUMBER: _ClassVar[int]
    guest: str
    def __init__(self, guest: _Optional[str] = ...) -> None: ...

class PreferenceRequirements(_message.Message):
    __slots__ = ("cpu", "memory")
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    cpu: CPUPreferenceRequirement
    memory: MemoryPreferenceRequirement
    def __init__(self, cpu: _Optional[_Union[CPUPreferenceRequirement, _Mapping]] = ..., memory: _Optional[_Union[MemoryPreferenceRequirement, _Mapping]] = ...) -> None: ...

class VirtualMachinePreferenceSpec(_message.Message):
    __slots__ = ("clock", "cpu", "devices", "features", "firmware", "machine", "volumes", "preferredSubdomain", "preferredTerminationGracePeriodSeconds", "requirements", "annotations", "preferSpreadSocketToCoreRatio")
    class AnnotationsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    PREFERREDSUBDOMAIN_FIELD_NUMBER: _ClassVar[int]
    PREFERREDTERMINATIONGRACEPERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    PREFERSPREADSOCKETTOCORERATIO_FIELD_NUMBER: _ClassVar[int]
    clock: ClockPreferences
    cpu: CPUPreferences
    devices: DevicePreferences
    features: FeaturePreferences
    firmware: FirmwarePreferences
    machine: MachinePreferences
    volumes: VolumePreferences
    preferredSubdomain: str
    preferredTerminationGracePeriodSeconds: int
    requirements: PreferenceRequirements
    annotations: _containers.ScalarMap[str, str]
    preferSpreadSocketToCoreRatio: int
    def __init__(self, clock: _Optional[_Union[ClockPreferences, _Mapping]] = ..., cpu: _Optional[_Union[CPUPreferences, _Mapping]] = ..., devices: _Optional[_Union[DevicePreferences, _Mapping]] = ..., features: _Optional[_Union[FeaturePreferences, _Mapping]] = ..., firmware: _Optional[_Union[FirmwarePreferences, _Mapping]] = ..., machine: _Optional[_Union[MachinePreferences, _Mapping]] = ..., volumes: _Optional[_Union[VolumePreferences, _Mapping]] = ..., preferredSubdomain: _Optional[str] = ..., preferredTerminationGracePeriodSeconds: _Optional[int] = ..., requirements: _Optional[_Union[PreferenceRequirements, _Mapping]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., preferSpreadSocketToCoreRatio: _Optional[int] = ...) -> None: ...

class VirtualMachinePreference(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachinePreferenceSpec
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachinePreferenceSpec, _Mapping]] = ...) -> None: ...

class VirtualMachineClusterPreference(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: VirtualMachinePreferenceSpec
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachinePreferenceSpec, _Mapping]] = ...) -> None: ...

class ControllerRevision(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "data", "revision")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    data: _struct_pb2.Struct
    revision: int
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., revision: _Optional[int] = ...) -> None: ...

class ClockOffset(_message.Message):
    __slots__ = ("utc", "timezone")
    UTC_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    utc: _types_pb2.ClockOffsetUTC
    timezone: str
    def __init__(self, utc: _Optional[_Union[_types_pb2.ClockOffsetUTC, _Mapping]] = ..., timezone: _Optional[str] = ...) -> None: ...
