from services._proto.kubevirt.v1 import core_pb2 as _core_pb2
from services._proto.kubevirt.v1 import migrationstate_pb2 as _migrationstate_pb2
from services._proto.kubevirt.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CertConfig(_message.Message):
    __slots__ = ("duration", "renewBefore")
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RENEWBEFORE_FIELD_NUMBER: _ClassVar[int]
    duration: str
    renewBefore: str
    def __init__(self, duration: _Optional[str] = ..., renewBefore: _Optional[str] = ...) -> None: ...

class KubeVirtSelfSignConfiguration(_message.Message):
    __slots__ = ("caRotateInterval", "certRotateInterval", "caOverlapInterval", "ca", "server")
    CAROTATEINTERVAL_FIELD_NUMBER: _ClassVar[int]
    CERTROTATEINTERVAL_FIELD_NUMBER: _ClassVar[int]
    CAOVERLAPINTERVAL_FIELD_NUMBER: _ClassVar[int]
    CA_FIELD_NUMBER: _ClassVar[int]
    SERVER_FIELD_NUMBER: _ClassVar[int]
    caRotateInterval: str
    certRotateInterval: str
    caOverlapInterval: str
    ca: CertConfig
    server: CertConfig
    def __init__(self, caRotateInterval: _Optional[str] = ..., certRotateInterval: _Optional[str] = ..., caOverlapInterval: _Optional[str] = ..., ca: _Optional[_Union[CertConfig, _Mapping]] = ..., server: _Optional[_Union[CertConfig, _Mapping]] = ...) -> None: ...

class KubeVirtCertificateRotateStrategy(_message.Message):
    __slots__ = ("selfSigned",)
    SELFSIGNED_FIELD_NUMBER: _ClassVar[int]
    selfSigned: KubeVirtSelfSignConfiguration
    def __init__(self, selfSigned: _Optional[_Union[KubeVirtSelfSignConfiguration, _Mapping]] = ...) -> None: ...

class KubeVirtWorkloadUpdateStrategy(_message.Message):
    __slots__ = ("workloadUpdateMethods", "batchEvictionSize", "batchEvictionInterval")
    WORKLOADUPDATEMETHODS_FIELD_NUMBER: _ClassVar[int]
    BATCHEVICTIONSIZE_FIELD_NUMBER: _ClassVar[int]
    BATCHEVICTIONINTERVAL_FIELD_NUMBER: _ClassVar[int]
    workloadUpdateMethods: _containers.RepeatedScalarFieldContainer[str]
    batchEvictionSize: int
    batchEvictionInterval: str
    def __init__(self, workloadUpdateMethods: _Optional[_Iterable[str]] = ..., batchEvictionSize: _Optional[int] = ..., batchEvictionInterval: _Optional[str] = ...) -> None: ...

class CustomizeComponentsPatch(_message.Message):
    __slots__ = ("resourceName", "resourceType", "patch", "type")
    RESOURCENAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCETYPE_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    resourceName: str
    resourceType: str
    patch: str
    type: str
    def __init__(self, resourceName: _Optional[str] = ..., resourceType: _Optional[str] = ..., patch: _Optional[str] = ..., type: _Optional[str] = ...) -> None: ...

class Flags(_message.Message):
    __slots__ = ("api", "controller", "handler")
    class ApiEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class ControllerEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class HandlerEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    API_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_FIELD_NUMBER: _ClassVar[int]
    HANDLER_FIELD_NUMBER: _ClassVar[int]
    api: _containers.ScalarMap[str, str]
    controller: _containers.ScalarMap[str, str]
    handler: _containers.ScalarMap[str, str]
    def __init__(self, api: _Optional[_Mapping[str, str]] = ..., controller: _Optional[_Mapping[str, str]] = ..., handler: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CustomizeComponents(_message.Message):
    __slots__ = ("patches", "flags")
    PATCHES_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    patches: _containers.RepeatedCompositeFieldContainer[CustomizeComponentsPatch]
    flags: Flags
    def __init__(self, patches: _Optional[_Iterable[_Union[CustomizeComponentsPatch, _Mapping]]] = ..., flags: _Optional[_Union[Flags, _Mapping]] = ...) -> None: ...

class DiskVerification(_message.Message):
    __slots__ = ("memoryLimit",)
    MEMORYLIMIT_FIELD_NUMBER: _ClassVar[int]
    memoryLimit: str
    def __init__(self, memoryLimit: _Optional[str] = ...) -> None: ...

class LogVerbosity(_message.Message):
    __slots__ = ("virtAPI", "virtController", "virtHandler", "virtLauncher", "virtOperator", "nodeVerbosity")
    class NodeVerbosityEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    VIRTAPI_FIELD_NUMBER: _ClassVar[int]
    VIRTCONTROLLER_FIELD_NUMBER: _ClassVar[int]
    VIRTHANDLER_FIELD_NUMBER: _ClassVar[int]
    VIRTLAUNCHER_FIELD_NUMBER: _ClassVar[int]
    VIRTOPERATOR_FIELD_NUMBER: _ClassVar[int]
    NODEVERBOSITY_FIELD_NUMBER: _ClassVar[int]
    virtAPI: int
    virtController: int
    virtHandler: int
    virtLauncher: int
    virtOperator: int
    nodeVerbosity: _containers.ScalarMap[str, int]
    def __init__(self, virtAPI: _Optional[int] = ..., virtController: _Optional[int] = ..., virtHandler: _Optional[int] = ..., virtLauncher: _Optional[int] = ..., virtOperator: _Optional[int] = ..., nodeVerbosity: _Optional[_Mapping[str, int]] = ...) -> None: ...

class DeveloperConfiguration(_message.Message):
    __slots__ = ("featureGates", "pvcTolerateLessSpaceUpToPercent", "minimumReservePVCBytes", "memoryOvercommit", "nodeSelectors", "useEmulation", "cpuAllocationRatio", "minimumClusterTSCFrequency", "diskVerification", "logVerbosity", "clusterProfiler")
    class NodeSelectorsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FEATUREGATES_FIELD_NUMBER: _ClassVar[int]
    PVCTOLERATELESSSPACEUPTOPERCENT_FIELD_NUMBER: _ClassVar[int]
    MINIMUMRESERVEPVCBYTES_FIELD_NUMBER: _ClassVar[int]
    MEMORYOVERCOMMIT_FIELD_NUMBER: _ClassVar[int]
    NODESELECTORS_FIELD_NUMBER: _ClassVar[int]
    USEEMULATION_FIELD_NUMBER: _ClassVar[int]
    CPUALLOCATIONRATIO_FIELD_NUMBER: _ClassVar[int]
    MINIMUMCLUSTERTSCFREQUENCY_FIELD_NUMBER: _ClassVar[int]
    DISKVERIFICATION_FIELD_NUMBER: _ClassVar[int]
    LOGVERBOSITY_FIELD_NUMBER: _ClassVar[int]
    CLUSTERPROFILER_FIELD_NUMBER: _ClassVar[int]
    featureGates: _containers.RepeatedScalarFieldContainer[str]
    pvcTolerateLessSpaceUpToPercent: int
    minimumReservePVCBytes: int
    memoryOvercommit: int
    nodeSelectors: _containers.ScalarMap[str, str]
    useEmulation: bool
    cpuAllocationRatio: int
    minimumClusterTSCFrequency: int
    diskVerification: DiskVerification
    logVerbosity: LogVerbosity
    clusterProfiler: bool
    def __init__(self, featureGates: _Optional[_Iterable[str]] = ..., pvcTolerateLessSpaceUpToPercent: _Optional[int] = ..., minimumReservePVCBytes: _Optional[int] = ..., memoryOvercommit: _Optional[int] = ..., nodeSelectors: _Optional[_Mapping[str, str]] = ..., useEmulation: _Optional[bool] = ..., cpuAllocationRatio: _Optional[int] = ..., minimumClusterTSCFrequency: _Optional[int] = ..., diskVerification: _Optional[_Union[DiskVerification, _Mapping]] = ..., logVerbosity: _Optional[_Union[LogVerbosity, _Mapping]] = ..., clusterProfiler: _Optional[bool] = ...) -> None: ...

class NetworkConfiguration(_message.Message):
    __slots__ = ("defaultNetworkInterface", "permitSlirpInterface", "permitBridgeInterfaceOnPodNetwork")
    DEFAULTNETWORKINTERFACE_FIELD_NUMBER: _ClassVar[int]
    PERMITSLIRPINTERFACE_FIELD_NUMBER: _ClassVar[int]
    PERMITBRIDGEINTERFACEONPODNETWORK_FIELD_NUMBER: _ClassVar[int]
    defaultNetworkInterface: str
    permitSlirpInterface: bool
    permitBridgeInterfaceOnPodNetwork: bool
    def __init__(self, defaultNetworkInterface: _Optional[str] = ..., permitSlirpInterface: _Optional[bool] = ..., permitBridgeInterfaceOnPodNetwork: _Optional[bool] = ...) -> None: ...

class SMBiosConfiguration(_message.Message):
    __slots__ = ("manufacturer", "product", "version", "sku", "family")
    MANUFACTURER_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    manufacturer: str
    product: str
    version: str
    sku: str
    family: str
    def __init__(self, manufacturer: _Optional[str] = ..., product: _Optional[str] = ..., version: _Optional[str] = ..., sku: _Optional[str] = ..., family: _Optional[str] = ...) -> None: ...

class InstancetypeConfiguration(_message.Message):
    __slots__ = ("referencePolicy",)
    REFERENCEPOLICY_FIELD_NUMBER: _ClassVar[int]
    referencePolicy: str
    def __init__(self, referencePolicy: _Optional[str] = ...) -> None: ...

class CommonInstancetypesDeployment(_message.Message):
    __slots__ = ("enabled",)
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    enabled: bool
    def __init__(self, enabled: _Optional[bool] = ...) -> None: ...

class LiveUpdateConfiguration(_message.Message):
    __slots__ = ("maxHotplugRatio", "maxCpuSockets", "maxGuest")
    MAXHOTPLUGRATIO_FIELD_NUMBER: _ClassVar[int]
    MAXCPUSOCKETS_FIELD_NUMBER: _ClassVar[int]
    MAXGUEST_FIELD_NUMBER: _ClassVar[int]
    maxHotplugRatio: int
    maxCpuSockets: int
    maxGuest: str
    def __init__(self, maxHotplugRatio: _Optional[int] = ..., maxCpuSockets: _Optional[int] = ..., maxGuest: _Optional[str] = ...) -> None: ...

class DisableFreePageReporting(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DisableSerialConsoleLog(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class VirtualMachineOptions(_message.Message):
    __slots__ = ("disableFreePageReporting", "disableSerialConsoleLog")
    DISABLEFREEPAGEREPORTING_FIELD_NUMBER: _ClassVar[int]
    DISABLESERIALCONSOLELOG_FIELD_NUMBER: _ClassVar[int]
    disableFreePageReporting: DisableFreePageReporting
    disableSerialConsoleLog: DisableSerialConsoleLog
    def __init__(self, disableFreePageReporting: _Optional[_Union[DisableFreePageReporting, _Mapping]] = ..., disableSerialConsoleLog: _Optional[_Union[DisableSerialConsoleLog, _Mapping]] = ...) -> None: ...

class KubeVirtConfiguration(_message.Message):
    __slots__ = ("cpuModel", "cpuRequest", "developerConfiguration", "emulatedMachines", "imagePullPolicy", "migrations", "machineType", "network", "ovmfPath", "selinuxLauncherType", "defaultRuntimeClass", "smbios", "evictionStrategy", "additionalGuestMemoryOverheadRatio", "supportedGuestAgentVersions", "memBalloonStatsPeriod", "minCPUModel", "obsoleteCPUModels", "virtualMachineInstancesPerNode", "vmStateStorageClass", "virtualMachineOptions", "liveUpdateConfiguration", "vmRolloutStrategy", "commonInstancetypesDeployment", "instancetype")
    class ObsoleteCPUModelsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: bool
        def __init__(self, key: _Optional[str] = ..., value: _Optional[bool] = ...) -> None: ...
    CPUMODEL_FIELD_NUMBER: _ClassVar[int]
    CPUREQUEST_FIELD_NUMBER: _ClassVar[int]
    DEVELOPERCONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    EMULATEDMACHINES_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLPOLICY_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    MACHINETYPE_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    OVMFPATH_FIELD_NUMBER: _ClassVar[int]
    SELINUXLAUNCHERTYPE_FIELD_NUMBER: _ClassVar[int]
    DEFAULTRUNTIMECLASS_FIELD_NUMBER: _ClassVar[int]
    SMBIOS_FIELD_NUMBER: _ClassVar[int]
    EVICTIONSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    ADDITIONALGUESTMEMORYOVERHEADRATIO_FIELD_NUMBER: _ClassVar[int]
    SUPPORTEDGUESTAGENTVERSIONS_FIELD_NUMBER: _ClassVar[int]
    MEMBALLOONSTATSPERIOD_FIELD_NUMBER: _ClassVar[int]
    MINCPUMODEL_FIELD_NUMBER: _ClassVar[int]
    OBSOLETECPUMODELS_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEINSTANCESPERNODE_FIELD_NUMBER: _ClassVar[int]
    VMSTATESTORAGECLASS_FIELD_NUMBER: _ClassVar[int]
    VIRTUALMACHINEOPTIONS_FIELD_NUMBER: _ClassVar[int]
    LIVEUPDATECONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    VMROLLOUTSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    COMMONINSTANCETYPESDEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    INSTANCETYPE_FIELD_NUMBER: _ClassVar[int]
    cpuModel: str
    cpuRequest: str
    developerConfiguration: DeveloperConfiguration
    emulatedMachines: _containers.RepeatedScalarFieldContainer[str]
    imagePullPolicy: str
    migrations: _migrationstate_pb2.MigrationConfiguration
    machineType: str
    network: NetworkConfiguration
    ovmfPath: str
    selinuxLauncherType: str
    defaultRuntimeClass: str
    smbios: SMBiosConfiguration
    evictionStrategy: str
    additionalGuestMemoryOverheadRatio: str
    supportedGuestAgentVersions: _containers.RepeatedScalarFieldContainer[str]
    memBalloonStatsPeriod: int
    minCPUModel: str
    obsoleteCPUModels: _containers.ScalarMap[str, bool]
    virtualMachineInstancesPerNode: int
    vmStateStorageClass: str
    virtualMachineOptions: VirtualMachineOptions
    liveUpdateConfiguration: LiveUpdateConfiguration
    vmRolloutStrategy: str
    commonInstancetypesDeployment: CommonInstancetypesDeployment
    instancetype: InstancetypeConfiguration
    def __init__(self, cpuModel: _Optional[str] = ..., cpuRequest: _Optional[str] = ..., developerConfiguration: _Optional[_Union[DeveloperConfiguration, _Mapping]] = ..., emulatedMachines: _Optional[_Iterable[str]] = ..., imagePullPolicy: _Optional[str] = ..., migrations: _Optional[_Union[_migrationstate_pb2.MigrationConfiguration, _Mapping]] = ..., machineType: _Optional[str] = ..., network: _Optional[_Union[NetworkConfiguration, _Mapping]] = ..., ovmfPath: _Optional[str] = ..., selinuxLauncherType: _Optional[str] = ..., defaultRuntimeClass: _Optional[str] = ..., smbios: _Optional[_Union[SMBiosConfiguration, _Mapping]] = ..., evictionStrategy: _Optional[str] = ..., additionalGuestMemoryOverheadRatio: _Optional[str] = ..., supportedGuestAgentVersions: _Optional[_Iterable[str]] = ..., memBalloonStatsPeriod: _Optional[int] = ..., minCPUModel: _Optional[str] = ..., obsoleteCPUModels: _Optional[_Mapping[str, bool]] = ..., virtualMachineInstancesPerNode: _Optional[int] = ..., vmStateStorageClass: _Optional[str] = ..., virtualMachineOptions: _Optional[_Union[VirtualMachineOptions, _Mapping]] = ..., liveUpdateConfiguration: _Optional[_Union[LiveUpdateConfiguration, _Mapping]] = ..., vmRolloutStrategy: _Optional[str] = ..., commonInstancetypesDeployment: _Optional[_Union[CommonInstancetypesDeployment, _Mapping]] = ..., instancetype: _Optional[_Union[InstancetypeConfiguration, _Mapping]] = ...) -> None: ...

class KubeVirtSpec(_message.Message):
    __slots__ = ("imageTag", "imageRegistry", "imagePullPolicy", "imagePullSecrets", "monitorNamespace", "serviceMonitorNamespace", "monitorAccount", "workloadUpdateStrategy", "uninstallStrategy", "certificateRotateStrategy", "productVersion", "productName", "productComponent", "configuration", "customizeComponents")
    IMAGETAG_FIELD_NUMBER: _ClassVar[int]
    IMAGEREGISTRY_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLPOLICY_FIELD_NUMBER: _ClassVar[int]
    IMAGEPULLSECRETS_FIELD_NUMBER: _ClassVar[int]
    MONITORNAMESPACE_FIELD_NUMBER: _ClassVar[int]
    SERVICEMONITORNAMESPACE_FIELD_NUMBER: _ClassVar[int]
    MONITORACCOUNT_FIELD_NUMBER: _ClassVar[int]
    WORKLOADUPDATESTRATEGY_FIELD_NUMBER: _ClassVar[int]
    UNINSTALLSTRATEGY_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATEROTATESTRATEGY_FIELD_NUMBER: _ClassVar[int]
    PRODUCTVERSION_FIELD_NUMBER: _ClassVar[int]
    PRODUCTNAME_FIELD_NUMBER: _ClassVar[int]
    PRODUCTCOMPONENT_FIELD_NUMBER: _ClassVar[int]
    CONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    CUSTOMIZECOMPONENTS_FIELD_NUMBER: _ClassVar[int]
    imageTag: str
    imageRegistry: str
    imagePullPolicy: str
    imagePullSecrets: _containers.RepeatedCompositeFieldContainer[_core_pb2.LocalObjectReference]
    monitorNamespace: str
    serviceMonitorNamespace: str
    monitorAccount: str
    workloadUpdateStrategy: KubeVirtWorkloadUpdateStrategy
    uninstallStrategy: str
    certificateRotateStrategy: KubeVirtCertificateRotateStrategy
    productVersion: str
    productName: str
    productComponent: str
    configuration: KubeVirtConfiguration
    customizeComponents: CustomizeComponents
    def __init__(self, imageTag: _Optional[str] = ..., imageRegistry: _Optional[str] = ..., imagePullPolicy: _Optional[str] = ..., imagePullSecrets: _Optional[_Iterable[_Union[_core_pb2.LocalObjectReference, _Mapping]]] = ..., monitorNamespace: _Optional[str] = ..., serviceMonitorNamespace: _Optional[str] = ..., monitorAccount: _Optional[str] = ..., workloadUpdateStrategy: _Optional[_Union[KubeVirtWorkloadUpdateStrategy, _Mapping]] = ..., uninstallStrategy: _Optional[str] = ..., certificateRotateStrategy: _Optional[_Union[KubeVirtCertificateRotateStrategy, _Mapping]] = ..., productVersion: _Optional[str] = ..., productName: _Optional[str] = ..., productComponent: _Optional[str] = ..., configuration: _Optional[_Union[KubeVirtConfiguration, _Mapping]] = ..., customizeComponents: _Optional[_Union[CustomizeComponents, _Mapping]] = ...) -> None: ...

class KubeVirtStatus(_message.Message):
    __slots__ = ("phase", "conditions", "observedKubeVirtVersion", "observedGeneration", "defaultArchitecture")
    PHASE_FIELD_NUMBER: _ClassVar[int]
    CONDITIONS_FIELD_NUMBER: _ClassVar[int]
    OBSERVEDKUBEVIRTVERSION_FIELD_NUMBER: _ClassVar[int]
    OBSERVEDGENERATION_FIELD_NUMBER: _ClassVar[int]
    DEFAULTARCHITECTURE_FIELD_NUMBER: _ClassVar[int]
    phase: str
    conditions: _containers.RepeatedCompositeFieldContainer[_types_pb2.Condition]
    observedKubeVirtVersion: str
    observedGeneration: int
    defaultArchitecture: str
    def __init__(self, phase: _Optional[str] = ..., conditions: _Optional[_Iterable[_Union[_types_pb2.Condition, _Mapping]]] = ..., observedKubeVirtVersion: _Optional[str] = ..., observedGeneration: _Optional[int] = ..., defaultArchitecture: _Optional[str] = ...) -> None: ...

class KubeVirt(_message.Message):
    __slots__ = ("apiVersion", "kind", "metadata", "spec", "status")
    APIVERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    apiVersion: str
    kind: str
    metadata: _types_pb2.ObjectMeta
    spec: KubeVirtSpec
    status: KubeVirtStatus
    def __init__(self, apiVersion: _Optional[str] = ..., kind: _Optional[str] = ..., metadata: _Optional[_Union[_types_pb2.ObjectMeta, _Mapping]] = ..., spec: _Optional[_Union[KubeVirtSpec, _Mapping]] = ..., status: _Optional[_Union[KubeVirtStatus, _Mapping]] = ...) -> None: ...
