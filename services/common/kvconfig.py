"""The mesh's configuration as the services read it: the `KubeVirt` object (kubevirt.io/v1, one per mesh,
KubeVirt's `kubevirt/kubevirt`) with KubeVirt's defaults for what it leaves unset (KubeVirt's
ClusterConfig, pkg/virt-config). Changed at run time with `virtmesh apply -f` (or kubectl): services
that watch the kind see the new values at once.

    config = kvconfig.ClusterConfig.of(kubevirt_objects)   # none: every default
    config.reference_policy()                              # "reference" | "expand" | "expandAll"
    config.gates()                                         # feature gates in effect (object + operator's)
    kvconfig.Gates(load)                                   # the same, read only when a check asks
    config.migrations()                                    # MigrationConfiguration, defaults filled in
"""
from __future__ import annotations

from typing import Callable, Iterable

from services.common import hostpaths, proto

# KubeVirt's InstancetypeReferencePolicy values (GA in 1.6); the first is the default.
REFERENCE, EXPAND, EXPAND_ALL = "reference", "expand", "expandAll"
REFERENCE_POLICIES = (REFERENCE, EXPAND, EXPAND_ALL)

# KubeVirt's migration defaults (pkg/virt-config/virt-config.go).
NODE_DRAIN_TAINT_KEY = "kubevirt.io/drain"
def _migration_defaults():
    """KubeVirt's default for every field of spec.configuration.migrations."""
    return proto.migrationstate.MigrationConfiguration(
        nodeDrainTaintKey=NODE_DRAIN_TAINT_KEY, parallelOutboundMigrationsPerNode=2, parallelMigrationsPerCluster=5,
        allowAutoConverge=False, bandwidthPerMigration="0Mi", completionTimeoutPerGiB=150, progressTimeout=150,
        unsafeMigrationOverride=False, allowPostCopy=False, allowWorkloadDisruption=False, disableTLS=False,
        matchSELinuxLevelOnMigration=False)

ALREADY_CREATED = "Kubevirt is already created"   # virt-operator's create admitter, on a second object


class ClusterConfig:
    """Read-only view of one KubeVirt object (None: nothing configured, KubeVirt's defaults)."""

    def __init__(self, kv=None):
        self.kv = kv

    @classmethod
    def of(cls, objects: Iterable) -> "ClusterConfig":
        """From the KubeVirt objects of the mesh: the oldest one that is not being deleted (a mesh
        admits only one; a cluster could hold another made around our webhook)."""
        live = [o for o in objects if not o.metadata.deletionTimestamp]
        live.sort(key=lambda o: (o.metadata.creationTimestamp, o.metadata.namespace, o.metadata.name))
        return cls(live[0] if live else None)

    @property
    def _config(self):
        return self.kv.spec.configuration if self.kv is not None else proto.kubevirt.KubeVirtConfiguration()

    def reference_policy(self) -> str:
        """GetInstancetypeReferencePolicy: `reference` unless the object says otherwise."""
        it = self._config.instancetype
        return it.referencePolicy if it.HasField("referencePolicy") else REFERENCE

    def feature_gates(self) -> tuple[str, ...]:
        return tuple(self._config.developerConfiguration.featureGates)

    def gates(self) -> frozenset[str]:
        """The feature gates in effect: the object's developerConfiguration.featureGates, plus those the
        operator enabled for every service (`virtmesh up --feature-gates`, VIRTMESH_FEATURE_GATES)."""
        return frozenset(self.feature_gates()) | hostpaths.feature_gates()

    def eviction_strategy(self) -> str:
        """spec.configuration.evictionStrategy: the cluster-wide default for VMIs that set none ("" = none)."""
        return self._config.evictionStrategy

    def migrations(self):
        """spec.configuration.migrations with KubeVirt's default for every field left unset."""
        out = _migration_defaults()
        out.MergeFrom(self._config.migrations)
        return out


class Gates:
    """The gates in effect as a set that reads the KubeVirt objects (`load()`) only when asked: admission
    of a spec that uses no gated feature costs no read (in cluster mode, a request to the apiserver)."""

    def __init__(self, load: Callable[[], Iterable]):
        self._load = load
        self._gates: frozenset[str] | None = None

    def __contains__(self, gate: str) -> bool:
        if self._gates is None:
            self._gates = ClusterConfig.of(self._load()).gates()
        return gate in self._gates
