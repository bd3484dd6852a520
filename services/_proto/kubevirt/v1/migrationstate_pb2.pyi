from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MigrationConfiguration(_message.Message):
    __slots__ = ("nodeDrainTaintKey", "parallelOutboundMigrationsPerNode", "parallelMigrationsPerCluster", "allowAutoConverge", "bandwidthPerMigration", "completionTimeoutPerGiB", "progressTimeout", "unsafeMigrationOverride", "allowPostCopy", "allowWorkloadDisruption", "disableTLS", "network", "matchSELinuxLevelOnMigration")
    NODEDRAINTAINTKEY_FIELD_NUMBER: _ClassVar[int]
    PARALLELOUTBOUNDMIGRATIONSPERNODE_FIELD_NUMBER: _ClassVar[int]
    PARALLELMIGRATIONSPERCLUSTER_FIELD_NUMBER: _ClassVar[int]
    ALLOWAUTOCONVERGE_FIELD_NUMBER: _ClassVar[int]
    BANDWIDTHPERMIGRATION_FIELD_NUMBER: _ClassVar[int]
    COMPLETIONTIMEOUTPERGIB_FIELD_NUMBER: _ClassVar[int]
    PROGRESSTIMEOUT_FIELD_NUMBER: _ClassVar[int]
    UNSAFEMIGRATIONOVERRIDE_FIELD_NUMBER: _ClassVar[int]
    ALLOWPOSTCOPY_FIELD_NUMBER: _ClassVar[int]
    ALLOWWORKLOADDISRUPTION_FIELD_NUMBER: _ClassVar[int]
    DISABLETLS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    MATCHSELINUXLEVELONMIGRATION_FIELD_NUMBER: _ClassVar[int]
    nodeDrainTaintKey: str
    parallelOutboundMigrationsPerNode: int
    parallelMigrationsPerCluster: int
    allowAutoConverge: bool
    bandwidthPerMigration: str
    completionTimeoutPerGiB: int
    progressTimeout: int
    unsafeMigrationOverride: bool
    allowPostCopy: bool
    allowWorkloadDisruption: bool
    disableTLS: bool
    network: str
    matchSELinuxLevelOnMigration: bool
    def __init__(self, nodeDrainTaintKey: _Optional[str] = ..., parallelOutboundMigrationsPerNode: _Optional[int] = ..., parallelMigrationsPerCluster: _Optional[int] = ..., allowAutoConverge: _Optional[bool] = ..., bandwidthPerMigration: _Optional[str] = ..., completionTimeoutPerGiB: _Optional[int] = ..., progressTimeout: _Optional[int] = ..., unsafeMigrationOverride: _Optional[bool] = ..., allowPostCopy: _Optional[bool] = ..., allowWorkloadDisruption: _Optional[bool] = ..., disableTLS: _Optional[bool] = ..., network: _Optional[str] = ..., matchSELinuxLevelOnMigration: _Optional[bool] = ...) -> None: ...

class VirtualMachineInstanceMigrationState(_message.Message):
    __slots__ = ("startTimestamp", "endTimestamp", "targetNodeDomainReadyTimestamp", "targetNodeDomainDetected", "targetNodeAddress", "targetDirectMigrationNodePorts", "targetNode", "targetPod", "targetAttachmentPodUID", "sourceNode", "sourcePod", "completed", "failed", "abortRequested", "abortStatus", "failureReason", "migrationUid", "mode", "migrationPolicyName", "migrationConfiguration", "migrationNetworkType", "targetLauncherDirectory")
    class TargetDirectMigrationNodePortsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    STARTTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    ENDTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TARGETNODEDOMAINREADYTIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    TARGETNODEDOMAINDETECTED_FIELD_NUMBER: _ClassVar[int]
    TARGETNODEADDRESS_FIELD_NUMBER: _ClassVar[int]
    TARGETDIRECTMIGRATIONNODEPORTS_FIELD_NUMBER: _ClassVar[int]
    TARGETNODE_FIELD_NUMBER: _ClassVar[int]
    TARGETPOD_FIELD_NUMBER: _ClassVar[int]
    TARGETATTACHMENTPODUID_FIELD_NUMBER: _ClassVar[int]
    SOURCENODE_FIELD_NUMBER: _ClassVar[int]
    SOURCEPOD_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    ABORTREQUESTED_FIELD_NUMBER: _ClassVar[int]
    ABORTSTATUS_FIELD_NUMBER: _ClassVar[int]
    FAILUREREASON_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONUID_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONPOLICYNAME_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONCONFIGURATION_FIELD_NUMBER: _ClassVar[int]
    MIGRATIONNETWORKTYPE_FIELD_NUMBER: _ClassVar[int]
    TARGETLAUNCHERDIRECTORY_FIELD_NUMBER: _ClassVar[int]
    startTimestamp: str
    endTimestamp: str
    targetNodeDomainReadyTimestamp: str
    targetNodeDomainDetected: bool
    targetNodeAddress: str
    targetDirectMigrationNodePorts: _containers.ScalarMap[str, int]
    targetNode: str
    targetPod: str
    targetAttachmentPodUID: str
    sourceNode: str
    sourcePod: str
    completed: bool
    failed: bool
    abortRequested: bool
    abortStatus: str
    failureReason: str
    migrationUid: str
    mode: str
    migrationPolicyName: str
    migrationConfiguration: MigrationConfiguration
    migrationNetworkType: str
    targetLauncherDirectory: str
    def __init__(self, startTimestamp: _Optional[str] = ..., endTimestamp: _Optional[str] = ..., targetNodeDomainReadyTimestamp: _Optional[str] = ..., targetNodeDomainDetected: _Optional[bool] = ..., targetNodeAddress: _Optional[str] = ..., targetDirectMigrationNodePorts: _Optional[_Mapping[str, int]] = ..., targetNode: _Optional[str] = ..., targetPod: _Optional[str] = ..., targetAttachmentPodUID: _Optional[str] = ..., sourceNode: _Optional[str] = ..., sourcePod: _Optional[str] = ..., completed: _Optional[bool] = ..., failed: _Optional[bool] = ..., abortRequested: _Optional[bool] = ..., abortStatus: _Optional[str] = ..., failureReason: _Optional[str] = ..., migrationUid: _Optional[str] = ..., mode: _Optional[str] = ..., migrationPolicyName: _Optional[str] = ..., migrationConfiguration: _Optional[_Union[MigrationConfiguration, _Mapping]] = ..., migrationNetworkType: _Optional[str] = ..., targetLauncherDirectory: _Optional[str] = ...) -> None: ...
