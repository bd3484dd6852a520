from services._proto.kubevirt.v1 import core_pb2 as _core_pb2
from services._proto.kubevirt.v1 import migrationstate_pb2 as _migrationstate_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class OwnerReference(_message.Message):
    __slots__ = ("apiVersion", "kind", "name", "uid", "controller", "blockOwnerDeletion")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_FIELD_NUMBER: _ClassVar[int]
    BLOCKOWNERDELETION_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool
    blockOwnerDeletion: bool
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., name: _Optional[str] = ..., uid: _Optional[str] = ..., controller: _Optional[bool] = ..., blockOwnerDeletion: _Optional[bool] = ...) -> None: ...

class ObjectMeta(_message.Message):
    __slots__ = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp", "labels", "annotations", "finalizers", "ownerReferences", "deletionGracePeriodSeconds")
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
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATENAME_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    RESOURCEVERSION_FIELD_NUMBER: _ClassVar[int]
    GENERATION_FIELD_NUMBER: _ClassVar[int]
    CREATIONTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    DELETIONTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    FINALIZERS_FIELD_NUMBER: _ClassVar[int]
    OWNERREFERENCES_FIELD_NUMBER: _ClassVar[int]
    DELETIONGRACEPERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    labels: _containers.ScalarMap[str, str]
    annotations: _containers.ScalarMap[str, str]
    finalizers: _containers.RepeatedScalarFieldContainer[str]
    ownerReferences: _containers.RepeatedCompositeFieldContainer[OwnerReference]
    deletionGracePeriodSeconds: int
    def __init__(self, name: _Optional[str] = ..., generateName: _Optional[str] = ..., namespace: _Optional[str] = ..., uid: _Optional[str] = ..., resourceVersion: _Optional[str] = ..., generation: _Optional[int] = ..., creationTimestamp: _Optional[str] = ..., deletionTimestamp: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., finalizers: _Optional[_Iterable[str]] = ..., ownerReferences: _Optional[_Iterable[_Union[OwnerReference, _Mapping]]] = ..., deletionGracePeriodSeconds: _Optional[int] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("type", "status", "reason", "message", "lastProbeTime", "lastTransitionTime")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    LASTPROBETIME_FIELD_NUMBER: _ClassVar[int]
    LASTTRANSITIONTIME_FIELD_NUMBER: _ClassVar[int]
    type: str
    status: str
    reason: str
    message: str
    lastProbeTime: str
    lastTransitionTime: str
    def __init__(self, type: _Optional[str] = ..., status: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., lastProbeTime: _Optional[str] = ..., lastTransitionTime: _Optional[str] = ...) -> None: ...

class ResourceRequirements(_message.Message):
    __slots__ = ("requests", "limits", "overcommitGuestOverhead")
    class RequestsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LimitsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    OVERCOMMITGUESTOVERHEAD_FIELD_NUMBER: _ClassVar[int]
    requests: _containers.ScalarMap[str, str]
    limits: _containers.ScalarMap[str, str]
    overcommitGuestOverhead: bool
    def __init__(self, requests: _Optional[_Mapping[str, str]] = ..., limits: _Optional[_Mapping[str, str]] = ..., overcommitGuestOverhead: _Optional[bool] = ...) -> None: ...

class CPUFeature(_message.Message):
    __slots__ = ("name", "policy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    policy: str
    def __init__(self, name: _Optional[str] = ..., policy: _Optional[str] = ...) -> None: ...

class CPU(_message.Message):
    __slots__ = ("cores", "sockets", "threads", "model", "features", "maxSockets", "dedicatedCpuPlacement", "numa", "isolateEmulatorThread", "realtime")
    CORES_FIELD_NUMBER: _ClassVar[int]
    SOCKETS_FIELD_NUMBER: _ClassVar[int]
    THREADS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    MAXSOCKETS_FIELD_NUMBER: _ClassVar[int]
    DEDICATEDCPUPLACEMENT_FIELD_NUMBER: _ClassVar[int]
    NUMA_FIELD_NUMBER: _ClassVar[int]
    ISOLATEEMULATORTHREAD_FIELD_NUMBER: _ClassVar[int]
    REALTIME_FIELD_NUMBER: _ClassVar[int]
    cores: int
    sockets: int
    threads: int
    model: str
    features: _containers.RepeatedCompositeFieldContainer[CPUFeature]
    maxSockets: int
    dedicatedCpuPlacement: bool
    numa: NUMA
    isolateEmulatorThread: bool
    realtime: Realtime
    def __init__(self, cores: _Optional[int] = ..., sockets: _Optional[int] = ..., threads: _Optional[int] = ..., model: _Optional[str] = ..., features: _Optional[_Iterable[_Union[CPUFeature, _Mapping]]] = ..., maxSockets: _Optional[int] = ..., dedicatedCpuPlacement: _Optional[bool] = ..., numa: _Optional[_Union[NUMA, _Mapping]] = ..., isolateEmulatorThread: _Optional[bool] = ..., realtime: _Optional[_Union[Realtime, _Mapping]] = ...) -> None: ...

class NUMAGuestMappingPassthrough(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NUMA(_message.Message):
    __slots__ = ("guestMappingPassthrough",)
    GUESTMAPPINGPASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    guestMappingPassthrough: NUMAGuestMappingPassthrough
    def __init__(self, guestMappingPassthrough: _Optional[_Union[NUMAGuestMappingPassthrough, _Mapping]] = ...) -> None: ...

class Realtime(_message.Message):
    __slots__ = ("mask",)
    MASK_FIELD_NUMBER: _ClassVar[int]
    mask: str
    def __init__(self, mask: _Optional[str] = ...) -> None: ...

class Hugepages(_message.Message):
    __slots__ = ("pageSize",)
    PAGESIZE_FIELD_NUMBER: _ClassVar[int]
    pageSize: str
    def __init__(self, pageSize: _Optional[str] = ...) -> None: ...

class Memory(_message.Message):
    __slots__ = ("guest", "maxGuest", "hugepages")
    GUEST_FIELD_NUMBER: _ClassVar[int]
    MAXGUEST_FIELD_NUMBER: _ClassVar[int]
    HUGEPAGES_FIELD_NUMBER: _ClassVar[int]
    guest: str
    maxGuest: str
    hugepages: Hugepages
    def __init__(self, guest: _Optional[str] = ..., maxGuest: _Optional[str] = ..., hugepages: _Optional[_Union[Hugepages, _Mapping]] = ...) -> None: ...

class Machine(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class BIOS(_message.Message):
    __slots__ = ("useSerial",)
    USESERIAL_FIELD_NUMBER: _ClassVar[int]
    useSerial: bool
    def __init__(self, useSerial: _Optional[bool] = ...) -> None: ...

class EFI(_message.Message):
    __slots__ = ("secureBoot", "persistent")
    SECUREBOOT_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    secureBoot: bool
    persistent: bool
    def __init__(self, secureBoot: _Optional[bool] = ..., persistent: _Optional[bool] = ...) -> None: ...

class Bootloader(_message.Message):
    __slots__ = ("bios", "efi")
    BIOS_FIELD_NUMBER: _ClassVar[int]
    EFI_FIELD_NUMBER: _ClassVar[int]
    bios: BIOS
    efi: EFI
    def __init__(self, bios: _Optional[_Union[BIOS, _Mapping]] = ..., efi: _Optional[_Union[EFI, _Mapping]] = ...) -> None: ...

class KernelBootContainer(_message.Message):
    __slots__ = ("image", "imagePullSecret", "kernelPath", "initrdPath", "imagePullPolicy")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLSECRET_FIELD_NUMBER: _ClassVar[int]
    KERNELPATH_FIELD_NUMBER: _ClassVar[int]
    INITRDPATH_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLPOLICY_FIELD_NUMBER: _ClassVar[int]
    image: str
    imagePullSecret: str
    kernelPath: str
    initrdPath: str
    imagePullPolicy: str
    def __init__(self, image: _Optional[str] = ..., imagePullSecret: _Optional[str] = ..., kernelPath: _Optional[str] = ..., initrdPath: _Optional[str] = ..., imagePullPolicy: _Optional[str] = ...) -> None: ...

class KernelBoot(_message.Message):
    __slots__ = ("kernelArgs", "container")
    KERNELARGS_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_FIELD_NUMBER: _ClassVar[int]
    kernelArgs: str
    container: KernelBootContainer
    def __init__(self, kernelArgs: _Optional[str] = ..., container: _Optional[_Union[KernelBootContainer, _Mapping]] = ...) -> None: ...

class Firmware(_message.Message):
    __slots__ = ("uuid", "serial", "bootloader", "kernelBoot", "acpi")
    UUID_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    BOOTLOADER_FIELD_NUMBER: _ClassVar[int]
    KERNELBOOT_FIELD_NUMBER: _ClassVar[int]
    ACPI_FIELD_NUMBER: _ClassVar[int]
    uuid: str
    serial: str
    bootloader: Bootloader
    kernelBoot: KernelBoot
    acpi: ACPI
    def __init__(self, uuid: _Optional[str] = ..., serial: _Optional[str] = ..., bootloader: _Optional[_Union[Bootloader, _Mapping]] = ..., kernelBoot: _Optional[_Union[KernelBoot, _Mapping]] = ..., acpi: _Optional[_Union[ACPI, _Mapping]] = ...) -> None: ...

class ACPI(_message.Message):
    __slots__ = ("slicNameRef", "msdmNameRef")
    SLICNAMEREF_FIELD_NUMBER: _ClassVar[int]
    MSDMNAMEREF_FIELD_NUMBER: _ClassVar[int]
    slicNameRef: str
    msdmNameRef: str
    def __init__(self, slicNameRef: _Optional[str] = ..., msdmNameRef: _Optional[str] = ...) -> None: ...

class Chassis(_message.Message):
    __slots__ = ("manufacturer", "version", "serial", "asset", "sku")
    MANUFACTURER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    ASSET_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    manufacturer: str
    version: str
    serial: str
    asset: str
    sku: str
    def __init__(self, manufacturer: _Optional[str] = ..., version: _Optional[str] = ..., serial: _Optional[str] = ..., asset: _Optional[str] = ..., sku: _Optional[str] = ...) -> None: ...

class FeatureState(_message.Message):
    __slots__ = ("enabled",)
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    def __init__(self, enabled: _Optional[bool] = ...) -> None: ...

class FeatureAPIC(_message.Message):
    __slots__ = ("enabled", "endOfInterrupt")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    ENDOFINTERRUPT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    endOfInterrupt: bool
    def __init__(self, enabled: _Optional[bool] = ..., endOfInterrupt: _Optional[bool] = ...) -> None: ...

class FeatureKVM(_message.Message):
    __slots__ = ("hidden",)
    HIDDEN_FIELD_NUMBER: _ClassVar[int]
    hidden: bool
    def __init__(self, hidden: _Optional[bool] = ...) -> None: ...

class FeatureSpinlocks(_message.Message):
    __slots__ = ("enabled", "spinlocks")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    SPINLOCKS_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    spinlocks: int
    def __init__(self, enabled: _Optional[bool] = ..., spinlocks: _Optional[int] = ...) -> None: ...

class FeatureVendorID(_message.Message):
    __slots__ = ("enabled", "vendorid")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    VENDORID_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    vendorid: str
    def __init__(self, enabled: _Optional[bool] = ..., vendorid: _Optional[str] = ...) -> None: ...

class SyNICTimer(_message.Message):
    __slots__ = ("enabled", "direct")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    DIRECT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    direct: FeatureState
    def __init__(self, enabled: _Optional[bool] = ..., direct: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class FeatureHyperv(_message.Message):
    __slots__ = ("relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "synictimer", "reset", "vendorid", "frequencies", "reenlightenment", "tlbflush", "ipi", "evmcs")
    RELAXED_FIELD_NUMBER: _ClassVar[int]
    VAPIC_FIELD_NUMBER: _ClassVar[int]
    SPINLOCKS_FIELD_NUMBER: _ClassVar[int]
    VPINDEX_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_FIELD_NUMBER: _ClassVar[int]
    SYNIC_FIELD_NUMBER: _ClassVar[int]
    SYNICTIMER_FIELD_NUMBER: _ClassVar[int]
    RESET_FIELD_NUMBER: _ClassVar[int]
    VENDORID_FIELD_NUMBER: _ClassVar[int]
    FREQUENCIES_FIELD_NUMBER: _ClassVar[int]
    REENLIGHTENMENT_FIELD_NUMBER: _ClassVar[int]
    TLBFLUSH_FIELD_NUMBER: _ClassVar[int]
    IPI_FIELD_NUMBER: _ClassVar[int]
    EVMCS_FIELD_NUMBER: _ClassVar[int]
    relaxed: FeatureState
    vapic: FeatureState
    spinlocks: FeatureSpinlocks
    vpindex: FeatureState
    runtime: FeatureState
    synic: FeatureState
    synictimer: SyNICTimer
    reset: FeatureState
    vendorid: FeatureVendorID
    frequencies: FeatureState
    reenlightenment: FeatureState
    tlbflush: FeatureState
    ipi: FeatureState
    evmcs: FeatureState
    def __init__(self, relaxed: _Optional[_Union[FeatureState, _Mapping]] = ..., vapic: _Optional[_Union[FeatureState, _Mapping]] = ..., spinlocks: _Optional[_Union[FeatureSpinlocks, _Mapping]] = ..., vpindex: _Optional[_Union[FeatureState, _Mapping]] = ..., runtime: _Optional[_Union[FeatureState, _Mapping]] = ..., synic: _Optional[_Union[FeatureState, _Mapping]] = ..., synictimer: _Optional[_Union[SyNICTimer, _Mapping]] = ..., reset: _Optional[_Union[FeatureState, _Mapping]] = ..., vendorid: _Optional[_Union[FeatureVendorID, _Mapping]] = ..., frequencies: _Optional[_Union[FeatureState, _Mapping]] = ..., reenlightenment: _Optional[_Union[FeatureState, _Mapping]] = ..., tlbflush: _Optional[_Union[FeatureState, _Mapping]] = ..., ipi: _Optional[_Union[FeatureState, _Mapping]] = ..., evmcs: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class HyperVPassthrough(_message.Message):
    __slots__ = ("enabled",)
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    def __init__(self, enabled: _Optional[bool] = ...) -> None: ...

class Features(_message.Message):
    __slots__ = ("acpi", "apic", "smm", "hyperv", "kvm", "pvspinlock", "hypervPassthrough")
    ACPI_FIELD_NUMBER: _ClassVar[int]
    APIC_FIELD_NUMBER: _ClassVar[int]
    SMM_FIELD_NUMBER: _ClassVar[int]
    HYPERV_FIELD_NUMBER: _ClassVar[int]
    KVM_FIELD_NUMBER: _ClassVar[int]
    PVSPINLOCK_FIELD_NUMBER: _ClassVar[int]
    HYPERVPASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    acpi: FeatureState
    apic: FeatureAPIC
    smm: FeatureState
    hyperv: FeatureHyperv
    kvm: FeatureKVM
    pvspinlock: FeatureState
    hypervPassthrough: HyperVPassthrough
    def __init__(self, acpi: _Optional[_Union[FeatureState, _Mapping]] = ..., apic: _Optional[_Union[FeatureAPIC, _Mapping]] = ..., smm: _Optional[_Union[FeatureState, _Mapping]] = ..., hyperv: _Optional[_Union[FeatureHyperv, _Mapping]] = ..., kvm: _Optional[_Union[FeatureKVM, _Mapping]] = ..., pvspinlock: _Optional[_Union[FeatureState, _Mapping]] = ..., hypervPassthrough: _Optional[_Union[HyperVPassthrough, _Mapping]] = ...) -> None: ...

class ClockOffsetUTC(_message.Message):
    __slots__ = ("offsetSeconds",)
    OFFSETSECONDS_FIELD_NUMBER: _ClassVar[int]
    offsetSeconds: int
    def __init__(self, offsetSeconds: _Optional[int] = ...) -> None: ...

class HPETTimer(_message.Message):
    __slots__ = ("tickPolicy", "present")
    TICKPOLICY_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    tickPolicy: str
    present: bool
    def __init__(self, tickPolicy: _Optional[str] = ..., present: _Optional[bool] = ...) -> None: ...

class PITTimer(_message.Message):
    __slots__ = ("tickPolicy", "present")
    TICKPOLICY_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    tickPolicy: str
    present: bool
    def __init__(self, tickPolicy: _Optional[str] = ..., present: _Optional[bool] = ...) -> None: ...

class RTCTimer(_message.Message):
    __slots__ = ("tickPolicy", "present", "track")
    TICKPOLICY_FIELD_NUMBER: _ClassVar[int]
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    TRACK_FIELD_NUMBER: _ClassVar[int]
    tickPolicy: str
    present: bool
    track: str
    def __init__(self, tickPolicy: _Optional[str] = ..., present: _Optional[bool] = ..., track: _Optional[str] = ...) -> None: ...

class KVMTimer(_message.Message):
    __slots__ = ("present",)
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    present: bool
    def __init__(self, present: _Optional[bool] = ...) -> None: ...

class HypervTimer(_message.Message):
    __slots__ = ("present",)
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    present: bool
    def __init__(self, present: _Optional[bool] = ...) -> None: ...

class Timer(_message.Message):
    __slots__ = ("hpet", "kvm", "pit", "rtc", "hyperv")
    HPET_FIELD_NUMBER: _ClassVar[int]
    KVM_FIELD_NUMBER: _ClassVar[int]
    PIT_FIELD_NUMBER: _ClassVar[int]
    RTC_FIELD_NUMBER: _ClassVar[int]
    HYPERV_FIELD_NUMBER: _ClassVar[int]
    hpet: HPETTimer
    kvm: KVMTimer
    pit: PITTimer
    rtc: RTCTimer
    hyperv: HypervTimer
    def __init__(self, hpet: _Optional[_Union[HPETTimer, _Mapping]] = ..., kvm: _Optional[_Union[KVMTimer, _Mapping]] = ..., pit: _Optional[_Union[PITTimer, _Mapping]] = ..., rtc: _Optional[_Union[RTCTimer, _Mapping]] = ..., hyperv: _Optional[_Union[HypervTimer, _Mapping]] = ...) -> None: ...

class Clock(_message.Message):
    __slots__ = ("utc", "timezone", "timer")
    UTC_FIELD_NUMBER: _ClassVar[int]
    TIMEZONE_FIELD_NUMBER: _ClassVar[int]
    TIMER_FIELD_NUMBER: _ClassVar[int]
    utc: ClockOffsetUTC
    timezone: str
    timer: Timer
    def __init__(self, utc: _Optional[_Union[ClockOffsetUTC, _Mapping]] = ..., timezone: _Optional[str] = ..., timer: _Optional[_Union[Timer, _Mapping]] = ...) -> None: ...

class DiskTarget(_message.Message):
    __slots__ = ("bus", "readonly", "pciAddress")
    BUS_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    PCIADDRESS_FIELD_NUMBER: _ClassVar[int]
    bus: str
    readonly: bool
    pciAddress: str
    def __init__(self, bus: _Optional[str] = ..., readonly: _Optional[bool] = ..., pciAddress: _Optional[str] = ...) -> None: ...

class CDRomTarget(_message.Message):
    __slots__ = ("bus", "readonly", "tray")
    BUS_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    TRAY_FIELD_NUMBER: _ClassVar[int]
    bus: str
    readonly: bool
    tray: str
    def __init__(self, bus: _Optional[str] = ..., readonly: _Optional[bool] = ..., tray: _Optional[str] = ...) -> None: ...

class LunTarget(_message.Message):
    __slots__ = ("bus", "readonly", "reservation")
    BUS_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    RESERVATION_FIELD_NUMBER: _ClassVar[int]
    bus: str
    readonly: bool
    reservation: bool
    def __init__(self, bus: _Optional[str] = ..., readonly: _Optional[bool] = ..., reservation: _Optional[bool] = ...) -> None: ...

class CustomBlockSize(_message.Message):
    __slots__ = ("logical", "physical")
    LOGICAL_FIELD_NUMBER: _ClassVar[int]
    PHYSICAL_FIELD_NUMBER: _ClassVar[int]
    logical: int
    physical: int
    def __init__(self, logical: _Optional[int] = ..., physical: _Optional[int] = ...) -> None: ...

class BlockSize(_message.Message):
    __slots__ = ("custom", "matchVolume")
    CUSTOM_FIELD_NUMBER: _ClassVar[int]
    MATCHVOLUME_FIELD_NUMBER: _ClassVar[int]
    custom: CustomBlockSize
    matchVolume: FeatureState
    def __init__(self, custom: _Optional[_Union[CustomBlockSize, _Mapping]] = ..., matchVolume: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class Disk(_message.Message):
    __slots__ = ("name", "disk", "cdrom", "lun", "bootOrder", "serial", "cache", "io", "shareable", "dedicatedIOThread", "tag", "blockSize", "errorPolicy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    CDROM_FIELD_NUMBER: _ClassVar[int]
    LUN_FIELD_NUMBER: _ClassVar[int]
    BOOTORDER_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    CACHE_FIELD_NUMBER: _ClassVar[int]
    IO_FIELD_NUMBER: _ClassVar[int]
    SHAREABLE_FIELD_NUMBER: _ClassVar[int]
    DEDICATEDIOTHREAD_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    BLOCKSIZE_FIELD_NUMBER: _ClassVar[int]
    ERRORPOLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    disk: DiskTarget
    cdrom: CDRomTarget
    lun: LunTarget
    bootOrder: int
    serial: str
    cache: str
    io: str
    shareable: bool
    dedicatedIOThread: bool
    tag: str
    blockSize: BlockSize
    errorPolicy: str
    def __init__(self, name: _Optional[str] = ..., disk: _Optional[_Union[DiskTarget, _Mapping]] = ..., cdrom: _Optional[_Union[CDRomTarget, _Mapping]] = ..., lun: _Optional[_Union[LunTarget, _Mapping]] = ..., bootOrder: _Optional[int] = ..., serial: _Optional[str] = ..., cache: _Optional[str] = ..., io: _Optional[str] = ..., shareable: _Optional[bool] = ..., dedicatedIOThread: _Optional[bool] = ..., tag: _Optional[str] = ..., blockSize: _Optional[_Union[BlockSize, _Mapping]] = ..., errorPolicy: _Optional[str] = ...) -> None: ...

class InterfaceMasquerade(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceBridge(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceSlirp(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InterfaceSRIOV(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeprecatedInterfaceMacvtap(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeprecatedInterfacePasst(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PluginBinding(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class DHCPPrivateOptions(_message.Message):
    __slots__ = ("option", "value")
    OPTION_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    option: int
    value: str
    def __init__(self, option: _Optional[int] = ..., value: _Optional[str] = ...) -> None: ...

class DHCPOptions(_message.Message):
    __slots__ = ("bootFileName", "tftpServerName", "ntpServers", "privateOptions")
    BOOTFILENAME_FIELD_NUMBER: _ClassVar[int]
    TFTPSERVERNAME_FIELD_NUMBER: _ClassVar[int]
    NTPSERVERS_FIELD_NUMBER: _ClassVar[int]
    PRIVATEOPTIONS_FIELD_NUMBER: _ClassVar[int]
    bootFileName: str
    tftpServerName: str
    ntpServers: _containers.RepeatedScalarFieldContainer[str]
    privateOptions: _containers.RepeatedCompositeFieldContainer[DHCPPrivateOptions]
    def __init__(self, bootFileName: _Optional[str] = ..., tftpServerName: _Optional[str] = ..., ntpServers: _Optional[_Iterable[str]] = ..., privateOptions: _Optional[_Iterable[_Union[DHCPPrivateOptions, _Mapping]]] = ...) -> None: ...

class Port(_message.Message):
    __slots__ = ("name", "protocol", "port")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    protocol: str
    port: int
    def __init__(self, name: _Optional[str] = ..., protocol: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class Interface(_message.Message):
    __slots__ = ("name", "model", "masquerade", "bridge", "slirp", "ports", "macAddress", "bootOrder", "pciAddress", "state", "binding", "sriov", "macvtap", "passt", "dhcpOptions", "tag", "acpiIndex")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MASQUERADE_FIELD_NUMBER: _ClassVar[int]
    BRIDGE_FIELD_NUMBER: _ClassVar[int]
    SLIRP_FIELD_NUMBER: _ClassVar[int]
    PORTS_FIELD_NUMBER: _ClassVar[int]
    MACADDRESS_FIELD_NUMBER: _ClassVar[int]
    BOOTORDER_FIELD_NUMBER: _ClassVar[int]
    PCIADDRESS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BINDING_FIELD_NUMBER: _ClassVar[int]
    SRIOV_FIELD_NUMBER: _ClassVar[int]
    MACVTAP_FIELD_NUMBER: _ClassVar[int]
    PASST_FIELD_NUMBER: _ClassVar[int]
    DHCPOPTIONS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    ACPIINDEX_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    masquerade: InterfaceMasquerade
    bridge: InterfaceBridge
    slirp: InterfaceSlirp
    ports: _containers.RepeatedCompositeFieldContainer[Port]
    macAddress: str
    bootOrder: int
    pciAddress: str
    state: str
    binding: PluginBinding
    sriov: InterfaceSRIOV
    macvtap: DeprecatedInterfaceMacvtap
    passt: DeprecatedInterfacePasst
    dhcpOptions: DHCPOptions
    tag: str
    acpiIndex: int
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ..., masquerade: _Optional[_Union[InterfaceMasquerade, _Mapping]] = ..., bridge: _Optional[_Union[InterfaceBridge, _Mapping]] = ..., slirp: _Optional[_Union[InterfaceSlirp, _Mapping]] = ..., ports: _Optional[_Iterable[_Union[Port, _Mapping]]] = ..., macAddress: _Optional[str] = ..., bootOrder: _Optional[int] = ..., pciAddress: _Optional[str] = ..., state: _Optional[str] = ..., binding: _Optional[_Union[PluginBinding, _Mapping]] = ..., sriov: _Optional[_Union[InterfaceSRIOV, _Mapping]] = ..., macvtap: _Optional[_Union[DeprecatedInterfaceMacvtap, _Mapping]] = ..., passt: _Optional[_Union[DeprecatedInterfacePasst, _Mapping]] = ..., dhcpOptions: _Optional[_Union[DHCPOptions, _Mapping]] = ..., tag: _Optional[str] = ..., acpiIndex: _Optional[int] = ...) -> None: ...

class TPMDevice(_message.Message):
    __slots__ = ("enabled", "persistent")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    persistent: bool
    def __init__(self, enabled: _Optional[bool] = ..., persistent: _Optional[bool] = ...) -> None: ...

class Rng(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Input(_message.Message):
    __slots__ = ("bus", "type", "name")
    BUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    bus: str
    type: str
    name: str
    def __init__(self, bus: _Optional[str] = ..., type: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class I6300ESBWatchdog(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: str
    def __init__(self, action: _Optional[str] = ...) -> None: ...

class Diag288Watchdog(_message.Message):
    __slots__ = ("action",)
    ACTION_FIELD_NUMBER: _ClassVar[int]
    action: str
    def __init__(self, action: _Optional[str] = ...) -> None: ...

class Watchdog(_message.Message):
    __slots__ = ("name", "i6300esb", "diag288")
    NAME_FIELD_NUMBER: _ClassVar[int]
    I6300ESB_FIELD_NUMBER: _ClassVar[int]
    DIAG288_FIELD_NUMBER: _ClassVar[int]
    name: str
    i6300esb: I6300ESBWatchdog
    diag288: Diag288Watchdog
    def __init__(self, name: _Optional[str] = ..., i6300esb: _Optional[_Union[I6300ESBWatchdog, _Mapping]] = ..., diag288: _Optional[_Union[Diag288Watchdog, _Mapping]] = ...) -> None: ...

class SoundDevice(_message.Message):
    __slots__ = ("name", "model")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    model: str
    def __init__(self, name: _Optional[str] = ..., model: _Optional[str] = ...) -> None: ...

class VideoDevice(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class PanicDevice(_message.Message):
    __slots__ = ("model",)
    MODEL_FIELD_NUMBER: _ClassVar[int]
    model: str
    def __init__(self, model: _Optional[str] = ...) -> None: ...

class FilesystemVirtiofs(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Filesystem(_message.Message):
    __slots__ = ("name", "virtiofs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VIRTIOFS_FIELD_NUMBER: _ClassVar[int]
    name: str
    virtiofs: FilesystemVirtiofs
    def __init__(self, name: _Optional[str] = ..., virtiofs: _Optional[_Union[FilesystemVirtiofs, _Mapping]] = ...) -> None: ...

class ClientPassthroughDevices(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DownwardMetrics(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VGPUDisplayOptions(_message.Message):
    __slots__ = ("enabled", "ramFB")
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    RAMFB_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    ramFB: FeatureState
    def __init__(self, enabled: _Optional[bool] = ..., ramFB: _Optional[_Union[FeatureState, _Mapping]] = ...) -> None: ...

class VGPUOptions(_message.Message):
    __slots__ = ("display",)
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    display: VGPUDisplayOptions
    def __init__(self, display: _Optional[_Union[VGPUDisplayOptions, _Mapping]] = ...) -> None: ...

class GPU(_message.Message):
    __slots__ = ("name", "deviceName", "claimName", "requestName", "virtualGPUOptions", "tag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEVICENAME_FIELD_NUMBER: _ClassVar[int]
    CLAIMNAME_FIELD_NUMBER: _ClassVar[int]
    REQUESTNAME_FIELD_NUMBER: _ClassVar[int]
    VIRTUALGPUOPTIONS_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    deviceName: str
    claimName: str
    requestName: str
    virtualGPUOptions: VGPUOptions
    tag: str
    def __init__(self, name: _Optional[str] = ..., deviceName: _Optional[str] = ..., claimName: _Optional[str] = ..., requestName: _Optional[str] = ..., virtualGPUOptions: _Optional[_Union[VGPUOptions, _Mapping]] = ..., tag: _Optional[str] = ...) -> None: ...

class HostDevice(_message.Message):
    __slots__ = ("name", "deviceName", "claimName", "requestName", "tag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEVICENAME_FIELD_NUMBER: _ClassVar[int]
    CLAIMNAME_FIELD_NUMBER: _ClassVar[int]
    REQUESTNAME_FIELD_NUMBER: _ClassVar[int]
    TAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    deviceName: str
    claimName: str
    requestName: str
    tag: str
    def __init__(self, name: _Optional[str] = ..., deviceName: _Optional[str] = ..., claimName: _Optional[str] = ..., requestName: _Optional[str] = ..., tag: _Optional[str] = ...) -> None: ...

class Devices(_message.Message):
    __slots__ = ("disks", "interfaces", "autoattachSerialConsole", "autoattachGraphicsDevice", "autoattachMemBalloon", "autoattachPodInterface", "tpm", "rng", "inputs", "useVirtioTransitional", "disableHotplug", "watchdog", "logSerialConsole", "autoattachInputDevice", "autoattachVSOCK", "blockMultiQueue", "networkInterfaceMultiqueue", "gpus", "downwardMetrics", "panicDevices", "filesystems", "hostDevices", "clientPassthrough", "sound", "video")
    DISKS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACHSERIALCONSOLE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACHGRAPHICSDEVICE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACHMEMBALLOON_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACHPODINTERFACE_FIELD_NUMBER: _ClassVar[int]
    TPM_FIELD_NUMBER: _ClassVar[int]
    RNG_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    USEVIRTIOTRANSITIONAL_FIELD_NUMBER: _ClassVar[int]
    DISABLEHOTPLUG_FIELD_NUMBER: _ClassVar[int]
    WATCHDOG_FIELD_NUMBER: _ClassVar[int]
    LOGSERIALCONSOLE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACHINPUTDEVICE_FIELD_NUMBER: _ClassVar[int]
    AUTOATTACHVSOCK_FIELD_NUMBER: _ClassVar[int]
    BLOCKMULTIQUEUE_FIELD_NUMBER: _ClassVar[int]
    NETWORKINTERFACEMULTIQUEUE_FIELD_NUMBER: _ClassVar[int]
    GPUS_FIELD_NUMBER: _ClassVar[int]
    DOWNWARDMETRICS_FIELD_NUMBER: _ClassVar[int]
    PANICDEVICES_FIELD_NUMBER: _ClassVar[int]
    FILESYSTEMS_FIELD_NUMBER: _ClassVar[int]
    HOSTDEVICES_FIELD_NUMBER: _ClassVar[int]
    CLIENTPASSTHROUGH_FIELD_NUMBER: _ClassVar[int]
    SOUND_FIELD_NUMBER: _ClassVar[int]
    VIDEO_FIELD_NUMBER: _ClassVar[int]
    disks: _containers.RepeatedCompositeFieldContainer[Disk]
    interfaces: _containers.RepeatedCompositeFieldContainer[Interface]
    autoattachSerialConsole: bool
    autoattachGraphicsDevice: bool
    autoattachMemBalloon: bool
    autoattachPodInterface: bool
    tpm: TPMDevice
    rng: Rng
    inputs: _containers.RepeatedCompositeFieldContainer[Input]
    useVirtioTransitional: bool
    disableHotplug: bool
    watchdog: Watchdog
    logSerialConsole: bool
    autoattachInputDevice: bool
    autoattachVSOCK: bool
    blockMultiQueue: bool
    networkInterfaceMultiqueue: bool
    gpus: _containers.RepeatedCompositeFieldContainer[GPU]
    downwardMetrics: DownwardMetrics
    panicDevices: _containers.RepeatedCompositeFieldContainer[PanicDevice]
    filesystems: _containers.RepeatedCompositeFieldContainer[Filesystem]
    hostDevices: _containers.RepeatedCompositeFieldContainer[HostDevice]
    clientPassthrough: ClientPassthroughDevices
    sound: SoundDevice
    video: VideoDevice
    def __init__(self, disks: _Optional[_Iterable[_Union[Disk, _Mapping]]] = ..., interfaces: _Optional[_Iterable[_Union[Interface, _Mapping]]] = ..., autoattachSerialConsole: _Optional[bool] = ..., autoattachGraphicsDevice: _Optional[bool] = ..., autoattachMemBalloon: _Optional[bool] = ..., autoattachPodInterface: _Optional[bool] = ..., tpm: _Optional[_Union[TPMDevice, _Mapping]] = ..., rng: _Optional[_Union[Rng, _Mapping]] = ..., inputs: _Optional[_Iterable[_Union[Input, _Mapping]]] = ..., useVirtioTransitional: _Optional[bool] = ..., disableHotplug: _Optional[bool] = ..., watchdog: _Optional[_Union[Watchdog, _Mapping]] = ..., logSerialConsole: _Optional[bool] = ..., autoattachInputDevice: _Optional[bool] = ..., autoattachVSOCK: _Optional[bool] = ..., blockMultiQueue: _Optional[bool] = ..., networkInterfaceMultiqueue: _Optional[bool] = ..., gpus: _Optional[_Iterable[_Union[GPU, _Mapping]]] = ..., downwardMetrics: _Optional[_Union[DownwardMetrics, _Mapping]] = ..., panicDevices: _Optional[_Iterable[_Union[PanicDevice, _Mapping]]] = ..., filesystems: _Optional[_Iterable[_Union[Filesystem, _Mapping]]] = ..., hostDevices: _Optional[_Iterable[_Union[HostDevice, _Mapping]]] = ..., clientPassthrough: _Optional[_Union[ClientPassthroughDevices, _Mapping]] = ..., sound: _Optional[_Union[SoundDevice, _Mapping]] = ..., video: _Optional[_Union[VideoDevice, _Mapping]] = ...) -> None: ...

class DiskIOThreads(_message.Message):
    __slots__ = ("supplementalPoolThreadCount",)
    SUPPLEMENTALPOOLTHREADCOUNT_FIELD_NUMBER: _ClassVar[int]
    supplementalPoolThreadCount: int
    def __init__(self, supplementalPoolThreadCount: _Optional[int] = ...) -> None: ...

class SEVPolicy(_message.Message):
    __slots__ = ("encryptedState",)
    ENCRYPTEDSTATE_FIELD_NUMBER: _ClassVar[int]
    encryptedState: bool
    def __init__(self, encryptedState: _Optional[bool] = ...) -> None: ...

class SEVAttestation(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SEV(_message.Message):
    __slots__ = ("policy", "attestation", "session", "dhCert")
    POLICY_FIELD_NUMBER: _ClassVar[int]
    ATTESTATION_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    DHCERT_FIELD_NUMBER: _ClassVar[int]
    policy: SEVPolicy
    attestation: SEVAttestation
    session: str
    dhCert: str
    def __init__(self, policy: _Optional[_Union[SEVPolicy, _Mapping]] = ..., attestation: _Optional[_Union[SEVAttestation, _Mapping]] = ..., session: _Optional[str] = ..., dhCert: _Optional[str] = ...) -> None: ...

class LaunchSecurity(_message.Message):
    __slots__ = ("sev",)
    SEV_FIELD_NUMBER: _ClassVar[int]
    sev: SEV
    def __init__(self, sev: _Optional[_Union[SEV, _Mapping]] = ...) -> None: ...

class DomainSpec(_message.Message):
    __slots__ = ("resources", "cpu", "memory", "machine", "firmware", "clock", "features", "devices", "ioThreadsPolicy", "ioThreads", "chassis", "launchSecurity")
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    CPU_FIELD_NUMBER: _ClassVar[int]
    MEMORY_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    CLOCK_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    IOTHREADSPOLICY_FIELD_NUMBER: _ClassVar[int]
    IOTHREADS_FIELD_NUMBER: _ClassVar[int]
    CHASSIS_FIELD_NUMBER: _ClassVar[int]
    LAUNCHSECURITY_FIELD_NUMBER: _ClassVar[int]
    resources: ResourceRequirements
    cpu: CPU
    memory: Memory
    machine: Machine
    firmware: Firmware
    clock: Clock
    features: Features
    devices: Devices
    ioThreadsPolicy: str
    ioThreads: DiskIOThreads
    chassis: Chassis
    launchSecurity: LaunchSecurity
    def __init__(self, resources: _Optional[_Union[ResourceRequirements, _Mapping]] = ..., cpu: _Optional[_Union[CPU, _Mapping]] = ..., memory: _Optional[_Union[Memory, _Mapping]] = ..., machine: _Optional[_Union[Machine, _Mapping]] = ..., firmware: _Optional[_Union[Firmware, _Mapping]] = ..., clock: _Optional[_Union[Clock, _Mapping]] = ..., features: _Optional[_Union[Features, _Mapping]] = ..., devices: _Optional[_Union[Devices, _Mapping]] = ..., ioThreadsPolicy: _Optional[str] = ..., ioThreads: _Optional[_Union[DiskIOThreads, _Mapping]] = ..., chassis: _Optional[_Union[Chassis, _Mapping]] = ..., launchSecurity: _Optional[_Union[LaunchSecurity, _Mapping]] = ...) -> None: ...

class ContainerDiskSource(_message.Message):
    __slots__ = ("image", "imagePullSecret", "path", "imagePullPolicy")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLSECRET_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLPOLICY_FIELD_NUMBER: _ClassVar[int]
    image: str
    imagePullSecret: str
    path: str
    imagePullPolicy: str
    def __init__(self, image: _Optional[str] = ..., imagePullSecret: _Optional[str] = ..., path: _Optional[str] = ..., imagePullPolicy: _Optional[str] = ...) -> None: ...

class HostDisk(_message.Message):
    __slots__ = ("path", "type", "capacity", "shared")
    PATH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    SHARED_FIELD_NUMBER: _ClassVar[int]
    path: str
    type: str
    capacity: str
    shared: bool
    def __init__(self, path: _Optional[str] = ..., type: _Optional[str] = ..., capacity: _Optional[str] = ..., shared: _Optional[bool] = ...) -> None: ...

class EmptyDiskSource(_message.Message):
    __slots__ = ("capacity",)
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    capacity: str
    def __init__(self, capacity: _Optional[str] = ...) -> None: ...

class PersistentVolumeClaimVolumeSource(_message.Message):
    __slots__ = ("claimName", "readOnly", "hotpluggable")
    CLAIMNAME_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    HOTPLUGGABLE_FIELD_NUMBER: _ClassVar[int]
    claimName: str
    readOnly: bool
    hotpluggable: bool
    def __init__(self, claimName: _Optional[str] = ..., readOnly: _Optional[bool] = ..., hotpluggable: _Optional[bool] = ...) -> None: ...

class DataVolumeSource(_message.Message):
    __slots__ = ("name", "hotpluggable")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOTPLUGGABLE_FIELD_NUMBER: _ClassVar[int]
    name: str
    hotpluggable: bool
    def __init__(self, name: _Optional[str] = ..., hotpluggable: _Optional[bool] = ...) -> None: ...

class CloudInitNoCloudSource(_message.Message):
    __slots__ = ("userData", "userDataBase64", "networkData", "networkDataBase64", "secretRef", "networkDataSecretRef")
    USERDATA_FIELD_NUMBER: _ClassVar[int]
    USERDATABASE64_FIELD_NUMBER: _ClassVar[int]
    NETWORKDATA_FIELD_NUMBER: _ClassVar[int]
    NETWORKDATABASE64_FIELD_NUMBER: _ClassVar[int]
    SECRETREF_FIELD_NUMBER: _ClassVar[int]
    NETWORKDATASECRETREF_FIELD_NUMBER: _ClassVar[int]
    userData: str
    userDataBase64: str
    networkData: str
    networkDataBase64: str
    secretRef: _core_pb2.LocalObjectReference
    networkDataSecretRef: _core_pb2.LocalObjectReference
    def __init__(self, userData: _Optional[str] = ..., userDataBase64: _Optional[str] = ..., networkData: _Optional[str] = ..., networkDataBase64: _Optional[str] = ..., secretRef: _Optional[_Union[_core_pb2.LocalObjectReference, _Mapping]] = ..., networkDataSecretRef: _Optional[_Union[_core_pb2.LocalObjectReference, _Mapping]] = ...) -> None: ...

class CloudInitConfigDriveSource(_message.Message):
    __slots__ = ("userData", "userDataBase64", "networkData", "networkDataBase64", "secretRef", "networkDataSecretRef")
    USERDATA_FIELD_NUMBER: _ClassVar[int]
    USERDATABASE64_FIELD_NUMBER: _ClassVar[int]
    NETWORKDATA_FIELD_NUMBER: _ClassVar[int]
    NETWORKDATABASE64_FIELD_NUMBER: _ClassVar[int]
    SECRETREF_FIELD_NUMBER: _ClassVar[int]
    NETWORKDATASECRETREF_FIELD_NUMBER: _ClassVar[int]
    userData: str
    userDataBase64: str
    networkData: str
    networkDataBase64: str
    secretRef: _core_pb2.LocalObjectReference
    networkDataSecretRef: _core_pb2.LocalObjectReference
    def __init__(self, userData: _Optional[str] = ..., userDataBase64: _Optional[str] = ..., networkData: _Optional[str] = ..., networkDataBase64: _Optional[str] = ..., secretRef: _Optional[_Union[_core_pb2.LocalObjectReference, _Mapping]] = ..., networkDataSecretRef: _Optional[_Union[_core_pb2.LocalObjectReference, _Mapping]] = ...) -> None: ...

class SysprepSource(_message.Message):
    __slots__ = ("secret", "configMap")
    SECRET_FIELD_NUMBER: _ClassVar[int]
    CONFIGMAP_FIELD_NUMBER: _ClassVar[int]
    secret: _core_pb2.LocalObjectReference
    configMap: _core_pb2.LocalObjectReference
    def __init__(self, secret: _Optional[_Union[_core_pb2.LocalObjectReference, _Mapping]] = ..., configMap: _Optional[_Union[_core_pb2.LocalObjectReference, _Mapping]] = ...) -> None: ...

class EphemeralVolumeSource(_message.Message):
    __slots__ = ("persistentVolumeClaim",)
    PERSISTENTVOLUMECLAIM_FIELD_NUMBER: _ClassVar[int]
    persistentVolumeClaim: _core_pb2.CorePersistentVolumeClaimVolumeSource
    def __init__(self, persistentVolumeClaim: _Optional[_Union[_core_pb2.CorePersistentVolumeClaimVolumeSource, _Mapping]] = ...) -> None: ...

class ConfigMapVolumeSource(_message.Message):
    __slots__ = ("name", "optional", "volumeLabel")
    NAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    VOLUMELABEL_FIELD_NUMBER: _ClassVar[int]
    name: str
    optional: bool
    volumeLabel: str
    def __init__(self, name: _Optional[str] = ..., optional: _Optional[bool] = ..., volumeLabel: _Optional[str] = ...) -> None: ...

class SecretVolumeSource(_message.Message):
    __slots__ = ("secretName", "optional", "volumeLabel")
    SECRETNAME_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_FIELD_NUMBER: _ClassVar[int]
    VOLUMELABEL_FIELD_NUMBER: _ClassVar[int]
    secretName: str
    optional: bool
    volumeLabel: str
    def __init__(self, secretName: _Optional[str] = ..., optional: _Optional[bool] = ..., volumeLabel: _Optional[str] = ...) -> None: ...

class DownwardAPIVolumeSource(_message.Message):
    __slots__ = ("fields", "volumeLabel")
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    VOLUMELABEL_FIELD_NUMBER: _ClassVar[int]
    fields: _containers.RepeatedCompositeFieldContainer[_core_pb2.DownwardAPIVolumeFile]
    volumeLabel: str
    def __init__(self, fields: _Optional[_Iterable[_Union[_core_pb2.DownwardAPIVolumeFile, _Mapping]]] = ..., volumeLabel: _Optional[str] = ...) -> None: ...

class ServiceAccountVolumeSource(_message.Message):
    __slots__ = ("serviceAccountName",)
    SERVICEACCOUNTNAME_FIELD_NUMBER: _ClassVar[int]
    serviceAccountName: str
    def __init__(self, serviceAccountName: _Optional[str] = ...) -> None: ...

class DownwardMetricsVolumeSource(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MemoryDumpVolumeSource(_message.Message):
    __slots__ = ("claimName", "readOnly", "hotpluggable")
    CLAIMNAME_FIELD_NUMBER: _ClassVar[int]
    READONLY_FIELD_NUMBER: _ClassVar[int]
    HOTPLUGGABLE_FIELD_NUMBER: _ClassVar[int]
    claimName: str
    readOnly: bool
    hotpluggable: bool
    def __init__(self, claimName: _Optional[str] = ..., readOnly: _Optional[bool] = ..., hotpluggable: _Optional[bool] = ...) -> None: ...

class Volume(_message.Message):
    __slots__ = ("name", "containerDisk", "hostDisk", "emptyDisk", "persistentVolumeClaim", "dataVolume", "cloudInitNoCloud", "cloudInitConfigDrive", "sysprep", "ephemeral", "configMap", "secret", "downwardAPI", "serviceAccount", "downwardMetrics", "memoryDump")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTAINERDISK_FIELD_NUMBER: _ClassVar[int]
    HOSTDISK_FIELD_NUMBER: _ClassVar[int]
    EMPTYDISK_FIELD_NUMBER: _ClassVar[int]
    PERSISTENTVOLUMECLAIM_FIELD_NUMBER: _ClassVar[int]
    DATAVOLUME_FIELD_NUMBER: _ClassVar[int]
    CLOUDINITNOCLOUD_FIELD_NUMBER: _ClassVar[int]
    CLOUDINITCONFIGDRIVE_FIELD_NUMBER: _ClassVar[int]
    SYSPREP_FIELD_NUMBER: _ClassVar[int]
    EPHEMERAL_FIELD_NUMBER: _ClassVar[int]
    CONFIGMAP_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    DOWNWARDAPI_FIELD_NUMBER: _ClassVar[int]
    SERVICEACCOUNT_FIELD_NUMBER: _ClassVar[int]
    DOWNWARDMETRICS_FIELD_NUMBER: _ClassVar[int]
    MEMORYDUMP_FIELD_NUMBER: _ClassVar[int]
    name: str
    containerDisk: ContainerDiskSource
    hostDisk: HostDisk
    emptyDisk: EmptyDiskSource
    persistentVolumeClaim: PersistentVolumeClaimVolumeSource
    dataVolume: DataVolumeSource
    cloudInitNoCloud: CloudInitNoCloudSource
    cloudInitConfigDrive: CloudInitConfigDriveSource
    sysprep: SysprepSource
    ephemeral: EphemeralVolumeSource
    configMap: ConfigMapVolumeSource
    secret: SecretVolumeSource
    downwardAPI: DownwardAPIVolumeSource
    serviceAccount: ServiceAccountVolumeSource
    downwardMetrics: DownwardMetricsVolumeSource
    memoryDump: MemoryDumpVolumeSource
    def __init__(self, name: _Optional[str] = ..., containerDisk: _Optional[_Union[ContainerDiskSource, _Mapping]] = ..., hostDisk: _Optional[_Union[HostDisk, _Mapping]] = ..., emptyDisk: _Optional[_Union[EmptyDiskSource, _Mapping]] = ..., persistentVolumeClaim: _Optional[_Union[PersistentVolumeClaimVolumeSource, _Mapping]] = ..., dataVolume: _Optional[_Union[DataVolumeSource, _Mapping]] = ..., cloudInitNoCloud: _Optional[_Union[CloudInitNoCloudSource, _Mapping]] = ..., cloudInitConfigDrive: _Optional[_Union[CloudInitConfigDriveSource, _Mapping]] = ..., sysprep: _Optional[_Union[SysprepSource, _Mapping]] = ..., ephemeral: _Optional[_Union[EphemeralVolumeSource, _Mapping]] = ..., configMap: _Optional[_Union[ConfigMapVolumeSource, _Mapping]] = ..., secret: _Optional[_Union[SecretVolumeSource, _Mapping]] = ..., downwardAPI: _Optional[_Union[DownwardAPIVolumeSource, _Mapping]] = ..., serviceAccount: _Optional[_Union[ServiceAccountVolumeSource, _Mapping]] = ..., downwardMetrics: _Optional[_Union[DownwardMetricsVolumeSource, _Mapping]] = ..., memoryDump: _Optional[_Union[MemoryDumpVolumeSource, _Mapping]] = ...) -> None: ...

class PodNetwork(_message.Message):
    __slots__ = ("vmNetworkCIDR", "vmIPv6NetworkCIDR")
    VMNETWORKCIDR_FIELD_NUMBER: _ClassVar[int]
    VMIPV6NETWORKCIDR_FIELD_NUMBER: _ClassVar[int]
    vmNetworkCIDR: str
    vmIPv6NetworkCIDR: str
    def __init__(self, vmNetworkCIDR: _Optional[str] = ..., vmIPv6NetworkCIDR: _Optional[str] = ...) -> None: ...

class MultusNetwork(_message.Message):
    __slots__ = ("networkName", "default")
    NETWORKNAME_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_FIELD_NUMBER: _ClassVar[int]
    networkName: str
    default: bool
    def __init__(self, networkName: _Optional[str] = ..., default: _Optional[bool] = ...) -> None: ...

class Network(_message.Message):
    __slots__ = ("name", "pod", "multus")
    NAME_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    MULTUS_FIELD_NUMBER: _ClassVar[int]
    name: str
    pod: PodNetwork
    multus: MultusNetwork
    def __init__(self, name: _Optional[str] = ..., pod: _Optional[_Union[PodNetwork, _Mapping]] = ..., multus: _Optional[_Union[MultusNetwork, _Mapping]] = ...) -> None: ...

class GuestAgentPing(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Probe(_message.Message):
    __slots__ = ("exec", "httpGet", "tcpSocket", "guestAgentPing", "initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold")
    EXEC_FIELD_NUMBER: _ClassVar[int]
    HTTPGET_FIELD_NUMBER: _ClassVar[int]
    TCPSOCKET_FIELD_NUMBER: _ClassVar[int]
    GUESTAGENTPING_FIELD_NUMBER: _ClassVar[int]
    INITIALDELAYSECONDS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTSECONDS_FIELD_NUMBER: _ClassVar[int]
    PERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSTHRESHOLD_FIELD_NUMBER: _ClassVar[int]
    FAILURETHRESHOLD_FIELD_NUMBER: _ClassVar[int]
    exec: _core_pb2.ExecAction
    httpGet: _core_pb2.HTTPGetAction
    tcpSocket: _core_pb2.TCPSocketAction
    guestAgentPing: GuestAgentPing
    initialDelaySeconds: int
    timeoutSeconds: int
    periodSeconds: int
    successThreshold: int
    failureThreshold: int
    def __init__(self, exec: _Optional[_Union[_core_pb2.ExecAction, _Mapping]] = ..., httpGet: _Optional[_Union[_core_pb2.HTTPGetAction, _Mapping]] = ..., tcpSocket: _Optional[_Union[_core_pb2.TCPSocketAction, _Mapping]] = ..., guestAgentPing: _Optional[_Union[GuestAgentPing, _Mapping]] = ..., initialDelaySeconds: _Optional[int] = ..., timeoutSeconds: _Optional[int] = ..., periodSeconds: _Optional[int] = ..., successThreshold: _Optional[int] = ..., failureThreshold: _Optional[int] = ...) -> None: ...

class AccessCredentialSecretSource(_message.Message):
    __slots__ = ("secretName",)
    SECRETNAME_FIELD_NUMBER: _ClassVar[int]
    secretName: str
    def __init__(self, secretName: _Optional[str] = ...) -> None: ...

class ConfigDriveSSHPublicKeyAccessCredentialPropagation(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class NoCloudSSHPublicKeyAccessCredentialPropagation(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class QemuGuestAgentSSHPublicKeyAccessCredentialPropagation(_message.Message):
    __slots__ = ("users",)
    USERS_FIELD_NUMBER: _ClassVar[int]
    users: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, users: _Optional[_Iterable[str]] = ...) -> None: ...

class SSHPublicKeyAccessCredentialSource(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: AccessCredentialSecretSource
    def __init__(self, secret: _Optional[_Union[AccessCredentialSecretSource, _Mapping]] = ...) -> None: ...

class SSHPublicKeyAccessCredentialPropagationMethod(_message.Message):
    __slots__ = ("configDrive", "noCloud", "qemuGuestAgent")
    CONFIGDRIVE_FIELD_NUMBER: _ClassVar[int]
    NOCLOUD_FIELD_NUMBER: _ClassVar[int]
    QEMUGUESTAGENT_FIELD_NUMBER: _ClassVar[int]
    configDrive: ConfigDriveSSHPublicKeyAccessCredentialPropagation
    noCloud: NoCloudSSHPublicKeyAccessCredentialPropagation
    qemuGuestAgent: QemuGuestAgentSSHPublicKeyAccessCredentialPropagation
    def __init__(self, configDrive: _Optional[_Union[ConfigDriveSSHPublicKeyAccessCredentialPropagation, _Mapping]] = ..., noCloud: _Optional[_Union[NoCloudSSHPublicKeyAccessCredentialPropagation, _Mapping]] = ..., qemuGuestAgent: _Optional[_Union[QemuGuestAgentSSHPublicKeyAccessCredentialPropagation, _Mapping]] = ...) -> None: ...

class SSHPublicKeyAccessCredential(_message.Message):
    __slots__ = ("source", "propagationMethod")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATIONMETHOD_FIELD_NUMBER: _ClassVar[int]
    source: SSHPublicKeyAccessCredentialSource
    propagationMethod: SSHPublicKeyAccessCredentialPropagationMethod
    def __init__(self, source: _Optional[_Union[SSHPublicKeyAccessCredentialSource, _Mapping]] = ..., propagationMethod: _Optional[_Union[SSHPublicKeyAccessCredentialPropagationMethod, _Mapping]] = ...) -> None: ...

class QemuGuestAgentUserPasswordAccessCredentialPropagation(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class UserPasswordAccessCredentialSource(_message.Message):
    __slots__ = ("secret",)
    SECRET_FIELD_NUMBER: _ClassVar[int]
    secret: AccessCredentialSecretSource
    def __init__(self, secret: _Optional[_Union[AccessCredentialSecretSource, _Mapping]] = ...) -> None: ...

class UserPasswordAccessCredentialPropagationMethod(_message.Message):
    __slots__ = ("qemuGuestAgent",)
    QEMUGUESTAGENT_FIELD_NUMBER: _ClassVar[int]
    qemuGuestAgent: QemuGuestAgentUserPasswordAccessCredentialPropagation
    def __init__(self, qemuGuestAgent: _Optional[_Union[QemuGuestAgentUserPasswordAccessCredentialPropagation, _Mapping]] = ...) -> None: ...

class UserPasswordAccessCredential(_message.Message):
    __slots__ = ("source", "propagationMethod")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PROPAGATIONMETHOD_FIELD_NUMBER: _ClassVar[int]
    source: UserPasswordAccessCredentialSource
    propagationMethod: UserPasswordAccessCredentialPropagationMethod
    def __init__(self, source: _Optional[_Union[UserPasswordAccessCredentialSource, _Mapping]] = ..., propagationMethod: _Optional[_Union[UserPasswordAccessCredentialPropagationMethod, _Mapping]] = ...) -> None: ...

class AccessCredential(_message.Message):
    __slots__ = ("sshPublicKey", "userPassword")
    SSHPUBLICKEY_FIELD_NUMBER: _ClassVar[int]
    USERPASSWORD_FIELD_NUMBER: _ClassVar[int]
    sshPublicKey: SSHPublicKeyAccessCredential
    userPassword: UserPasswordAccessCredential
    def __init__(self, sshPublicKey: _Optional[_Union[SSHPublicKeyAccessCredential, _Mapping]] = ..., userPassword: _Optional[_Union[UserPasswordAccessCredential, _Mapping]] = ...) -> None: ...

class VirtualMachineInstanceSpec(_message.Message):
    __slots__ = ("domain", "nodeSelector", "terminationGracePeriodSeconds", "volumes", "networks", "hostname", "subdomain", "evictionStrategy", "architecture", "startStrategy", "priorityClassName", "affinity", "schedulerName", "tolerations", "topologySpreadConstraints", "livenessProbe", "readinessProbe", "dnsPolicy", "dnsConfig", "accessCredentials", "resourceClaims")
    class NodeSelectorEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    NODESELECTOR_FIELD_NUMBER: _ClassVar[int]
    TERMINATIONGRACEPERIODSECONDS_FIELD_NUMBER: _ClassVar[int]
    VOLUMES_FIELD_NUMBER: _ClassVar[int]
    NETWORKS_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    SUBDOMAIN_FIELD_NUMBER: _ClassVar[int]
    EVICTIONSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    STARTSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    PRIORITYCLASSNAME_FIELD_NUMBER: _ClassVar[int]
    AFFINITY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULERNAME_FIELD_NUMBER: _ClassVar[int]
    TOLERATIONS_FIELD_NUMBER: _ClassVar[int]
    TOPOLOGYSPREADCONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    LIVENESSPROBE_FIELD_NUMBER: _ClassVar[int]
    READINESSPROBE_FIELD_NUMBER: _ClassVar[int]
    DNSPOLICY_FIELD_NUMBER: _ClassVar[int]
    DNSCONFIG_FIELD_NUMBER: _ClassVar[int]
    ACCESSCREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    RESOURCECLAIMS_FIELD_NUMBER: _ClassVar[int]
    domain: DomainSpec
    nodeSelector: _containers.ScalarMap[str, str]
    terminationGracePeriodSeconds: int
    volumes: _containers.RepeatedCompositeFieldContainer[Volume]
    networks: _containers.RepeatedCompositeFieldContainer[Network]
    hostname: str
    subdomain: str
    evictionStrategy: str
    architecture: str
    startStrategy: str
    priorityClassName: str
    affinity: _core_pb2.Affinity
    schedulerName: str
    tolerations: _containers.RepeatedCompositeFieldContainer[_core_pb2.Toleration]
    topologySpreadConstraints: _containers.RepeatedCompositeFieldContainer[_core_pb2.TopologySpreadConstraint]
    livenessProbe: Probe
    readinessProbe: Probe
    dnsPolicy: str
    dnsConfig: _core_pb2.PodDNSConfig
    accessCredentials: _containers.RepeatedCompositeFieldContainer[AccessCredential]
    resourceClaims: _containers.RepeatedCompositeFieldContainer[_core_pb2.PodResourceClaim]
    def __init__(self, domain: _Optional[_Union[DomainSpec, _Mapping]] = ..., nodeSelector: _Optional[_Mapping[str, str]] = ..., terminationGracePeriodSeconds: _Optional[int] = ..., volumes: _Optional[_Iterable[_Union[Volume, _Mapping]]] = ..., networks: _Optional[_Iterable[_Union[Network, _Mapping]]] = ..., hostname: _Optional[str] = ..., subdomain: _Optional[str] = ..., evictionStrategy: _Optional[str] = ..., architecture: _Optional[str] = ..., startStrategy: _Optional[str] = ..., priorityClassName: _Optional[str] = ..., affinity: _Optional[_Union[_core_pb2.Affinity, _Mapping]] = ..., schedulerName: _Optional[str] = ..., tolerations: _Optional[_Iterable[_Union[_core_pb2.Toleration, _Mapping]]] = ..., topologySpreadConstraints: _Optional[_Iterable[_Union[_core_pb2.TopologySpreadConstraint, _Mapping]]] = ..., livenessProbe: _Optional[_Union[Probe, _Mapping]] = ..., readinessProbe: _Optional[_Union[Probe, _Mapping]] = ..., dnsPolicy: _Optional[str] = ..., dnsConfig: _Optional[_Union[_core_pb2.PodDNSConfig, _Mapping]] = ..., accessCredentials: _Optional[_Iterable[_Union[AccessCredential, _Mapping]]] = ..., resourceClaims: _Optional[_Iterable[_Union[_core_pb2.PodResourceClaim, _Mapping]]] = ...) -> None: ...

class VirtualMachineInstancePhaseTransitionTimestamp(_message.Message):
    __slots__ = ("phase", "phaseTransitionTimestamp")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PHASETRANSITIONTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    phase: str
    phaseTransitionTimestamp: str
    def __init__(self, phase: _Optional[str] = ..., phaseTransitionTimestamp: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceNetworkInterface(_message.Message):
    __slots__ = ("name", "mac", "ipAddress", "ipAddresses", "interfaceName", "infoSource", "linkState", "podInterfaceName")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MAC_FIELD_NUMBER: _ClassVar[int]
    IPADDRESS_FIELD_NUMBER: _ClassVar[int]
    IPADDRESSES_FIELD_NUMBER: _ClassVar[int]
    INTERFACENAME_FIELD_NUMBER: _ClassVar[int]
    INFOSOURCE_FIELD_NUMBER: _ClassVar[int]
    LINKSTATE_FIELD_NUMBER: _ClassVar[int]
    PODINTERFACENAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    mac: str
    ipAddress: str
    ipAddresses: _containers.RepeatedScalarFieldContainer[str]
    interfaceName: str
    infoSource: str
    linkState: str
    podInterfaceName: str
    def __init__(self, name: _Optional[str] = ..., mac: _Optional[str] = ..., ipAddress: _Optional[str] = ..., ipAddresses: _Optional[_Iterable[str]] = ..., interfaceName: _Optional[str] = ..., infoSource: _Optional[str] = ..., linkState: _Optional[str] = ..., podInterfaceName: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceMachineStatus(_message.Message):
    __slots__ = ("type",)
    TYPE_FIELD_NUMBER: _ClassVar[int]
    type: str
    def __init__(self, type: _Optional[str] = ...) -> None: ...

class VirtualMachineInstanceStatus(_message.Message):
    __slots__ = ("phase", "conditions", "nodeName", "reason", "message", "phaseTransitionTimestamps", "interfaces", "machine", "launcherContainerImageVersion", "domainType", "containerImageIDs", "volumeStatus", "migrationState", "migrationMethod", "migrationTransport", "evacuationNodeName")
    class ContainerImageIDsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    NODENAME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PHASETRANSITIONTIMESTAMPS_FIELD_NUMBER: _ClassVar[int]
    INTERFACES_FIELD_NUMBER: _ClassVar[int]
    MACHINE_FIELD_NUMBER: _ClassVar[int]
    LAUNCHERCONTAINERIMAGEVERSION_FIELD_NUMBER: _ClassVar[int]
    DOMAINTYPE_FIELD_NUMBER: _ClassVar[int]
    CONTAINERIMAGEIDS_FIELD_NUMBER: _ClassVar[int]
    VOLUMESTATUS_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONSTATE_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONMETHOD_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONTRANSPORT_FIELD_NUMBER: _ClassVar[int]
    EVACUATIONNODENAME_FIELD_NUMBER: _ClassVar[int]
    phase: str
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    nodeName: str
    reason: str
    message: str
    phaseTransitionTimestamps: _containers.RepeatedCompositeFieldContainer[VirtualMachineInstancePhaseTransitionTimestamp]
    interfaces: _containers.RepeatedCompositeFieldContainer[VirtualMachineInstanceNetworkInterface]
    machine: VirtualMachineInstanceMachineStatus
    launcherContainerImageVersion: str
    domainType: str
    containerImageIDs: _containers.ScalarMap[str, str]
    volumeStatus: _containers.RepeatedCompositeFieldContainer[VolumeStatus]
    migrationState: _migrationstate_pb2.VirtualMachineInstanceMigrationState
    migrationMethod: str
    migrationTransport: str
    evacuationNodeName: str
    def __init__(self, phase: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., nodeName: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., phaseTransitionTimestamps: _Optional[_Iterable[_Union[VirtualMachineInstancePhaseTransitionTimestamp, _Mapping]]] = ..., interfaces: _Optional[_Iterable[_Union[VirtualMachineInstanceNetworkInterface, _Mapping]]] = ..., machine: _Optional[_Union[VirtualMachineInstanceMachineStatus, _Mapping]] = ..., launcherContainerImageVersion: _Optional[str] = ..., domainType: _Optional[str] = ..., containerImageIDs: _Optional[_Mapping[str, str]] = ..., volumeStatus: _Optional[_Iterable[_Union[VolumeStatus, _Mapping]]] = ..., migrationState: _Optional[_Union[_migrationstate_pb2.VirtualMachineInstanceMigrationState, _Mapping]] = ..., migrationMethod: _Optional[str] = ..., migrationTransport: _Optional[str] = ..., evacuationNodeName: _Optional[str] = ...) -> None: ...

class HotplugVolumeStatus(_message.Message):
    __slots__ = ("attachPodName", "attachPodUID")
    ATTACHPODNAME_FIELD_NUMBER: _ClassVar[int]
    ATTACHPODUID_FIELD_NUMBER: _ClassVar[int]
    attachPodName: str
    attachPodUID: str
    def __init__(self, attachPodName: _Optional[str] = ..., attachPodUID: _Optional[str] = ...) -> None: ...

class PersistentVolumeClaimInfo(_message.Message):
    __slots__ = ("claimName", "accessModes", "volumeMode", "capacity", "requests", "filesystemOverhead")
    class CapacityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class RequestsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CLAIMNAME_FIELD_NUMBER: _ClassVar[int]
    ACCESSMODES_FIELD_NUMBER: _ClassVar[int]
    VOLUMEMODE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    FILESYSTEMOVERHEAD_FIELD_NUMBER: _ClassVar[int]
    claimName: str
    accessModes: _containers.RepeatedScalarFieldContainer[str]
    volumeMode: str
    capacity: _containers.ScalarMap[str, str]
    requests: _containers.ScalarMap[str, str]
    filesystemOverhead: bool
    def __init__(self, claimName: _Optional[str] = ..., accessModes: _Optional[_Iterable[str]] = ..., volumeMode: _Optional[str] = ..., capacity: _Optional[_Mapping[str, str]] = ..., requests: _Optional[_Mapping[str, str]] = ..., filesystemOverhead: _Optional[bool] = ...) -> None: ...

class VolumeStatus(_message.Message):
    __slots__ = ("name", "target", "phase", "reason", "message", "persistentVolumeClaimInfo", "hotplugVolume", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    PHASE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PERSISTENTVOLUMECLAIMINFO_FIELD_NUMBER: _ClassVar[int]
    HOTPLUGVOLUME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    phase: str
    reason: str
    message: str
    persistentVolumeClaimInfo: PersistentVolumeClaimInfo
    hotplugVolume: HotplugVolumeStatus
    size: int
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., phase: _Optional[str] = ..., reason: _Optional[str] = ..., message: _Optional[str] = ..., persistentVolumeClaimInfo: _Optional[_Union[PersistentVolumeClaimInfo, _Mapping]] = ..., hotplugVolume: _Optional[_Union[HotplugVolumeStatus, _Mapping]] = ..., size: _Optional[int] = ...) -> None: ...

class VirtualMachineInstance(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: VirtualMachineInstanceSpec
    status: VirtualMachineInstanceStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstanceSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineInstanceStatus, _Mapping]] = ...) -> None: ...

class VirtualMachineInstanceTemplateSpec(_message.Message):
    __slots__ = ("metadata", "spec")
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    metadata: ObjectMeta
    spec: VirtualMachineInstanceSpec
    def __init__(self, metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineInstanceSpec, _Mapping]] = ...) -> None: ...

class InstancetypeMatcher(_message.Message):
    __slots__ = ("name", "kind", "revisionName", "inferFromVolume", "inferFromVolumeFailurePolicy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REVISIONNAME_FIELD_NUMBER: _ClassVar[int]
    INFERFROMVOLUME_FIELD_NUMBER: _ClassVar[int]
    INFERFROMVOLUMEFAILUREPOLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    revisionName: str
    inferFromVolume: str
    inferFromVolumeFailurePolicy: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., revisionName: _Optional[str] = ..., inferFromVolume: _Optional[str] = ..., inferFromVolumeFailurePolicy: _Optional[str] = ...) -> None: ...

class PreferenceMatcher(_message.Message):
    __slots__ = ("name", "kind", "revisionName", "inferFromVolume", "inferFromVolumeFailurePolicy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REVISIONNAME_FIELD_NUMBER: _ClassVar[int]
    INFERFROMVOLUME_FIELD_NUMBER: _ClassVar[int]
    INFERFROMVOLUMEFAILUREPOLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    revisionName: str
    inferFromVolume: str
    inferFromVolumeFailurePolicy: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., revisionName: _Optional[str] = ..., inferFromVolume: _Optional[str] = ..., inferFromVolumeFailurePolicy: _Optional[str] = ...) -> None: ...

class ControllerRevisionRef(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class InstancetypeStatusRef(_message.Message):
    __slots__ = ("name", "kind", "controllerRevisionRef", "inferFromVolume", "inferFromVolumeFailurePolicy")
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    CONTROLLERREVISIONREF_FIELD_NUMBER: _ClassVar[int]
    INFERFROMVOLUME_FIELD_NUMBER: _ClassVar[int]
    INFERFROMVOLUMEFAILUREPOLICY_FIELD_NUMBER: _ClassVar[int]
    name: str
    kind: str
    controllerRevisionRef: ControllerRevisionRef
    inferFromVolume: str
    inferFromVolumeFailurePolicy: str
    def __init__(self, name: _Optional[str] = ..., kind: _Optional[str] = ..., controllerRevisionRef: _Optional[_Union[ControllerRevisionRef, _Mapping]] = ..., inferFromVolume: _Optional[str] = ..., inferFromVolumeFailurePolicy: _Optional[str] = ...) -> None: ...

class VirtualMachineSpec(_message.Message):
    __slots__ = ("running", "runStrategy", "template", "instancetype", "preference", "dataVolumeTemplates", "updateVolumesStrategy")
    RUNNING_FIELD_NUMBER: _ClassVar[int]
    RUNSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    INSTANCETYPE_FIELD_NUMBER: _ClassVar[int]
    PREFERENCE_FIELD_NUMBER: _ClassVar[int]
    DATAVOLUMETEMPLATES_FIELD_NUMBER: _ClassVar[int]
    UPDATEVOLUMESSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    running: bool
    runStrategy: str
    template: VirtualMachineInstanceTemplateSpec
    instancetype: InstancetypeMatcher
    preference: PreferenceMatcher
    dataVolumeTemplates: _containers.RepeatedCompositeFieldContainer[DataVolumeTemplateSpec]
    updateVolumesStrategy: str
    def __init__(self, running: _Optional[bool] = ..., runStrategy: _Optional[str] = ..., template: _Optional[_Union[VirtualMachineInstanceTemplateSpec, _Mapping]] = ..., instancetype: _Optional[_Union[InstancetypeMatcher, _Mapping]] = ..., preference: _Optional[_Union[PreferenceMatcher, _Mapping]] = ..., dataVolumeTemplates: _Optional[_Iterable[_Union[DataVolumeTemplateSpec, _Mapping]]] = ..., updateVolumesStrategy: _Optional[str] = ...) -> None: ...

class DataVolumeTemplateSpec(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: DataVolumeSpec
    status: DataVolumeTemplateDummyStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[DataVolumeSpec, _Mapping]] = ..., status: _Optional[_Union[DataVolumeTemplateDummyStatus, _Mapping]] = ...) -> None: ...

class DataVolumeTemplateDummyStatus(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VirtualMachineStateChangeRequest(_message.Message):
    __slots__ = ("action", "data", "uid")
    class DataEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    UID_FIELD_NUMBER: _ClassVar[int]
    action: str
    data: _containers.ScalarMap[str, str]
    uid: str
    def __init__(self, action: _Optional[str] = ..., data: _Optional[_Mapping[str, str]] = ..., uid: _Optional[str] = ...) -> None: ...

class VirtualMachineStartFailure(_message.Message):
    __slots__ = ("consecutiveFailCount", "lastFailedVMIUID", "retryAfterTimestamp")
    CONSECUTIVEFAILCOUNT_FIELD_NUMBER: _ClassVar[int]
    LASTFAILEDVMIUID_FIELD_NUMBER: _ClassVar[int]
    RETRYAFTERTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    consecutiveFailCount: int
    lastFailedVMIUID: str
    retryAfterTimestamp: str
    def __init__(self, consecutiveFailCount: _Optional[int] = ..., lastFailedVMIUID: _Optional[str] = ..., retryAfterTimestamp: _Optional[str] = ...) -> None: ...

class VirtualMachineStatus(_message.Message):
    __slots__ = ("printableStatus", "created", "ready", "conditions", "stateChangeRequests", "startFailure", "observedGeneration", "desiredGeneration", "runStrategy", "instancetypeRef", "preferenceRef", "volumeRequests")
    PRINTABLESTATUS_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    READY_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    STATECHANGEREQUESTS_FIELD_NUMBER: _ClassVar[int]
    STARTFAILURE_FIELD_NUMBER: _ClassVar[int]
    OBSERVEDGENERATION_FIELD_NUMBER: _ClassVar[int]
    DESIREDGENERATION_FIELD_NUMBER: _ClassVar[int]
    RUNSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    INSTANCETYPEREF_FIELD_NUMBER: _ClassVar[int]
    PREFERENCEREF_FIELD_NUMBER: _ClassVar[int]
    VOLUMEREQUESTS_FIELD_NUMBER: _ClassVar[int]
    printableStatus: str
    created: bool
    ready: bool
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    stateChangeRequests: _containers.RepeatedCompositeFieldContainer[VirtualMachineStateChangeRequest]
    startFailure: VirtualMachineStartFailure
    observedGeneration: int
    desiredGeneration: int
    runStrategy: str
    instancetypeRef: InstancetypeStatusRef
    preferenceRef: InstancetypeStatusRef
    volumeRequests: _containers.RepeatedCompositeFieldContainer[VirtualMachineVolumeRequest]
    def __init__(self, printableStatus: _Optional[str] = ..., created: _Optional[bool] = ..., ready: _Optional[bool] = ..., conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., stateChangeRequests: _Optional[_Iterable[_Union[VirtualMachineStateChangeRequest, _Mapping]]] = ..., startFailure: _Optional[_Union[VirtualMachineStartFailure, _Mapping]] = ..., observedGeneration: _Optional[int] = ..., desiredGeneration: _Optional[int] = ..., runStrategy: _Optional[str] = ..., instancetypeRef: _Optional[_Union[InstancetypeStatusRef, _Mapping]] = ..., preferenceRef: _Optional[_Union[InstancetypeStatusRef, _Mapping]] = ..., volumeRequests: _Optional[_Iterable[_Union[VirtualMachineVolumeRequest, _Mapping]]] = ...) -> None: ...

class HotplugVolumeSource(_message.Message):
    __slots__ = ("persistentVolumeClaim", "dataVolume")
    PERSISTENTVOLUMECLAIM_FIELD_NUMBER: _ClassVar[int]
    DATAVOLUME_FIELD_NUMBER: _ClassVar[int]
    persistentVolumeClaim: PersistentVolumeClaimVolumeSource
    dataVolume: DataVolumeSource
    def __init__(self, persistentVolumeClaim: _Optional[_Union[PersistentVolumeClaimVolumeSource, _Mapping]] = ..., dataVolume: _Optional[_Union[DataVolumeSource, _Mapping]] = ...) -> None: ...

class AddVolumeOptions(_message.Message):
    __slots__ = ("name", "disk", "volumeSource", "dryRun")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DISK_FIELD_NUMBER: _ClassVar[int]
    VOLUMESOURCE_FIELD_NUMBER: _ClassVar[int]
    DRYRUN_FIELD_NUMBER: _ClassVar[int]
    name: str
    disk: Disk
    volumeSource: HotplugVolumeSource
    dryRun: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., disk: _Optional[_Union[Disk, _Mapping]] = ..., volumeSource: _Optional[_Union[HotplugVolumeSource, _Mapping]] = ..., dryRun: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveVolumeOptions(_message.Message):
    __slots__ = ("name", "dryRun")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DRYRUN_FIELD_NUMBER: _ClassVar[int]
    name: str
    dryRun: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., dryRun: _Optional[_Iterable[str]] = ...) -> None: ...

class VirtualMachineVolumeRequest(_message.Message):
    __slots__ = ("addVolumeOptions", "removeVolumeOptions")
    ADDVOLUMEOPTIONS_FIELD_NUMBER: _ClassVar[int]
    REMOVEVOLUMEOPTIONS_FIELD_NUMBER: _ClassVar[int]
    addVolumeOptions: AddVolumeOptions
    removeVolumeOptions: RemoveVolumeOptions
    def __init__(self, addVolumeOptions: _Optional[_Union[AddVolumeOptions, _Mapping]] = ..., removeVolumeOptions: _Optional[_Union[RemoveVolumeOptions, _Mapping]] = ...) -> None: ...

class VirtualMachine(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: VirtualMachineSpec
    status: VirtualMachineStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[VirtualMachineSpec, _Mapping]] = ..., status: _Optional[_Union[VirtualMachineStatus, _Mapping]] = ...) -> None: ...

class NodeSpec(_message.Message):
    __slots__ = ("unschedulable", "taints", "podCIDR", "podCIDRs")
    UNSCHEDULABLE_FIELD_NUMBER: _ClassVar[int]
    TAINTS_FIELD_NUMBER: _ClassVar[int]
    PODCIDR_FIELD_NUMBER: _ClassVar[int]
    PODCIDRS_FIELD_NUMBER: _ClassVar[int]
    unschedulable: bool
    taints: _containers.RepeatedCompositeFieldContainer[_core_pb2.Taint]
    podCIDR: str
    podCIDRs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, unschedulable: _Optional[bool] = ..., taints: _Optional[_Iterable[_Union[_core_pb2.Taint, _Mapping]]] = ..., podCIDR: _Optional[str] = ..., podCIDRs: _Optional[_Iterable[str]] = ...) -> None: ...

class NodeSystemInfo(_message.Message):
    __slots__ = ("architecture", "kernelVersion", "operatingSystem", "osImage")
    ARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    KERNELVERSION_FIELD_NUMBER: _ClassVar[int]
    OPERATINGSYSTEM_FIELD_NUMBER: _ClassVar[int]
    OSIMAGE_FIELD_NUMBER: _ClassVar[int]
    architecture: str
    kernelVersion: str
    operatingSystem: str
    osImage: str
    def __init__(self, architecture: _Optional[str] = ..., kernelVersion: _Optional[str] = ..., operatingSystem: _Optional[str] = ..., osImage: _Optional[str] = ...) -> None: ...

class NodeAddress(_message.Message):
    __slots__ = ("type", "address")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    type: str
    address: str
    def __init__(self, type: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class NodeStatus(_message.Message):
    __slots__ = ("capacity", "allocatable", "conditions", "nodeInfo", "addresses")
    class CapacityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class AllocatableEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    ALLOCATABLE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    NODEINFO_FIELD_NUMBER: _ClassVar[int]
    ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    capacity: _containers.ScalarMap[str, str]
    allocatable: _containers.ScalarMap[str, str]
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    nodeInfo: NodeSystemInfo
    addresses: _containers.RepeatedCompositeFieldContainer[NodeAddress]
    def __init__(self, capacity: _Optional[_Mapping[str, str]] = ..., allocatable: _Optional[_Mapping[str, str]] = ..., conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., nodeInfo: _Optional[_Union[NodeSystemInfo, _Mapping]] = ..., addresses: _Optional[_Iterable[_Union[NodeAddress, _Mapping]]] = ...) -> None: ...

class Node(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: NodeSpec
    status: NodeStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[NodeSpec, _Mapping]] = ..., status: _Optional[_Union[NodeStatus, _Mapping]] = ...) -> None: ...

class PersistentVolumeClaimSpec(_message.Message):
    __slots__ = ("accessModes", "resources", "storageClassName", "volumeMode", "volumeName")
    ACCESSMODES_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    STORAGECLASSNAME_FIELD_NUMBER: _ClassVar[int]
    VOLUMEMODE_FIELD_NUMBER: _ClassVar[int]
    VOLUMENAME_FIELD_NUMBER: _ClassVar[int]
    accessModes: _containers.RepeatedScalarFieldContainer[str]
    resources: ResourceRequirements
    storageClassName: str
    volumeMode: str
    volumeName: str
    def __init__(self, accessModes: _Optional[_Iterable[str]] = ..., resources: _Optional[_Union[ResourceRequirements, _Mapping]] = ..., storageClassName: _Optional[str] = ..., volumeMode: _Optional[str] = ..., volumeName: _Optional[str] = ...) -> None: ...

class PersistentVolumeClaimStatus(_message.Message):
    __slots__ = ("phase", "accessModes", "capacity")
    class CapacityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    PHASE_FIELD_NUMBER: _ClassVar[int]
    ACCESSMODES_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    phase: str
    accessModes: _containers.RepeatedScalarFieldContainer[str]
    capacity: _containers.ScalarMap[str, str]
    def __init__(self, phase: _Optional[str] = ..., accessModes: _Optional[_Iterable[str]] = ..., capacity: _Optional[_Mapping[str, str]] = ...) -> None: ...

class PersistentVolumeClaim(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: PersistentVolumeClaimSpec
    status: PersistentVolumeClaimStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[PersistentVolumeClaimSpec, _Mapping]] = ..., status: _Optional[_Union[PersistentVolumeClaimStatus, _Mapping]] = ...) -> None: ...

class DataVolumeSourceHTTP(_message.Message):
    __slots__ = ("url",)
    URL_FIELD_NUMBER: _ClassVar[int]
    url: str
    def __init__(self, url: _Optional[str] = ...) -> None: ...

class DataVolumeBlankImage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DataVolumeSourcePVC(_message.Message):
    __slots__ = ("namespace", "name")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    namespace: str
    name: str
    def __init__(self, namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class DataVolumeSpecSource(_message.Message):
    __slots__ = ("http", "blank", "pvc")
    HTTP_FIELD_NUMBER: _ClassVar[int]
    BLANK_FIELD_NUMBER: _ClassVar[int]
    PVC_FIELD_NUMBER: _ClassVar[int]
    http: DataVolumeSourceHTTP
    blank: DataVolumeBlankImage
    pvc: DataVolumeSourcePVC
    def __init__(self, http: _Optional[_Union[DataVolumeSourceHTTP, _Mapping]] = ..., blank: _Optional[_Union[DataVolumeBlankImage, _Mapping]] = ..., pvc: _Optional[_Union[DataVolumeSourcePVC, _Mapping]] = ...) -> None: ...

class DataVolumeSpec(_message.Message):
    __slots__ = ("source", "pvc", "storage", "contentType")
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PVC_FIELD_NUMBER: _ClassVar[int]
    STORAGE_FIELD_NUMBER: _ClassVar[int]
    CONTENTTYPE_FIELD_NUMBER: _ClassVar[int]
    source: DataVolumeSpecSource
    pvc: PersistentVolumeClaimSpec
    storage: PersistentVolumeClaimSpec
    contentType: str
    def __init__(self, source: _Optional[_Union[DataVolumeSpecSource, _Mapping]] = ..., pvc: _Optional[_Union[PersistentVolumeClaimSpec, _Mapping]] = ..., storage: _Optional[_Union[PersistentVolumeClaimSpec, _Mapping]] = ..., contentType: _Optional[str] = ...) -> None: ...

class DataVolumeStatus(_message.Message):
    __slots__ = ("phase", "progress", "claimName", "conditions", "restartCount")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    CLAIMNAME_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    RESTARTCOUNT_FIELD_NUMBER: _ClassVar[int]
    phase: str
    progress: str
    claimName: str
    conditions: _containers.RepeatedCompositeFieldContainer[Condition]
    restartCount: int
    def __init__(self, phase: _Optional[str] = ..., progress: _Optional[str] = ..., claimName: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., restartCount: _Optional[int] = ...) -> None: ...

class DataVolume(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: ObjectMeta
    spec: DataVolumeSpec
    status: DataVolumeStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[DataVolumeSpec, _Mapping]] = ..., status: _Optional[_Union[DataVolumeStatus, _Mapping]] = ...) -> None: ...
