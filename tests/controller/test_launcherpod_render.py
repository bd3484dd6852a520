"""The virt-launcher pod a VMI gets in cluster mode with --launcher-pods (issue 16, item 3): KubeVirt's
metadata, scheduling fields copied from the VMI, requests of the guest's memory plus KubeVirt's
overhead estimate and its CPU, the launcher's command with its socket in the pod's volume."""
from __future__ import annotations

from services.common import launcherpods as lp
from services.common import manifest, proto
from services.controller import launcherpod

MI = 2 ** 20


def vmi(**spec):
    domain = {"machine": {"type": "q35"}, "devices": {}, "resources": {"requests": {"memory": "128Mi"}},
              "cpu": {"cores": 1, "sockets": 1, "threads": 1}}
    domain.update(spec.pop("domain", {}))
    doc = {"metadata": {"name": "demo", "namespace": "ns1", "uid": "3f0c5a2e-1111-4c1b-9d7e-000000000001",
                        "labels": {"app": "web"}},
           "spec": {"domain": domain, **spec}}
    return manifest.parse(doc, proto.kv.VirtualMachineInstance)


def test_metadata_as_kubevirt_writes_it():
    pod = launcherpod.render(vmi(), launcherpod.Settings())
    md = pod["metadata"]
    assert md["generateName"] == "virt-launcher-demo-" and md["namespace"] == "ns1"
    assert md["ownerReferences"] == [{"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                                      "name": "demo", "uid": "3f0c5a2e-1111-4c1b-9d7e-000000000001",
                                      "controller": True, "blockOwnerDeletion": True}]
    assert md["labels"] == {"app": "web", "kubevirt.io": "virt-launcher",
                            "kubevirt.io/created-by": "3f0c5a2e-1111-4c1b-9d7e-000000000001",
                            "vm.kubevirt.io/name": "demo"}
    assert md["annotations"]["kubevirt.io/domain"] == "demo"
    assert md["annotations"]["kubectl.kubernetes.io/default-container"] == "compute"
    assert pod["spec"]["restartPolicy"] == "Never"


def test_requests_are_the_guest_memory_plus_kubevirts_overhead_and_the_cpu():
    v = vmi()
    pod = launcherpod.render(v, launcherpod.Settings())
    req = pod["spec"]["containers"][0]["resources"]["requests"]
    # 128Mi = 134217728 B: page tables 134218000 // 512 = 262144; fixed 220Mi; one vCPU 8Mi; IOThread 8Mi; video 32Mi.
    overhead = 262144 + (220 + 8 + 8 + 32) * MI
    assert launcherpod.memory_overhead(v) == overhead
    assert req == {"memory": str(128 * MI + overhead), "cpu": "100m"}
    assert pod["metadata"]["annotations"]["kubevirt.io/memory-overhead-bytes"] == str(overhead)
    # Four vCPUs, no graphics, an explicit CPU request, the KubeVirt object's allocation ratio.
    v4 = vmi(domain={"cpu": {"cores": 2, "sockets": 2, "threads": 1}, "devices": {"autoattachGraphicsDevice": False},
                     "resources": {"requests": {"memory": "1Gi", "cpu": "1500m"}}})
    assert launcherpod.memory_overhead(v4) == (2 ** 30 + 176) // 512 + (220 + 4 * 8 + 8) * MI
    assert launcherpod.resources(v4)[0]["requests"]["cpu"] == "1500m"
    assert launcherpod.resources(vmi(domain={"cpu": {"cores": 4}}), ratio=4)[0]["requests"]["cpu"] == "1000m"
    # overcommitGuestOverhead: the guest's memory alone is requested.
    oc = vmi(domain={"resources": {"requests": {"memory": "128Mi"}, "overcommitGuestOverhead": True}})
    assert launcherpod.resources(oc)[0]["requests"]["memory"] == str(128 * MI)


def test_scheduling_fields_are_the_vmis():
    v = vmi(nodeSelector={"disk": "ssd"}, priorityClassName="high", schedulerName="my-scheduler",
            tolerations=[{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}],
            affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}})
    spec = launcherpod.render(v, launcherpod.Settings())["spec"]
    assert spec["nodeSelector"] == {"disk": "ssd", "kubevirt.io/schedulable": "true",
                                    "machine-type.node.kubevirt.io/q35": "true"}
    assert spec["priorityClassName"] == "high" and spec["schedulerName"] == "my-scheduler"
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Equal", "value": "vms", "effect": "NoSchedule"}]
    assert spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0][
        "matchExpressions"] == [{"key": "zone", "operator": "In", "values": ["a"]}]
    assert "schedulerName" not in launcherpod.render(vmi(), launcherpod.Settings())["spec"]   # the default one


def test_the_container_runs_the_launcher_with_its_socket_in_the_pods_volume(monkeypatch):
    s = launcherpod.Settings(image="reg/virtmesh:1", data_dir="/srv/vm", libvirt_uri="qemu:///system")
    spec = launcherpod.render(vmi(), s)["spec"]
    c = spec["containers"][0]
    assert c["name"] == "compute" and c["image"] == "reg/virtmesh:1"
    assert c["command"][:3] == ["python", "-m", "services.launcher"]
    assert c["command"][c["command"].index("--socket-dir") + 1] == lp.SOCKETS_MOUNT
    assert c["command"][c["command"].index("--uid") + 1] == "3f0c5a2e-1111-4c1b-9d7e-000000000001"
    assert {"name": "sockets", "mountPath": "/var/run/kubevirt/sockets"} in c["volumeMounts"]
    assert {"name": "sockets", "emptyDir": {}} in spec["volumes"]
    assert {"name": "data", "hostPath": {"path": "/srv/vm", "type": "Directory"}} in spec["volumes"]
    # The launcher parses exactly this command line.
    import argparse
    from services.launcher import __main__ as launcher_main
    seen = {}
    parse = argparse.ArgumentParser.parse_args

    def capture(self, args=None, namespace=None):
        seen["args"] = parse(self, args, namespace)
        raise SystemExit(0)
    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    try:
        launcher_main.main(c["command"][3:])
    except SystemExit:
        pass
    monkeypatch.undo()
    assert seen["args"].socket_dir == lp.SOCKETS_MOUNT and seen["args"].data_dir == "/srv/vm"
    # The handler's path to it, under the kubelet's pod directory.
    pod = {"metadata": {"uid": "aaaa"}}
    assert lp.socket_path("/pods", pod) == "/pods/aaaa/volumes/kubernetes.io~empty-dir/sockets/launcher-sock"
