"""The CLI's read-modify-write verbs (apply over an existing object, patch, edit, cordon) against a
store whose object another writer changes between the verb's read and its write, as a controller
writing status or a handler heartbeating its Node does. The store here is a small in-memory one with
the api's optimistic concurrency (a write at an old resourceVersion is ABORTED); the verbs against the
real api are tests/cli/test_kubectl_verbs.py's."""
from __future__ import annotations

import argparse

import grpc
import pytest

from services.cli import kubectl, migrate
from services.common import proto


class Stale(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.ABORTED

    def details(self):
        return "Operation cannot be fulfilled: the object has been modified"


class Store:
    """Get and Update with resourceVersions; `between(obj)` runs before each of the next writes, as
    another writer that got there first."""

    def __init__(self, obj, between=None, times: int = 1):
        self.obj = proto.copy(obj)
        self.obj.metadata.resourceVersion = "1"
        self.between, self.times, self.writes = between, times, []

    def Get(self, request, timeout=None):
        return proto.wrap(proto.copy(self.obj))

    def Update(self, request, timeout=None):
        if self.between is not None and self.times > 0:
            self.times -= 1
            self.between(self.obj)
            self.obj.metadata.resourceVersion = str(int(self.obj.metadata.resourceVersion) + 1)
        new = proto.inner(request.object)
        self.writes.append(new.metadata.resourceVersion)
        if new.metadata.resourceVersion != self.obj.metadata.resourceVersion:
            raise Stale()
        status = proto.copy(self.obj.status) if "status" in self.obj.DESCRIPTOR.fields_by_name else None
        self.obj = proto.copy(new)
        if status is not None:
            self.obj.status.CopyFrom(status)   # an update writes metadata and spec, not status
        self.obj.metadata.resourceVersion = str(int(new.metadata.resourceVersion) + 1)
        return proto.wrap(proto.copy(self.obj))


class Api:
    def __init__(self, store):
        self.resources = store


def vm(run_strategy="Halted"):
    v = proto.kv.VirtualMachine()
    v.apiVersion, v.kind = "kubevirt.io/v1", "VirtualMachine"   # as the api answers
    v.metadata.name, v.metadata.namespace = "v1", "default"
    v.spec.runStrategy = run_strategy
    return v


def controller_reports(obj):
    obj.status.printableStatus = "Stopped"


def args(**kw):
    return argparse.Namespace(namespace="default", all_namespaces=False, **kw)


def test_patch_applies_again_over_a_status_write_in_between(capsys):
    store = Store(vm(), controller_reports)
    kubectl.cmd_patch(args(resource="vm", name="v1", patch='{"spec": {"runStrategy": "Always"}}', type="merge"),
                      Api(store), {"vm": proto.VM})
    assert store.writes == ["1", "2"]   # refused at 1 (the status write made it 2), stored at 2
    assert store.obj.spec.runStrategy == "Always" and store.obj.status.printableStatus == "Stopped"
    assert capsys.readouterr().out.strip() == "virtualmachine.kubevirt.io/v1 patched"


def test_patch_applies_to_a_spec_changed_in_between_as_kubectls_does(capsys):
    def other_label(obj):
        obj.metadata.labels["by"] = "other"
    store = Store(vm(), other_label)
    kubectl.cmd_patch(args(resource="vm", name="v1", patch='{"spec": {"runStrategy": "Always"}}', type="merge"),
                      Api(store), {"vm": proto.VM})
    assert store.obj.spec.runStrategy == "Always" and store.obj.metadata.labels["by"] == "other"


def test_edit_goes_on_after_a_status_only_write_and_is_refused_after_a_spec_write():
    before = proto.copy(Store(vm()).obj)
    doc = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
           "metadata": {"name": "v1", "namespace": "default", "resourceVersion": "1"},
           "spec": {"runStrategy": "Manual"}}
    store = Store(vm(), controller_reports)
    kubectl._store(Api(store), proto.VM, before, kubectl._edited(before, doc), "virtualmachine.kubevirt.io")
    assert store.obj.spec.runStrategy == "Manual" and store.writes == ["1", "2"]

    def other_label(obj):
        obj.metadata.labels["by"] = "other"
    store = Store(vm(), other_label)
    with pytest.raises(grpc.RpcError) as e:
        kubectl._store(Api(store), proto.VM, before, kubectl._edited(before, doc), "virtualmachine.kubevirt.io")
    assert e.value.code() == grpc.StatusCode.ABORTED
    assert store.writes == ["1", "1"]   # asked again once, at the version it was read at: refused for good
    assert store.obj.spec.runStrategy == "Halted" and store.obj.metadata.labels["by"] == "other"


def test_cordon_flips_again_over_a_heartbeat_in_between():
    node = proto.kv.Node()
    node.metadata.name = "n1"

    def heartbeat(obj):
        obj.metadata.annotations["kubevirt.io/heartbeat"] = "now"
    store = Store(node, heartbeat, times=2)
    assert migrate._cordon(Api(store), "n1", True) == "node/n1 cordoned"
    assert store.obj.spec.unschedulable and store.writes == ["1", "2", "3"]
    assert store.obj.metadata.annotations["kubevirt.io/heartbeat"] == "now"
    assert migrate._cordon(Api(store), "n1", True) == "node/n1 already cordoned"


def test_a_writer_that_always_comes_first_ends_the_retries():
    store = Store(vm(), controller_reports, times=100)
    with pytest.raises(grpc.RpcError):
        kubectl.update_retrying(Api(store), proto.copy(store.obj), lambda cur: proto.copy(cur))
    assert len(store.writes) == kubectl.UPDATE_ATTEMPTS


class Exists(grpc.RpcError):
    def code(self):
        return grpc.StatusCode.ALREADY_EXISTS


def test_apply_over_an_existing_object_merges_again_after_a_status_write(tmp_path, capsys):
    from services.cli import main
    store = Store(vm(), controller_reports)

    def create(request, timeout=None):
        raise Exists()
    store.Create = create
    manifest_file = tmp_path / "vm.yaml"
    manifest_file.write_text("apiVersion: kubevirt.io/v1\nkind: VirtualMachine\nmetadata:\n  name: v1\n"
                             "  labels: {app: demo}\nspec:\n  runStrategy: Always\n")
    main.cmd_apply(argparse.Namespace(filename=[str(manifest_file)], namespace="default"), Api(store))
    assert store.obj.spec.runStrategy == "Always" and store.obj.metadata.labels["app"] == "demo"
    assert store.obj.status.printableStatus == "Stopped" and store.writes == ["1", "2"]
    assert capsys.readouterr().out.strip() == "virtualmachine.kubevirt.io/v1 configured"
