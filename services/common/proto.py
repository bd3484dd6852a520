"""One import point for the generated messages, and the few facts every service needs about kinds."""
from __future__ import annotations

from dataclasses import dataclass

from services._proto.kubevirt.v1 import types_pb2 as kv  # noqa: F401  (re-exported)
from services._proto.kubevirt.v1 import core_pb2 as core  # noqa: F401  (Kubernetes' core/v1 types)
from services._proto.kubevirt.v1 import config_pb2 as config  # noqa: F401  (core/v1 Secret, ConfigMap)
from services._proto.kubevirt.v1 import events_pb2 as events  # noqa: F401
from services._proto.kubevirt.v1 import instancetype_pb2 as itype  # noqa: F401
from services._proto.kubevirt.v1 import kubevirt_pb2 as kubevirt  # noqa: F401
from services._proto.kubevirt.v1 import migration_pb2 as migration  # noqa: F401
from services._proto.kubevirt.v1 import migrationstate_pb2 as migrationstate  # noqa: F401
from services._proto.kubevirt.v1 import snapshot_pb2 as snapshot  # noqa: F401
from services._proto.virtmesh.v1 import api_pb2 as api  # noqa: F401
from services._proto.virtmesh.v1 import api_pb2_grpc as api_grpc  # noqa: F401
from services._proto.virtmesh.v1 import handler_pb2_grpc as handler_grpc  # noqa: F401
from services._proto.virtmesh.v1 import launcher_pb2 as launcher  # noqa: F401
from services._proto.virtmesh.v1 import launcher_pb2_grpc as launcher_grpc  # noqa: F401
from services._proto.virtmesh.v1 import migration_pb2 as lmigration  # noqa: F401  (launcher migration)
from services._proto.virtmesh.v1 import migration_pb2_grpc as lmigration_grpc  # noqa: F401
from services._proto.virtmesh.v1 import reason_pb2 as reason  # noqa: F401  (LauncherReason)
from services._proto.virtmesh.v1 import volumes_pb2 as volumefiles  # noqa: F401  (handler -> launcher)
from services.common import migrations, tracing, vmstate   # (none of which imports this module)

VM, VMI, NODE = api.VIRTUAL_MACHINE, api.VIRTUAL_MACHINE_INSTANCE, api.NODE
PVC, DV = api.PERSISTENT_VOLUME_CLAIM, api.DATA_VOLUME
INSTANCETYPE, CLUSTER_INSTANCETYPE = api.VIRTUAL_MACHINE_INSTANCETYPE, api.VIRTUAL_MACHINE_CLUSTER_INSTANCETYPE
PREFERENCE, CLUSTER_PREFERENCE = api.VIRTUAL_MACHINE_PREFERENCE, api.VIRTUAL_MACHINE_CLUSTER_PREFERENCE
CONTROLLER_REVISION, KUBEVIRT = api.CONTROLLER_REVISION, api.KUBEVIRT
VMIM, MIGRATION_POLICY = api.VIRTUAL_MACHINE_INSTANCE_MIGRATION, api.MIGRATION_POLICY
EVENT = api.EVENT
SECRET, CONFIG_MAP = api.SECRET, api.CONFIG_MAP
VMSNAPSHOT, VMSNAPSHOT_CONTENT = api.VIRTUAL_MACHINE_SNAPSHOT, api.VIRTUAL_MACHINE_SNAPSHOT_CONTENT
VMRESTORE = api.VIRTUAL_MACHINE_RESTORE


@dataclass(frozen=True)
class PrinterColumn:
    """One column of `kubectl get` for a kind (a CRD's additionalPrinterColumns entry)."""
    name: str
    json_path: str
    type: str = "string"          # string | integer | number | boolean | date
    priority: int = 0             # > 0: shown only with `-o wide`


@dataclass(frozen=True)
class KindInfo:
    """What every part of the mesh needs to know about a kind, defined once: the CRD generator,
    the Kubernetes backend, the CLI's names and the api's dispatch all read this table."""
    field: str                    # the api.Object oneof field (and the proto message behind it)
    group: str                    # "" for core/v1
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    status_subresource: bool = False   # status written through /status (KubeVirt's CRD choice per kind)
    ours: bool = True             # a CRD of ours (False: Kubernetes' own kind, read through our subset)
    served_versions: tuple[str, ...] = ()   # older versions still accepted in manifests
    # Older versions the CRD lists as served: false (deprecated, no longer accepted; KubeVirt's instancetype
    # v1alpha1/v1alpha2): a manifest naming one is refused, saying so.
    unserved_versions: tuple[str, ...] = ()
    printer_columns: tuple[PrinterColumn, ...] = ()   # the CRD's `kubectl get` columns
    # Fields a watch may select on (a CRD's selectableFields): a handler watches only its node's VMIs.
    selectable_fields: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def deprecation_warning(self, version: str) -> str:
        """The CRD's deprecationWarning of an older version (KubeVirt's texts)."""
        if version in self.unserved_versions:
            return f"{self.group}/{version} {self.kind}s is now deprecated and will be removed in v1."
        return f"{self.group}/{version} is now deprecated and will be removed in a future release."

    @property
    def resource(self) -> str:
        """`plural.group` as kubectl names it (`virtualmachines.kubevirt.io`), or the plural."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def printed_name(self) -> str:
        """`virtualmachine.kubevirt.io`: how kubectl names the kind in `… created` / `-o name`."""
        return f"{self.kind.lower()}.{self.group}" if self.group else self.kind.lower()


_AGE = PrinterColumn("Age", ".metadata.creationTimestamp", "date")


def _condition(name: str, ctype: str = "", priority: int = 0) -> PrinterColumn:
    """A column showing the status of condition `ctype` (default: the column's name)."""
    return PrinterColumn(name, f".status.conditions[?(@.type=='{ctype or name}')].status", priority=priority)


KINDS: dict[api.Kind, KindInfo] = {
    VM: KindInfo("virtualMachine", "kubevirt.io", "v1", "VirtualMachine", "virtualmachines", True,
                 ("vm", "vms"), ("all",), status_subresource=True, served_versions=("v1alpha3",),
                 printer_columns=(_AGE, PrinterColumn("Status", ".status.printableStatus"), _condition(vmstate.READY))),
    # KubeVirt's VMI CRD has no status subresource: status goes through updates of the object.
    VMI: KindInfo("virtualMachineInstance", "kubevirt.io", "v1", "VirtualMachineInstance",
                  "virtualmachineinstances", True, ("vmi", "vmis"), ("all",), served_versions=("v1alpha3",),
                  printer_columns=(_AGE, PrinterColumn("Phase", ".status.phase"),
                                   PrinterColumn("IP", ".status.interfaces[0].ipAddress"),
                                   PrinterColumn("NodeName", ".status.nodeName"), _condition(vmstate.READY),
                                   _condition("Live-Migratable", migrations.LIVE_MIGRATABLE, priority=1),
                                   _condition(vmstate.PAUSED, priority=1)),
                  selectable_fields=("status.nodeName",)),
    NODE: KindInfo("node", "", "v1", "Node", "nodes", False, ("no",), status_subresource=True, ours=False),
    PVC: KindInfo("persistentVolumeClaim", "", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", True,
                  ("pvc", "pvcs"), status_subresource=True, ours=False),
    DV: KindInfo("dataVolume", "cdi.kubevirt.io", "v1beta1", "DataVolume", "datavolumes", True,
                 ("dv", "dvs"), ("all",), status_subresource=True,
                 printer_columns=(PrinterColumn("Phase", ".status.phase"),
                                  PrinterColumn("Progress", ".status.progress"),
                                  PrinterColumn("Restarts", ".status.restartCount", "integer"), _AGE)),
    # instancetype.kubevirt.io: names, scopes and versions as KubeVirt 1.6's CRDs (v1beta1 the only one served).
    INSTANCETYPE: KindInfo("virtualMachineInstancetype", "instancetype.kubevirt.io", "v1beta1",
                           "VirtualMachineInstancetype", "virtualmachineinstancetypes", True,
                           ("vminstancetype", "vminstancetypes", "vmf", "vmfs"), ("all",),
                           unserved_versions=("v1alpha1", "v1alpha2")),
    CLUSTER_INSTANCETYPE: KindInfo("virtualMachineClusterInstancetype", "instancetype.kubevirt.io", "v1beta1",
                                   "VirtualMachineClusterInstancetype", "virtualmachineclusterinstancetypes", False,
                                   ("vmclusterinstancetype", "vmclusterinstancetypes", "vmcf", "vmcfs"),
                                   unserved_versions=("v1alpha1", "v1alpha2")),
    PREFERENCE: KindInfo("virtualMachinePreference", "instancetype.kubevirt.io", "v1beta1",
                         "VirtualMachinePreference", "virtualmachinepreferences", True,
                         ("vmpref", "vmprefs", "vmp", "vmps"), ("all",), unserved_versions=("v1alpha1", "v1alpha2")),
    CLUSTER_PREFERENCE: KindInfo("virtualMachineClusterPreference", "instancetype.kubevirt.io", "v1beta1",
                                 "VirtualMachineClusterPreference", "virtualmachineclusterpreferences", False,
                                 ("vmcp", "vmcps"), unserved_versions=("v1alpha1", "v1alpha2")),
    CONTROLLER_REVISION: KindInfo("controllerRevision", "apps", "v1", "ControllerRevision", "controllerrevisions",
                                  True, ours=False),
    # The mesh's configuration (KubeVirt's kubevirt/kubevirt), one per mesh.
    KUBEVIRT: KindInfo("kubeVirt", "kubevirt.io", "v1", "KubeVirt", "kubevirts", True, ("kv", "kvs"), ("all",),
                       status_subresource=True,
                       printer_columns=(_AGE, PrinterColumn("Phase", ".status.phase"))),
    # Live migration: KubeVirt's VirtualMachineInstanceMigration CRD (status subresource, Phase and VMI
    # columns) and migrations.kubevirt.io's cluster-scoped MigrationPolicy (v1alpha1, its only version).
    VMIM: KindInfo("virtualMachineInstanceMigration", "kubevirt.io", "v1", "VirtualMachineInstanceMigration",
                   "virtualmachineinstancemigrations", True, ("vmim", "vmims"), ("all",), status_subresource=True,
                   served_versions=("v1alpha3",),
                   printer_columns=(PrinterColumn("Phase", ".status.phase"), PrinterColumn("VMI", ".spec.vmiName"))),
    MIGRATION_POLICY: KindInfo("migrationPolicy", "migrations.kubevirt.io", "v1alpha1", "MigrationPolicy",
                               "migrationpolicies", False, status_subresource=True),
    # snapshot.kubevirt.io: KubeVirt 1.6's CRDs (v1beta1 stored, v1alpha1 still served; status subresources).
    VMSNAPSHOT: KindInfo("virtualMachineSnapshot", "snapshot.kubevirt.io", "v1beta1", "VirtualMachineSnapshot",
                         "virtualmachinesnapshots", True, ("vmsnapshot", "vmsnapshots"), ("all",),
                         status_subresource=True, served_versions=("v1alpha1",),
                         printer_columns=(PrinterColumn("SourceKind", ".spec.source.kind"),
                                          PrinterColumn("SourceName", ".spec.source.name"),
                                          PrinterColumn("Phase", ".status.phase"),
                                          PrinterColumn("ReadyToUse", ".status.readyToUse", "boolean"),
                                          PrinterColumn("CreationTime", ".status.creationTime", "date"),
                                          PrinterColumn("Error", ".status.error.message"))),
    VMSNAPSHOT_CONTENT: KindInfo("virtualMachineSnapshotContent", "snapshot.kubevirt.io", "v1beta1",
                                 "VirtualMachineSnapshotContent", "virtualmachinesnapshotcontents", True,
                                 ("vmsnapshotcontent", "vmsnapshotcontents"), ("all",), status_subresource=True,
                                 served_versions=("v1alpha1",),
                                 printer_columns=(PrinterColumn("ReadyToUse", ".status.readyToUse", "boolean"),
                                                  PrinterColumn("CreationTime", ".status.creationTime", "date"),
                                                  PrinterColumn("Error", ".status.error.message"))),
    VMRESTORE: KindInfo("virtualMachineRestore", "snapshot.kubevirt.io", "v1beta1", "VirtualMachineRestore",
                        "virtualmachinerestores", True, ("vmrestore", "vmrestores"), ("all",),
                        status_subresource=True, served_versions=("v1alpha1",),
                        printer_columns=(PrinterColumn("TargetKind", ".spec.target.kind"),
                                         PrinterColumn("TargetName", ".spec.target.name"),
                                         PrinterColumn("Complete", ".status.complete", "boolean"),
                                         PrinterColumn("RestoreTime", ".status.restoreTime", "date"),
                                         PrinterColumn("Error", ".status.error.message"))),
    # core/v1 Events (Kubernetes' own kind, no CRD): what the controller and handler record
    # (services/common/events.py); no spec, no status, written whole.
    EVENT: KindInfo("event", "", "v1", "Event", "events", True, ("ev",), ours=False),
    # What configMap, secret and cloud-init secretRef volumes read: Kubernetes' own kinds.
    SECRET: KindInfo("secret", "", "v1", "Secret", "secrets", True, ours=False),
    CONFIG_MAP: KindInfo("configMap", "", "v1", "ConfigMap", "configmaps", True, ("cm",), ours=False),
}
KIND_BY_NAME = {v.kind: k for k, v in KINDS.items()}
KIND_BY_FIELD = {v.field: k for k, v in KINDS.items()}


def message_class(kind: api.Kind):
    """The proto message class of a kind (kubevirt.v1.VirtualMachine, …)."""
    return type(getattr(api.Object(), KINDS[kind].field))


def kind_of(obj: api.Object) -> api.Kind:
    field = obj.WhichOneof("kind")
    if field is None:
        raise ValueError("object: no resource set")
    return KIND_BY_FIELD[field]


def inner(obj: api.Object):
    """The VirtualMachine / VirtualMachineInstance / Node inside an Object."""
    return getattr(obj, obj.WhichOneof("kind"))


def wrap(resource, traceparent: str = "") -> api.Object:
    """`traceparent`: the trace context to keep with it (tracing.context: a traceparent, and a
    tracestate after a space)."""
    field = KINDS[KIND_BY_NAME[resource.DESCRIPTOR.name]].field
    obj = api.Object()
    tracing.store(obj, traceparent)
    getattr(obj, field).CopyFrom(resource)
    return obj


def copy(msg):
    """A deep copy of a message (reconcilers edit copies of cached objects, never the cache)."""
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def kind_name(kind: api.Kind) -> str:
    return KINDS[kind].kind


def namespaced(kind: api.Kind) -> bool:
    return KINDS[kind].namespaced


def key(resource) -> str:
    """`namespace/name` (or `name` for cluster-scoped objects), Kubernetes' cache key."""
    md = resource.metadata
    return f"{md.namespace}/{md.name}" if md.namespace else md.name


def has_labels(resource, selector) -> bool:
    """Whether `resource` carries every label of `selector` (an equality-based label selector)."""
    have = resource.metadata.labels
    return all(have.get(k) == v for k, v in selector.items())


def selects(obj: api.Object, labels, node_name: str) -> bool:
    """A list's or watch's selector: the labels, and for VMIs the status.nodeName field selector."""
    res = inner(obj)
    if node_name and kind_of(obj) == VMI and res.status.nodeName != node_name:
        return False
    return has_labels(res, labels or {})


def ref(kind: api.Kind, namespace: str, name: str) -> api.ObjectRef:
    return api.ObjectRef(kind=kind, namespace=namespace, name=name)
