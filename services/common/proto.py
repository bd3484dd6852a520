"""One import point for the generated messages, and the few facts every service needs about kinds."""
from __future__ import annotations

from services._proto.kubevirt.v1 import types_pb2 as kv  # noqa: F401  (re-exported)
from services._proto.virtmesh.v1 import api_pb2 as api  # noqa: F401
from services._proto.virtmesh.v1 import api_pb2_grpc as api_grpc  # noqa: F401
from services._proto.virtmesh.v1 import handler_pb2_grpc as handler_grpc  # noqa: F401
from services._proto.virtmesh.v1 import launcher_pb2 as launcher  # noqa: F401
from services._proto.virtmesh.v1 import launcher_pb2_grpc as launcher_grpc  # noqa: F401

VM, VMI, NODE = api.VIRTUAL_MACHINE, api.VIRTUAL_MACHINE_INSTANCE, api.NODE
PVC, DV = api.PERSISTENT_VOLUME_CLAIM, api.DATA_VOLUME

# Kind -> (Object oneof field, apiVersion, kind string, namespaced)
KINDS = {
    VM: ("virtualMachine", "kubevirt.io/v1", "VirtualMachine", True),
    VMI: ("virtualMachineInstance", "kubevirt.io/v1", "VirtualMachineInstance", True),
    NODE: ("node", "v1", "Node", False),
    PVC: ("persistentVolumeClaim", "v1", "PersistentVolumeClaim", True),
    DV: ("dataVolume", "cdi.kubevirt.io/v1beta1", "DataVolume", True),
}
KIND_BY_NAME = {v[2]: k for k, v in KINDS.items()}
KIND_BY_FIELD = {v[0]: k for k, v in KINDS.items()}


def kind_of(obj: api.Object) -> int:
    field = obj.WhichOneof("kind")
    if field is None:
        raise ValueError("object: no resource set")
    return KIND_BY_FIELD[field]


def inner(obj: api.Object):
    """The VirtualMachine / VirtualMachineInstance / Node inside an Object."""
    return getattr(obj, obj.WhichOneof("kind"))


def wrap(resource, traceparent: str = "") -> api.Object:
    field = KINDS[KIND_BY_NAME[resource.DESCRIPTOR.name]][0]
    obj = api.Object(traceparent=traceparent)
    getattr(obj, field).CopyFrom(resource)
    return obj


def copy(msg):
    """A deep copy of a message (reconcilers edit copies of cached objects, never the cache)."""
    out = type(msg)()
    out.CopyFrom(msg)
    return out


def kind_name(kind: int) -> str:
    return KINDS[kind][2]


def namespaced(kind: int) -> bool:
    return KINDS[kind][3]


def key(resource) -> str:
    """`namespace/name` (or `name` for cluster-scoped objects), Kubernetes' cache key."""
    md = resource.metadata
    return f"{md.namespace}/{md.name}" if md.namespace else md.name


def ref(kind: int, namespace: str, name: str) -> api.ObjectRef:
    return api.ObjectRef(kind=kind, namespace=namespace, name=name)
