"""Contract names more than one component writes or reads, defined once: label and annotation keys of
Nodes and VMIs, API groups and versions, namespaces and component names (KubeVirt's constants in
kubevirt.io/api/core/v1/types.go; `virtmesh.io/` marks what goes beyond KubeVirt).

Topical keys live beside their topic, still in services/common: launcher pods (launcherpods.py),
migrations (migrations.py), volumes and claims (volumes.py), snapshots (snapshots.py), instance types
(instancetype.py), machine types (machines.py), the trace context (kube.py).
"""
from __future__ import annotations

# ---------------------------------------------------------------- Nodes

SCHEDULABLE_LABEL = "kubevirt.io/schedulable"             # NodeSchedulable: the handler runs and is healthy
HEARTBEAT_ANNOTATION = "kubevirt.io/heartbeat"            # VirtHandlerHeartbeat: when the handler last said so
HANDLER_ADDRESS_ANNOTATION = "virtmesh.io/handler-address"    # where the api reaches the node's handler
MIGRATION_TARGET_LABEL = "virtmesh.io/migration-target"   # the node's handler receives migrations
# Kubernetes' well-known node labels.
HOSTNAME_LABEL = "kubernetes.io/hostname"
ARCH_LABEL = "kubernetes.io/arch"
OS_LABEL = "kubernetes.io/os"

# ---------------------------------------------------------------- VMIs and what they own

NODE_NAME_LABEL = "kubevirt.io/nodeName"                  # NodeNameLabel: the VMI's node
APP_LABEL = "kubevirt.io"                                 # AppLabel: which component (virt-launcher, webhooks ...)
CREATED_BY_LABEL = "kubevirt.io/created-by"               # CreatedByLabel: the owner's uid (launcher pods, DataVolumes)
DISABLE_PCI_HOLE64_ANNOTATION = "kubevirt.io/disablePCIHole64"   # DisablePCIHole64 (amd64 only)

# ---------------------------------------------------------------- API groups beside the kinds' (proto.KINDS)

SUBRESOURCES_GROUP = "subresources.kubevirt.io"
CONSOLE_PROTOCOL = "plain.kubevirt.io"    # websocket subprotocol: raw serial bytes in binary frames

# ---------------------------------------------------------------- namespaces

DEFAULT_NAMESPACE = "default"             # Kubernetes' namespace for a request that names none
KUBEVIRT_NAMESPACE = "kubevirt"           # where KubeVirt's components run (the install's namespace)
