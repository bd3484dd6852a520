"""`virtmesh create vm|instancetype|preference` (issue 14, item 7): virtctl's flags, defaults, parameter
syntax and error texts; the manifests parse as our schema and are accepted by the api's admission as
printed; and piped into `virtmesh apply -f -` a VM sized by a created instance type and preference, with an
imported volume, runs on a mesh (libvirt's test driver)."""
from __future__ import annotations

import os
import re
import shutil

import pytest
import yaml

from harness import short_tmpdir
from services.api import store
from services.api.resources import Resources
from services.cli import main as cli
from services.common import manifest, proto

RAND = "[bcdfghjklmnpqrstvwxz2456789]{5}"


def create(capsys, *args):
    rc = cli.main(["create", *args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def doc_and_warnings(capsys, *args) -> tuple[dict, str]:
    rc, out, err = create(capsys, *args)
    assert rc == 0, err
    d = yaml.safe_load(out)
    manifest.to_object(d)        # our schema takes what is printed, as it is printed
    return d, err


def doc(capsys, *args) -> dict:
    return doc_and_warnings(capsys, *args)[0]


def fails(capsys, *args) -> str:
    rc, out, err = create(capsys, *args)
    assert rc != 0 and out == "", out
    return err.strip().removeprefix("error: ")


# ---------------------------------------------------------------- create vm

def test_a_vm_with_virtctls_defaults(capsys):
    rc, out, _ = create(capsys, "vm")
    assert rc == 0
    d = yaml.safe_load(out)
    assert re.fullmatch(f"vm-{RAND}", d["metadata"]["name"])
    assert out.replace(d["metadata"]["name"], "NAME") == """\
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata:
  creationTimestamp: null
  name: NAME
spec:
  runStrategy: Always
  template:
    metadata:
      creationTimestamp: null
    spec:
      domain:
        devices: {}
        memory:
          guest: 512Mi
        resources: {}
      terminationGracePeriodSeconds: 180
status: {}
"""


def test_name_namespace_run_strategy_grace_period_memory(capsys):
    d = doc(capsys, "vm", "--name=my-vm", "--run-strategy=rerunonfailure", "--termination-grace-period", "0",
            "--memory=1Gi", "-n", "prod")
    assert (d["metadata"]["name"], d["metadata"]["namespace"]) == ("my-vm", "prod")
    assert d["spec"]["runStrategy"] == "RerunOnFailure"             # matched case-insensitively, as virtctl
    spec = d["spec"]["template"]["spec"]
    assert (spec["terminationGracePeriodSeconds"], spec["domain"]["memory"]) == (0, {"guest": "1Gi"})


def test_instancetype_and_preference_replace_the_memory(capsys):
    d = doc(capsys, "vm", "--instancetype=u1.medium", "--preference=virtualmachinepreference/fedora")
    assert d["spec"]["instancetype"] == {"name": "u1.medium"}       # the api defaults the cluster kind
    assert d["spec"]["preference"] == {"name": "fedora", "kind": "virtualmachinepreference"}
    assert "memory" not in d["spec"]["template"]["spec"]["domain"]
    d = doc(capsys, "vm", "--instancetype=VirtualMachineInstancetype/small")
    assert d["spec"]["instancetype"] == {"name": "small", "kind": "virtualmachineinstancetype"}


def test_volumes_in_virtctls_order_with_boot_orders(capsys):
    d, warnings = doc_and_warnings(capsys, "vm", "--name=v",
            "--volume-import=type:http,url:https://images.example.com/fedora.qcow2,size:10Gi,name:root,bootorder:1",
            "--volume-import=type:blank,size:1Gi,name:scratch",
            "--volume-pvc=src:data", "--volume-containerdisk=src:quay.io/containerdisks/fedora:41,bootorder:2",
            "--volume-blank=name:legacy,size:2Gi")
    spec = d["spec"]["template"]["spec"]
    # containerdisk > PVC > (deprecated) blank > imported volumes, whatever the order on the command line.
    assert [v["name"] for v in spec["volumes"]] == ["v-containerdisk-0", "data", "legacy", "root", "scratch"]
    assert spec["domain"]["devices"]["disks"] == [{"bootOrder": 2, "name": "v-containerdisk-0"},
                                                  {"bootOrder": 1, "name": "root"}]
    assert spec["volumes"][1] == {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}
    assert d["spec"]["dataVolumeTemplates"] == [
        {"metadata": {"creationTimestamp": None, "name": "legacy"},
         "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "2Gi"}}}}},
        {"metadata": {"creationTimestamp": None, "name": "root"},
         "spec": {"source": {"http": {"url": "https://images.example.com/fedora.qcow2"}},
                  "storage": {"resources": {"requests": {"storage": "10Gi"}}}}},
        {"metadata": {"creationTimestamp": None, "name": "scratch"},
         "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}}}]
    assert warnings == "Flag --volume-blank has been deprecated, use flag --volume-import instead\n"
    d = doc(capsys, "vm", "--volume-import=type:blank,size:1Gi")
    assert re.fullmatch(f"imported-volume-{RAND}", d["spec"]["dataVolumeTemplates"][0]["metadata"]["name"])


def test_inference_from_the_first_boot_volume(capsys):
    # Implicit (the default): a clone can carry the labels; a failed inference is ignored by the api.
    d = doc(capsys, "vm", "--volume-import=type:pvc,src:golden/fedora,name:root")
    for field in ("instancetype", "preference"):
        assert d["spec"][field] == {"inferFromVolume": "root", "inferFromVolumeFailurePolicy": "Ignore"}
    assert d["spec"]["template"]["spec"]["domain"]["memory"] == {"guest": "512Mi"}   # the fallback
    assert d["spec"]["dataVolumeTemplates"][0]["spec"] == {
        "source": {"pvc": {"name": "fedora", "namespace": "golden"}}, "storage": {"resources": {}}}
    # Explicit: failures are the command's, and the instance type brings the memory.
    d = doc(capsys, "vm", "--volume-pvc=src:a", "--volume-pvc=src:b,bootorder:1", "--infer-instancetype")
    assert d["spec"]["instancetype"] == {"inferFromVolume": "b"}
    assert "memory" not in d["spec"]["template"]["spec"]["domain"]
    # An import has nothing to infer from: implicitly skipped, explicitly an error.
    d = doc(capsys, "vm", "--volume-import=type:http,url:https://x.example/a.img,size:1Gi")
    assert "instancetype" not in d["spec"] and "preference" not in d["spec"]
    assert fails(capsys, "vm", "--volume-import=type:blank,size:1Gi,name:b", "--infer-preference-from=b") == (
        "this datavolume is not valid to infer an instancetype or preference from (source needs to be PVC, "
        "Registry or Snapshot, sourceRef needs to be DataSource)")
    assert fails(capsys, "vm", "--volume-containerdisk=src:quay.io/x/y", "--infer-instancetype") == (
        "inference of instancetype or preference works only with datasources, datavolumes or pvcs")
    d = doc(capsys, "vm", "--volume-pvc=src:a", "--infer-instancetype=false", "--infer-preference=false")
    assert "instancetype" not in d["spec"] and "preference" not in d["spec"]


def test_cloud_init_from_user_keys_and_password(capsys, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    d, warnings = doc_and_warnings(capsys, "vm", "--user=fedora", f"--password-file={pw}", "--ssh-key=ssh-ed25519 AAAA one,ssh-rsa BBBB two",
            "--ssh-key=ssh-ed25519 CCCC three", "--ga-manage-ssh")
    vol = d["spec"]["template"]["spec"]["volumes"][0]
    assert vol["name"] == "cloudinitdisk"
    assert vol["cloudInitNoCloud"]["userData"] == (
        "#cloud-config\nuser: fedora\npassword: s3cret\nchpasswd: { expire: False }\nssh_authorized_keys:\n"
        "  - ssh-ed25519 AAAA one\n  - ssh-rsa BBBB two\n  - ssh-ed25519 CCCC three\n"
        "runcmd:\n  - [ setsebool, -P, 'virt_qemu_ga_manage_ssh', 'on' ]")
    assert warnings == "WARNING: --password-file: The password is stored in cleartext in the VM definition!\n"
    d = doc(capsys, "vm", "--cloud-init-user-data=I2Nsb3VkLWNvbmZpZw==", "--cloud-init-network-data=bmV0")
    assert d["spec"]["template"]["spec"]["volumes"][0]["cloudInitNoCloud"] == {
        "userDataBase64": "I2Nsb3VkLWNvbmZpZw==", "networkDataBase64": "bmV0"}
    d = doc(capsys, "vm", "--cloud-init=none", "--user=x")
    assert "volumes" not in d["spec"]["template"]["spec"]
    d = doc(capsys, "vm", "--cloud-init=nocloud")                    # asked for: even a bare header
    assert d["spec"]["template"]["spec"]["volumes"][0]["cloudInitNoCloud"] == {"userData": "#cloud-config"}
    # An SSH key Secret through cloud-init: its data source is made even without other cloud-init flags.
    d = doc(capsys, "vm", "--access-cred=type:ssh,src:my-keys,method:configdrive")
    assert d["spec"]["template"]["spec"]["accessCredentials"] == [
        {"sshPublicKey": {"propagationMethod": {"configDrive": {}}, "source": {"secret": {"secretName": "my-keys"}}}}]
    assert d["spec"]["template"]["spec"]["volumes"] == [
        {"cloudInitConfigDrive": {"userData": "#cloud-config"}, "name": "cloudinitdisk"}]
    d = doc(capsys, "vm", "--cloud-init=configdrive", "--user=u")   # the same data, as a config drive
    assert d["spec"]["template"]["spec"]["volumes"][0] == {
        "cloudInitConfigDrive": {"userData": "#cloud-config\nuser: u"}, "name": "cloudinitdisk"}


@pytest.mark.parametrize("args, text", [
    (("--memory=1Gi", "--instancetype=u1.small"),
     "if any flags in the group [memory instancetype infer-instancetype infer-instancetype-from] are set none of "
     "the others can be; [instancetype memory] were all set"),
    (("--preference=p", "--infer-preference-from=v"),
     "if any flags in the group [preference infer-preference infer-preference-from] are set none of the others "
     "can be; [infer-preference-from preference] were all set"),
    (("--user=u", "--cloud-init-user-data=eA=="),
     "if any flags in the group [cloud-init-user-data user] are set none of the others can be; "
     "[cloud-init-user-data user] were all set"),
    (("--run-strategy=Sometimes",),
     'failed to parse "--run-strategy" flag: invalid run strategy "Sometimes", supported values are: Always, '
     "Manual, Halted, Once, RerunOnFailure"),
    (("--memory=lots",), 'failed to parse "--memory" flag: quantities must match the regular expression '
                         "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got 'lots'"),
    (("--instancetype=flavor/x",), 'failed to parse "--instancetype" flag: invalid instancetype kind "flavor", '
                                   "supported values are: virtualmachineinstancetype, virtualmachineclusterinstancetype"),
    (("--preference=a/b/c",), 'failed to parse "--preference" flag: invalid count 2 of slashes in prefix/name'),
    (("--volume-pvc=my-pvc",), 'failed to parse "--volume-pvc" flag: params need to have at least one colon: my-pvc'),
    (("--volume-pvc=src:ns/my-pvc",), 'failed to parse "--volume-pvc" flag: not allowed to specify namespace of '
                                      'pvc "my-pvc"'),
    (("--volume-pvc=src:a,colour:blue",), 'failed to parse "--volume-pvc" flag: unknown param(s): colour:blue'),
    (("--volume-containerdisk=name:x",), 'failed to parse "--volume-containerdisk" flag: src must be specified'),
    (("--volume-containerdisk=src:a,name:Big_Disk",),
     'failed to parse "--volume-containerdisk" flag: invalid name "Big_Disk": a lowercase RFC 1123 label must '
     "consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character "
     "(e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    (("--volume-pvc=src:a,name:d", "--volume-import=type:blank,size:1Gi,name:d"),
     'failed to parse "--volume-import" flag: there is already a volume with name "d"'),
    (("--volume-pvc=src:a,bootorder:1", "--volume-import=type:blank,size:1Gi,bootorder:1"),
     'failed to parse "--volume-import" flag: bootorder 1 was specified multiple times'),
    (("--volume-pvc=src:a,bootorder:0",), 'failed to parse "--volume-pvc" flag: bootorder must be greater than 0'),
    (("--volume-pvc=src:a,bootorder:first",), 'failed to parse "--volume-pvc" flag: failed to parse param '
                                              '"bootorder": strconv.ParseUint: parsing "first": invalid syntax'),
    (("--volume-import=type:blank",), 'failed to parse "--volume-import" flag: size must be specified'),
    (("--volume-import=size:1Gi",), 'failed to parse "--volume-import" flag: type must be specified'),
    (("--volume-import=type:floppy",), 'failed to parse "--volume-import" flag: invalid volume import type '
                                       '"floppy", see help for supported values'),
    (("--volume-import=type:http,size:1Gi",), 'failed to parse "--volume-import" flag: url is required with http '
                                              "volume source"),
    (("--volume-import=type:pvc,src:golden",), 'failed to parse "--volume-import" flag: namespace of pvc "golden" '
                                               "must be specified"),
    (("--infer-instancetype-from=nope", "--volume-pvc=src:a"), 'there is no volume with name "nope"'),
    (("--infer-preference",), "at least one volume is needed to infer an instance type or preference"),
    (("--cloud-init=cd-rom", "--user=u"), 'failed to parse "--cloud-init" flag: invalid cloud-init data source type '
                                          '"cd-rom", supported values are: nocloud, configdrive, none'),
    # What virtctl prints but this mesh's schema cannot hold: refused naming the flag.
    (("--volume-import=type:registry,url:docker://quay.io/x/y,size:1Gi",),
     'failed to parse "--volume-import" flag: volume import type "registry" is not supported by this mesh\'s '
     "DataVolumes (supported: blank, http, pvc)"),
    (("--volume-import=type:http,url:https://x/y,size:1Gi,secretref:creds",),
     'failed to parse "--volume-import" flag: param(s) secretref of type http are not supported by this mesh\'s '
     "DataVolumes (the http source is a url)"),
    (("--volume-sysprep=src:unattend",), 'failed to parse "--volume-sysprep" flag: sysprep volumes are not '
                                         "supported by this mesh's VirtualMachines"),
    (("--access-cred=type:ssh,src:keys",), 'failed to parse "--access-cred" flag: SSH keys through the guest agent '
                                           "(method ga) are not supported by this mesh's VirtualMachines; use "
                                           "method:nocloud or method:configdrive"),
    (("--access-cred=src:keys,method:nocloud", "--cloud-init=configdrive"),
     'failed to parse "--access-cred" flag: method param and value passed to --cloud-init have to match: nocloud vs '
     "configdrive"),
    (("--access-cred=src:ns/keys,method:nocloud",), 'failed to parse "--access-cred" flag: not allowed to specify '
                                                    'namespace of secret "keys"'),
    (("--access-cred=src:keys,method:nocloud,user:u",), 'failed to parse "--access-cred" flag: user cannot be '
                                                        "specified with selected access credential type and method"),
])
def test_vm_flag_errors_are_virtctls(capsys, args, text):
    assert fails(capsys, "vm", *args) == text


# ---------------------------------------------------------------- create instancetype / preference

def test_instancetypes(capsys):
    d = doc(capsys, "instancetype", "--cpu", "2", "--memory", "256Mi")
    assert re.fullmatch(f"clusterinstancetype-{RAND}", d["metadata"]["name"])
    assert d == {"apiVersion": "instancetype.kubevirt.io/v1beta1", "kind": "VirtualMachineClusterInstancetype",
                 "metadata": {"creationTimestamp": None, "name": d["metadata"]["name"]},
                 "spec": {"cpu": {"guest": 2}, "memory": {"guest": "256Mi"}}}
    d = doc(capsys, "instancetype", "--namespaced", "--name=small", "--cpu=1", "--memory=1Gi",
            "--iothreadspolicy=shared", "--gpu=name:gpu1,devicename:nvidia.com/A100", "--hostdevice=name:h,devicename:x/y")
    assert (d["kind"], d["metadata"]) == ("VirtualMachineInstancetype", {"creationTimestamp": None, "name": "small"})
    assert d["spec"]["gpus"] == [{"deviceName": "nvidia.com/A100", "name": "gpu1"}]
    assert d["spec"]["hostDevices"] == [{"deviceName": "x/y", "name": "h"}]
    assert d["spec"]["ioThreadsPolicy"] == "shared"
    d = doc(capsys, "instancetype", "-n", "prod", "--cpu=1", "--memory=1Gi")   # a namespace makes it namespaced
    assert d["kind"] == "VirtualMachineInstancetype" and d["metadata"]["namespace"] == "prod"
    assert re.fullmatch(f"instancetype-{RAND}", d["metadata"]["name"])


@pytest.mark.parametrize("args, text", [
    ((), 'required flag(s) "cpu", "memory" not set'),
    (("--cpu=2",), 'required flag(s) "memory" not set'),
    (("--cpu=0", "--memory=1Gi"), "cpu value must be greater than zero"),
    (("--cpu=1", "--memory=1Gb"), "quantities must match the regular expression "
                                  "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$', got '1Gb'"),
    (("--cpu=1", "--memory=1Gi", "--iothreadspolicy=dedicated"),
     'failed to parse "--iothreadspolicy" flag: IOThread must be of value auto or shared'),
    (("--cpu=1", "--memory=1Gi", "--gpu=name:g"), 'failed to parse "--gpu" flag: deviceName must be specified'),
    (("--cpu=1", "--memory=1Gi", "--hostdevice=devicename:d"), 'failed to parse "--hostdevice" flag: name must be '
                                                               "specified"),
])
def test_instancetype_errors(capsys, args, text):
    assert fails(capsys, "instancetype", *args) == text


def test_preferences(capsys):
    d = doc(capsys, "preference")
    assert re.fullmatch(f"clusterpreference-{RAND}", d["metadata"]["name"])
    assert (d["kind"], d["spec"]) == ("VirtualMachineClusterPreference", {})
    d = doc(capsys, "preference", "--namespaced", "--name=linux", "--cpu-topology=spread", "--machine-type=q35",
            "--volume-storage-class=local")
    assert d["kind"] == "VirtualMachinePreference" and d["metadata"]["name"] == "linux"
    assert d["spec"] == {"cpu": {"preferredCPUTopology": "spread"}, "machine": {"preferredMachineType": "q35"},
                         "volumes": {"preferredStorageClassName": "local"}}
    assert fails(capsys, "preference", "--cpu-topology=cubes") == (
        'failed to parse "--cpu-topology" flag: CPU topology must have a value of sockets, cores, threads or spread')


# ---------------------------------------------------------------- what the api makes of them

def test_the_api_takes_them_as_printed(capsys, tmp_path):
    db = store.Store(os.path.join(tmp_path, "store.db"))
    try:
        r = Resources(db)
        r.create(manifest.to_object({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data2"},
                                     "spec": {"accessModes": ["ReadWriteOnce"],
                                              "resources": {"requests": {"storage": "8Mi"}}}}))
        for args in (("instancetype", "--name=c1", "--cpu=2", "--memory=256Mi"),
                     ("preference", "--name=cores", "--cpu-topology=cores"),
                     ("vm", "--name=sized", "--instancetype=c1", "--preference=cores",
                      "--volume-import=type:blank,size:64Mi,name:data"),
                     ("vm", "--name=plain", "--volume-pvc=src:data2", "--user=fedora", "--run-strategy=Halted")):
            r.create(manifest.to_object(doc(capsys, *args)))
        vm = proto.inner(r.get(proto.VM, "default", "sized"))
        assert vm.spec.instancetype.kind == "virtualmachineclusterinstancetype"
        assert vm.spec.dataVolumeTemplates[0].metadata.name == "data"
        # Inferred from a claim without the labels: dropped (Ignore), the memory of the command kept.
        plain = proto.inner(r.get(proto.VM, "default", "plain"))
        assert not plain.spec.HasField("instancetype") and plain.spec.template.spec.domain.memory.guest == "512Mi"
    finally:
        db.close()


@pytest.fixture
def mesh():
    from harness import Mesh
    d = short_tmpdir("vmcreate-")
    m = Mesh(d, "test:///default")
    yield m
    m.stop()
    shutil.rmtree(d, ignore_errors=True)


def test_created_manifests_piped_into_apply_run_on_a_mesh(mesh):
    m = mesh
    for args in (("instancetype", "--name=tiny", "--cpu=2", "--memory=64Mi"),
                 ("preference", "--name=cores", "--cpu-topology=cores"),
                 ("vm", "--name=made", "--instancetype=tiny", "--preference=cores",
                  "--volume-import=type:blank,size:8Mi,name:made-data", "--termination-grace-period=0")):
        out = m.cli("create", *args).stdout
        assert "created" in m.cli("apply", "-f", "-", input=out).stdout
    m.wait_for(lambda: m.vm_status("made") == "Running", 60, "the created VM Running")
    vmi = m.get("vmi", "made")
    cpu = vmi["spec"]["domain"]["cpu"]
    assert (cpu["sockets"], cpu["cores"], vmi["spec"]["domain"]["memory"]["guest"]) == (1, 2, "64Mi")
    assert [d["name"] for d in vmi["spec"]["domain"]["devices"]["disks"]] == ["made-data"]   # a default disk
    assert (m.get("dv", "made-data") or {}).get("status", {}).get("phase") == "Succeeded"
    m.cli("delete", "vm", "made")
    m.wait_for(lambda: m.get("dv", "made-data") is None, 60, "its DataVolume deleted with it")
