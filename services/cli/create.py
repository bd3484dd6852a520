"""`virtmesh create vm|instancetype|preference`: virtctl's manifest generators (KubeVirt 1.6's
pkg/virtctl/create). Each prints a manifest on stdout and talks to no api, so its output can be
reviewed, kept, or piped into `virtmesh apply -f -` / `kubectl create -f -`.

Flag names, defaults (`create vm`: RunStrategy Always, 512Mi, grace period 180, instance type and
preference inferred from the first boot volume when they can be), the `param:value,...` syntax of the
volume flags, random names (`vm-xxxxx`, `clusterinstancetype-xxxxx` ...), boot order and error texts
(`failed to parse "--volume-import" flag: ...`) are virtctl's, and the manifest is what virtctl prints
(keys sorted, `creationTimestamp: null` and the empty structs Go writes). What this mesh's schema has no
counterpart for -- import types other than blank, http and pvc, http import credentials, sysprep,
access credentials through the guest agent -- is refused naming the flag, rather than printed as a
manifest the api would refuse.
"""
from __future__ import annotations

import argparse
import random
import re
import sys

import yaml

from services.common import domain, proto, quantity
from services.common import instancetype as it

# k8s.io/apimachinery/pkg/util/rand's alphabet (no vowels, no confusable digits).
_RAND_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
VM_KIND = proto.KINDS[proto.VM]
# The run strategies in the order virtctl lists them.
RUN_STRATEGIES = (domain.RUN_ALWAYS, domain.RUN_MANUAL, domain.RUN_HALTED, domain.RUN_ONCE, domain.RUN_RERUN_ON_FAILURE)
# The matcher kinds virtctl takes (singular resource names), and the CPU topologies (IsPreferredTopologySupported).
INSTANCETYPE_KINDS = (it.INSTANCETYPE_NAMES[0], it.CLUSTER_INSTANCETYPE_NAMES[0])
PREFERENCE_KINDS = (it.PREFERENCE_NAMES[0], it.CLUSTER_PREFERENCE_NAMES[0])
CPU_TOPOLOGIES = (*it.DEPRECATED_TOPOLOGIES, *it.TOPOLOGIES)
IO_THREADS_POLICIES = ("auto", "shared")
IMPORT_TYPES = ("blank", "http", "pvc")                      # what this mesh's DataVolumes can hold
VIRTCTL_ONLY_IMPORT_TYPES = ("gcs", "imageio", "registry", "s3", "vddk", "snapshot", "ds")
SIZE_OPTIONAL = ("pvc",)
CLOUD_INIT_HEADER = "#cloud-config"
CLOUD_INIT_DISK = "cloudinitdisk"
GA_MANAGE_SSH = "runcmd:\n  - [ setsebool, -P, 'virt_qemu_ga_manage_ssh', 'on' ]"
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class CreateError(Exception):
    """Raised with virtctl's text; the CLI prints it as `error: ...`."""


def flag_err(flag: str, text: str) -> CreateError:
    """params.FlagErr."""
    return CreateError(f'failed to parse "--{flag}" flag: {text}')


def rand_string(n: int = 5) -> str:
    return "".join(random.choice(_RAND_ALPHABET) for _ in range(n))


# ---------------------------------------------------------------- virtctl's `param:value,...` flags

# Param kinds: str, "uint", "quantity".
VOLUME_SOURCE = {"name": str, "src": str, "bootorder": "uint"}
DV_BLANK = {"size": "quantity", "type": str, "name": str, "bootorder": "uint"}
DV_HTTP = {"url": str, "size": "quantity", "type": str, "name": str, "bootorder": "uint"}
DV_SOURCE = {"name": str, "src": str, "size": "quantity", "type": str, "bootorder": "uint"}
GPU_PARAMS = {"name": str, "devicename": str}
ACCESS_CRED = {"type": str, "src": str, "method": str, "user": str}
# virtctl's http import takes these too; this mesh's http source is a URL only.
HTTP_UNSUPPORTED = ("certconfigmap", "extraheaders", "secretextraheaders", "secretref")


def split_params(text: str) -> dict[str, str]:
    """params.split: `a:1,b:2` -> {a: 1, b: 2}; a value may hold colons (`url:http://x`)."""
    if text == "":
        raise ValueError("params may not be empty")
    out = {}
    for param in text.split(","):
        key, sep, value = param.partition(":")
        if not sep:
            raise ValueError(f"params need to have at least one colon: {param}")
        out[key] = value
    return out


def map_params(flag: str, text: str, spec: dict) -> dict:
    """params.Map: the params of `spec` parsed by kind, every other one refused."""
    try:
        raw = split_params(text)
    except ValueError as e:
        raise flag_err(flag, str(e)) from None
    out: dict[str, int | str] = {}
    for key, kind in spec.items():
        if key not in raw:
            continue
        value = raw.pop(key)
        if kind == "uint":
            if not value.isdigit() or int(value) > 2**32 - 1:
                raise flag_err(flag, f'failed to parse param "{key}": strconv.ParseUint: parsing "{value}": '
                                     + ("value out of range" if value.isdigit() else "invalid syntax"))
            out[key] = int(value)
        elif kind == "quantity":
            try:
                quantity.parse(value)
            except ValueError as e:
                raise flag_err(flag, f'failed to parse param "{key}": {e}') from None
            out[key] = value
        else:
            out[key] = value
    if raw:
        raise flag_err(flag, "unknown param(s): " + ",".join(f"{k}:{v}" for k, v in raw.items()))
    return out


def split_prefixed_name(text: str) -> tuple[str, str]:
    """params.SplitPrefixedName: `prefix/name` or `name`."""
    parts = text.split("/")
    if len(parts) > 2:
        raise ValueError(f"invalid count {len(parts) - 1} of slashes in prefix/name")
    prefix, name = (parts[0], parts[1]) if len(parts) == 2 else ("", parts[0])
    if not name:
        raise ValueError("name cannot be empty")
    return prefix, name


def source_param(flag: str, params: dict) -> tuple[str, str]:
    """The `src` param as (namespace, name), with virtctl's errors when it is missing or malformed."""
    if not params.get("src"):
        raise flag_err(flag, "src must be specified")
    try:
        return split_prefixed_name(params["src"])
    except ValueError as e:
        raise flag_err(flag, f"src invalid: {e}") from None


def local_source(flag: str, src: dict, what: str) -> str:
    """The `src` param naming an object of the VM's own namespace (a pvc, a secret), with virtctl's errors."""
    namespace, name = source_param(flag, src)
    if namespace:
        raise flag_err(flag, f'not allowed to specify namespace of {what} "{name}"')
    return name


def dns1123_label_errors(name: str) -> list[str]:
    """validation.IsDNS1123Label's messages."""
    errs = []
    if len(name) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS1123_LABEL.match(name):
        errs.append("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                    "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                    "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
    return errs


def _check_label(flag: str, name: str) -> None:
    errs = dns1123_label_errors(name)
    if errs:
        raise flag_err(flag, f'invalid name "{name}": {",".join(errs)}')


# ---------------------------------------------------------------- create vm

class VMBuilder:
    """createVM: the flags applied in virtctl's order (which is also the default boot order:
    containerdisk > PVC > clone PVC > blank > imported volumes), then cloud-init, then inference."""

    def __init__(self, args, changed: set[str]):
        self.args, self.changed = args, changed
        self.boot_orders: dict[int, str] = {}
        self.imports = list(args.volume_import or [])

    def set(self, flag: str) -> bool:
        return flag in self.changed

    # -- the skeleton (newVM)
    def new_vm(self) -> dict:
        a = self.args
        try:
            quantity.parse(a.memory)
        except ValueError as e:
            raise flag_err("memory", str(e)) from None
        meta = {"creationTimestamp": None, "name": a.name}
        if a.namespace:
            meta["namespace"] = a.namespace
        return {"apiVersion": VM_KIND.api_version, "kind": VM_KIND.kind, "metadata": meta,
                "spec": {"runStrategy": a.run_strategy,
                         "template": {"metadata": {"creationTimestamp": None},
                                      "spec": {"domain": {"devices": {}, "memory": {"guest": a.memory},
                                                          "resources": {}},
                                               "terminationGracePeriodSeconds": a.termination_grace_period}}},
                "status": {}}

    @staticmethod
    def _tspec(vm) -> dict:
        return vm["spec"]["template"]["spec"]

    def _volumes(self, vm) -> list:
        return self._tspec(vm).setdefault("volumes", [])

    def _volume(self, vm, name: str):
        return next((v for v in self._tspec(vm).get("volumes", []) if v["name"] == name), None)

    def _should_not_exist(self, flag: str, vm, name: str) -> None:
        if self._volume(vm, name) is not None:
            raise flag_err(flag, f'there is already a volume with name "{name}"')

    def _boot_disk(self, flag: str, vm, name: str, order) -> None:
        """addDiskWithBootOrder."""
        if order is None:
            return
        if order == 0:
            raise flag_err(flag, "bootorder must be greater than 0")
        if order in self.boot_orders:
            raise flag_err(flag, f"bootorder {order} was specified multiple times")
        self._tspec(vm)["domain"]["devices"].setdefault("disks", []).append({"bootOrder": order, "name": name})
        self.boot_orders[order] = name

    # -- the flags, in virtctl's order
    def run_strategy(self, vm) -> None:
        for rs in RUN_STRATEGIES:
            if rs.lower() == self.args.run_strategy.lower():
                vm["spec"]["runStrategy"] = rs
                return
        raise flag_err("run-strategy", f'invalid run strategy "{self.args.run_strategy}", supported values are: '
                                       + ", ".join(RUN_STRATEGIES))

    def _matcher(self, flag: str, value: str, kinds: tuple[str, str], what: str) -> dict:
        try:
            kind, name = split_prefixed_name(value)
        except ValueError as e:
            raise flag_err(flag, str(e)) from None
        kind = kind.lower()
        if kind and kind not in kinds:
            raise flag_err(flag, f'invalid {what} kind "{kind}", supported values are: {", ".join(kinds)}')
        return {"name": name, **({"kind": kind} if kind else {})}   # "": the api defaults the cluster kind

    def instancetype(self, vm) -> None:
        vm["spec"]["instancetype"] = self._matcher("instancetype", self.args.instancetype, INSTANCETYPE_KINDS,
                                                   "instancetype")
        self._tspec(vm)["domain"].pop("memory", None)   # the instance type brings it

    def preference(self, vm) -> None:
        vm["spec"]["preference"] = self._matcher("preference", self.args.preference, PREFERENCE_KINDS, "preference")

    def containerdisks(self, vm) -> None:
        flag = "volume-containerdisk"
        for i, text in enumerate(self.args.volume_containerdisk or []):
            src = map_params(flag, text, VOLUME_SOURCE)
            if not src.get("src"):
                raise flag_err(flag, "src must be specified")
            name = src.get("name") or f"{vm['metadata']['name']}-containerdisk-{i}"
            _check_label(flag, name)
            self._should_not_exist(flag, vm, name)
            self._volumes(vm).append({"containerDisk": {"image": src["src"]}, "name": name})
            self._boot_disk(flag, vm, name, src.get("bootorder"))

    def pvcs(self, vm) -> None:
        flag = "volume-pvc"
        for text in self.args.volume_pvc or []:
            src = map_params(flag, text, VOLUME_SOURCE)
            claim = local_source(flag, src, "pvc")
            name = src.get("name") or claim
            _check_label(flag, name)
            self._should_not_exist(flag, vm, name)
            self._volumes(vm).append({"name": name, "persistentVolumeClaim": {"claimName": claim}})
            self._boot_disk(flag, vm, name, src.get("bootorder"))

    def deprecated_alias(self, flag: str, kind: str, values) -> None:
        """aliasToVolumeImport: --volume-clone-pvc / --volume-blank / --volume-datasource as --volume-import."""
        print(f"Flag --{flag} has been deprecated, use flag --volume-import instead", file=sys.stderr)
        for text in values or []:
            if text == "":
                raise flag_err("volume-import", "params may not be empty")
            self.imports.insert(0, f"type:{kind},{text}")   # ahead: the documented boot order
        self.changed.add("volume-import")

    def imported_volumes(self, vm) -> None:
        flag = "volume-import"
        for text in self.imports:
            try:
                kind = split_params(text).get("type")
            except ValueError as e:
                raise flag_err(flag, str(e)) from None
            if kind is None:
                raise flag_err(flag, "type must be specified")
            if kind in VIRTCTL_ONLY_IMPORT_TYPES:
                raise flag_err(flag, f'volume import type "{kind}" is not supported by this mesh\'s DataVolumes '
                                     f"(supported: {', '.join(IMPORT_TYPES)})")
            if kind not in IMPORT_TYPES:
                raise flag_err(flag, f'invalid volume import type "{kind}", see help for supported values')
            spec, params = self._import_source(flag, kind, text)
            if "size" not in params and kind not in SIZE_OPTIONAL:
                raise flag_err(flag, "size must be specified")
            name = params.get("name") or "imported-volume-" + rand_string()
            _check_label(flag, name)
            self._should_not_exist(flag, vm, name)
            spec["storage"] = {"resources": {"requests": {"storage": params["size"]}} if "size" in params else {}}
            vm["spec"].setdefault("dataVolumeTemplates", []).append(
                {"metadata": {"creationTimestamp": None, "name": name}, "spec": spec})
            self._volumes(vm).append({"dataVolume": {"name": name}, "name": name})
            self._boot_disk(flag, vm, name, params.get("bootorder"))

    @staticmethod
    def _import_source(flag: str, kind: str, text: str) -> tuple[dict, dict]:
        if kind == "blank":
            return {"source": {"blank": {}}}, map_params(flag, text, DV_BLANK)
        if kind == "http":
            extra = [k for k in split_params(text) if k in HTTP_UNSUPPORTED]
            if extra:
                raise flag_err(flag, f"param(s) {', '.join(extra)} of type http are not supported by this "
                                     "mesh's DataVolumes (the http source is a url)")
            params = map_params(flag, text, DV_HTTP)
            if not params.get("url"):
                raise flag_err(flag, "url is required with http volume source")
            return {"source": {"http": {"url": params["url"]}}}, params
        params = map_params(flag, text, DV_SOURCE)   # pvc: a clone of namespace/name
        namespace, name = source_param(flag, params)
        if not namespace:
            raise flag_err(flag, f'namespace of pvc "{name}" must be specified')
        return {"source": {"pvc": {"name": name, "namespace": namespace}}}, params

    def unsupported(self, flag: str, what: str) -> None:
        raise flag_err(flag, f"{what} are not supported by this mesh's VirtualMachines")

    # -- access credentials (withAccessCredential)
    def access_credentials(self, vm) -> None:
        flag = "access-cred"
        for text in self.args.access_cred:
            src = map_params(flag, text, ACCESS_CRED)
            name = local_source(flag, src, "secret")
            kind, method = src.get("type", "").lower(), src.get("method", "").lower()
            if kind == "password":
                raise flag_err(flag, "passwords through the guest agent are not supported by this mesh's "
                                     "VirtualMachines")
            if kind not in ("ssh", ""):
                raise flag_err(flag, f'invalid access credential type "{src["type"]}", supported values are: '
                                     "ssh, password")
            if method in ("ga", ""):
                raise flag_err(flag, "SSH keys through the guest agent (method ga) are not supported by this mesh's "
                                     "VirtualMachines; use method:nocloud or method:configdrive")
            if method not in ("nocloud", "configdrive"):
                raise flag_err(flag, f'invalid access credentials ssh method "{src["method"]}", supported values '
                                     "are: ga, nocloud, configdrive")
            if src.get("user"):
                raise flag_err(flag, "user cannot be specified with selected access credential type and method")
            if not self.set("cloud-init"):   # virtctl sets --cloud-init to the method's data source
                self.args.cloud_init = method
                self.changed.add("cloud-init")
            if self.args.cloud_init.lower() != method:
                raise flag_err(flag, f"method param and value passed to --cloud-init have to match: {method} vs "
                                     f"{self.args.cloud_init}")
            propagation = "noCloud" if method == "nocloud" else "configDrive"
            vm["spec"]["template"]["spec"].setdefault("accessCredentials", []).append(
                {"sshPublicKey": {"propagationMethod": {propagation: {}}, "source": {"secret": {"secretName": name}}}})

    # -- cloud-init (cloudInitConfig)
    CLOUD_INIT_FLAGS = ("user", "password-file", "ssh-key", "ga-manage-ssh", "cloud-init", "cloud-init-user-data",
                        "cloud-init-network-data")

    def cloud_init(self, vm) -> None:
        a = self.args
        if not any(self.set(f) for f in self.CLOUD_INIT_FLAGS):
            return
        if self.set("password-file"):
            print("WARNING: --password-file: The password is stored in cleartext in the VM definition!",
                  file=sys.stderr)
        if self._volume(vm, CLOUD_INIT_DISK) is not None:
            raise CreateError(f'there is already a volume with name "{CLOUD_INIT_DISK}"')
        kind = a.cloud_init.lower()
        if kind == "none":
            if any(self.set(f) for f in ("password-file", "ssh-key", "ga-manage-ssh", "cloud-init-user-data",
                                         "cloud-init-network-data")):
                print("WARNING: --cloud-init: was set to none, not creating a data source although other "
                      "cloud-init options were set", file=sys.stderr)
            return
        if kind not in ("nocloud", "configdrive"):
            raise flag_err("cloud-init", f'invalid cloud-init data source type "{a.cloud_init}", supported values '
                                         "are: nocloud, configdrive, none")
        src = {}
        if a.cloud_init_network_data:
            src["networkDataBase64"] = a.cloud_init_network_data
        if a.cloud_init_user_data:
            src["userDataBase64"] = a.cloud_init_user_data
        else:
            src["userData"] = self._cloud_config()
        empty = src.get("userData") == CLOUD_INIT_HEADER and "networkDataBase64" not in src
        if not self.set("cloud-init") and empty:
            return   # nothing asked beyond the header
        source = "cloudInitNoCloud" if kind == "nocloud" else "cloudInitConfigDrive"
        self._volumes(vm).append({source: src, "name": CLOUD_INIT_DISK})

    def _cloud_config(self) -> str:
        a = self.args
        config = CLOUD_INIT_HEADER
        if a.user:
            config += "\nuser: " + a.user
        if a.password_file:
            try:
                with open(a.password_file) as f:
                    password = f.read().strip()
            except OSError as e:
                raise flag_err("password-file", f"open {a.password_file}: {(e.strerror or str(e)).lower()}") from None
            if password:
                config += f"\npassword: {password}\nchpasswd: {{ expire: False }}"
        keys = [k for v in (a.ssh_key or []) for k in v.split(",") if k]
        if keys:
            config += "\nssh_authorized_keys:" + "".join(f"\n  - {k}" for k in keys)
        if a.ga_manage_ssh:
            config += "\n" + GA_MANAGE_SSH
        return config

    # -- inference (inferFromVolume)
    def infer(self, vm) -> None:
        a = self.args
        explicit_it = self.set("infer-instancetype") or self.set("infer-instancetype-from")
        explicit_pref = self.set("infer-preference") or self.set("infer-preference-from")
        if a.infer_instancetype and not a.instancetype and not self.set("memory"):
            try:
                self._infer(vm, "instancetype", a.infer_instancetype_from, explicit_it)
            except CreateError:
                if explicit_it:
                    raise
        if a.infer_preference and not a.preference:
            try:
                self._infer(vm, "preference", a.infer_preference_from, explicit_pref)
            except CreateError:
                if explicit_pref:
                    raise

    def _infer(self, vm, field: str, volume: str, explicit: bool) -> None:
        if not volume:
            volume = self._first_boot_volume(vm)
        vol = self._volume(vm, volume)
        if vol is None:
            raise CreateError(f'there is no volume with name "{volume}"')
        self._valid_to_infer_from(vm, vol)
        matcher = {"inferFromVolume": volume}
        if field == "instancetype" and explicit:
            self._tspec(vm)["domain"].pop("memory", None)   # the inferred instance type brings it
        elif not explicit:
            # Implicit: a failed inference is ignored by the api, which then keeps the memory given here.
            matcher["inferFromVolumeFailurePolicy"] = "Ignore"
        vm["spec"][field] = matcher

    def _first_boot_volume(self, vm) -> str:
        volumes = self._tspec(vm).get("volumes", [])
        if not volumes:
            raise CreateError("at least one volume is needed to infer an instance type or preference")
        if self.boot_orders:
            return self.boot_orders[min(self.boot_orders)]
        return volumes[0]["name"]

    @staticmethod
    def _valid_to_infer_from(vm, vol) -> None:
        if "dataVolume" in vol:
            for t in vm["spec"].get("dataVolumeTemplates", []):
                if t["metadata"]["name"] == vol["dataVolume"]["name"]:
                    if "pvc" in t["spec"].get("source", {}):
                        return
                    raise CreateError("this datavolume is not valid to infer an instancetype or preference from "
                                      "(source needs to be PVC, Registry or Snapshot, sourceRef needs to be "
                                      "DataSource)")
            return
        if "persistentVolumeClaim" in vol:
            return
        raise CreateError("inference of instancetype or preference works only with datasources, datavolumes or pvcs")

    def build(self) -> dict:
        vm = self.new_vm()
        steps = (("run-strategy", self.run_strategy), ("instancetype", self.instancetype),
                 ("preference", self.preference), ("volume-containerdisk", self.containerdisks),
                 ("volume-pvc", self.pvcs),
                 ("volume-datasource", lambda _: self.deprecated_alias("volume-datasource", "ds",
                                                                       self.args.volume_datasource)),
                 ("volume-clone-pvc", lambda _: self.deprecated_alias("volume-clone-pvc", "pvc",
                                                                      self.args.volume_clone_pvc)),
                 ("volume-blank", lambda _: self.deprecated_alias("volume-blank", "blank", self.args.volume_blank)),
                 ("volume-import", self.imported_volumes),
                 ("volume-sysprep", lambda _: self.unsupported("volume-sysprep", "sysprep volumes")),
                 ("access-cred", self.access_credentials))
        for flag, step in steps:
            if self.set(flag):
                step(vm)
        self.cloud_init(vm)
        self.infer(vm)
        return vm


# ---------------------------------------------------------------- flags that are set, and cobra's checks

class _Tracked(argparse.Action):
    """Store the value (appended, for a repeatable flag) and remember that the flag was given
    (cobra's Flags().Changed, which decides what virtctl applies)."""

    def __init__(self, *args, repeat: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.repeat = repeat

    def __call__(self, parser, namespace, values, option_string=None):
        namespace.changed = getattr(namespace, "changed", set()) | {self.dest.replace("_", "-")}
        if self.repeat:
            values = [*getattr(namespace, self.dest), values]
        setattr(namespace, self.dest, values)


def _go_bool(text: str) -> bool:
    """strconv.ParseBool, as a cobra bool flag's `--flag=value`."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise argparse.ArgumentTypeError(f'strconv.ParseBool: parsing "{text}": invalid syntax')


def _uint(bits: int):
    def parse(text: str) -> int:
        if not text.isdigit():
            raise argparse.ArgumentTypeError(f'strconv.ParseUint: parsing "{text}": invalid syntax')
        if int(text) >= 2**bits:
            raise argparse.ArgumentTypeError(f'strconv.ParseUint: parsing "{text}": value out of range')
        return int(text)
    return parse


def _int64(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'strconv.ParseInt: parsing "{text}": invalid syntax') from None
    if not -2**63 <= value < 2**63:
        raise argparse.ArgumentTypeError(f'strconv.ParseInt: parsing "{text}": value out of range')
    return value


def _flag(sp, name: str, kind=str, default=None, repeat: bool = False, help: str = "") -> None:
    """A cobra-like flag: `--name VALUE` / `--name=VALUE`; bools also bare (`--name`, `--name=false`)."""
    dest = name.replace("-", "_")
    if kind is bool:
        sp.add_argument(f"--{name}", dest=dest, nargs="?", const=True, type=_go_bool, default=default,
                        action=_Tracked, help=help, metavar="true|false")
    elif repeat:
        sp.add_argument(f"--{name}", dest=dest, default=[], action=_Tracked, repeat=True, help=help, metavar="PARAMS")
    else:
        sp.add_argument(f"--{name}", dest=dest, type=kind, default=default, action=_Tracked, help=help)


def _exclusive(changed: set[str], group: tuple[str, ...]) -> None:
    """cobra's MarkFlagsMutuallyExclusive check."""
    both = sorted(f for f in group if f in changed)
    if len(both) > 1:
        raise CreateError(f"if any flags in the group [{' '.join(group)}] are set none of the others can be; "
                          f"[{' '.join(both)}] were all set")


def _print(doc: dict) -> None:
    print(yaml.dump(doc, Dumper=_Dumper, sort_keys=True, default_flow_style=False, allow_unicode=True), end="")


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper, value: str):
    # Multi-line text (cloud-init user data) as a literal block, as virtctl's YAML writer prints it.
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _str)


# ---------------------------------------------------------------- the verbs

def cmd_create_vm(args, api=None) -> int:
    changed = args.changed
    _exclusive(changed, ("memory", "instancetype", "infer-instancetype", "infer-instancetype-from"))
    _exclusive(changed, ("preference", "infer-preference", "infer-preference-from"))
    for other in ("user", "password-file", "ssh-key", "ga-manage-ssh"):
        _exclusive(changed, ("cloud-init-user-data", other))
    if not args.name:
        args.name = "vm-" + rand_string()
    _print(VMBuilder(args, set(changed)).build())
    return 0


def cmd_create_instancetype(args, api=None) -> int:
    missing = [f'"{f}"' for f in ("cpu", "memory") if f not in args.changed]
    if missing:
        raise CreateError(f"required flag(s) {', '.join(missing)} not set")
    namespaced = args.namespaced or bool(args.namespace)
    if "name" not in args.changed:
        args.name = ("instancetype-" if namespaced else "clusterinstancetype-") + rand_string()
    try:
        quantity.parse(args.memory)
    except ValueError as e:
        raise CreateError(str(e)) from None
    if args.cpu <= 0:
        raise CreateError("cpu value must be greater than zero")
    spec: dict = {"cpu": {"guest": args.cpu}, "memory": {"guest": args.memory}}
    for flag, field in (("gpu", "gpus"), ("hostdevice", "hostDevices")):
        for text in getattr(args, flag) or []:
            dev = map_params(flag, text, GPU_PARAMS)
            if not dev.get("name"):
                raise flag_err(flag, "name must be specified")
            if not dev.get("devicename"):
                raise flag_err(flag, "deviceName must be specified")
            spec.setdefault(field, []).append({"deviceName": dev["devicename"], "name": dev["name"]})
    if "iothreadspolicy" in args.changed:
        if args.iothreadspolicy not in IO_THREADS_POLICIES:
            raise flag_err("iothreadspolicy", "IOThread must be of value auto or shared")
        spec["ioThreadsPolicy"] = args.iothreadspolicy
    _print(_instancetype_doc(proto.INSTANCETYPE if namespaced else proto.CLUSTER_INSTANCETYPE,
                             args.name, args.namespace if namespaced else "", spec))
    return 0


def cmd_create_preference(args, api=None) -> int:
    namespaced = args.namespaced or bool(args.namespace)
    if "name" not in args.changed:
        args.name = ("preference-" if namespaced else "clusterpreference-") + rand_string()
    spec: dict = {}
    if "volume-storage-class" in args.changed:
        spec["volumes"] = {"preferredStorageClassName": args.volume_storage_class}
    if "machine-type" in args.changed:
        spec["machine"] = {"preferredMachineType": args.machine_type}
    if "cpu-topology" in args.changed:
        if args.cpu_topology not in CPU_TOPOLOGIES:
            raise flag_err("cpu-topology", "CPU topology must have a value of sockets, cores, threads or spread")
        spec["cpu"] = {"preferredCPUTopology": args.cpu_topology}
    _print(_instancetype_doc(proto.PREFERENCE if namespaced else proto.CLUSTER_PREFERENCE,
                             args.name, args.namespace if namespaced else "", spec))
    return 0


def _instancetype_doc(kind: proto.api.Kind, name: str, namespace: str, spec: dict) -> dict:
    meta = {"creationTimestamp": None, "name": name, **({"namespace": namespace} if namespace else {})}
    info = proto.KINDS[kind]
    return {"apiVersion": info.api_version, "kind": info.kind, "metadata": meta, "spec": spec}


def _run(func):
    def run(args, api=None) -> int:
        try:
            return func(args, api)
        except CreateError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
    return run


def add_parser(sub, ns) -> None:
    """`create` and its verbs on the `virtmesh` parser (`sub`: its subparsers; `ns` adds -n)."""
    create = sub.add_parser("create", help="print a manifest: vm, instancetype, preference (virtctl create)")
    kinds = create.add_subparsers(dest="create_kind", required=True, metavar="KIND")

    vm = kinds.add_parser("vm", help="print a VirtualMachine manifest",
                          description="Create a VirtualMachine manifest. If no boot order was specified volumes "
                          "have the following fixed boot order: Containerdisk > PVC > Clone PVC > Blank > "
                          "Imported volumes")
    _flag(vm, "name", help="Specify the name of the VM.")
    _flag(vm, "run-strategy", default=domain.RUN_ALWAYS, help="Specify the RunStrategy of the VM.")
    _flag(vm, "termination-grace-period", _int64, default=180, help="Specify the termination grace period of the VM.")
    _flag(vm, "memory", default="512Mi", help="Specify the memory of the VM.")
    _flag(vm, "instancetype", default="", help="Specify the Instance Type of the VM (NAME, or "
          "virtualmachineinstancetype/NAME for a namespaced one). Mutually exclusive with instancetype inference "
          "flags.")
    _flag(vm, "infer-instancetype", bool, default=True, help="Specify if the Instance Type of the VM should be "
          "inferred from the first boot disk. Mutually exclusive with --infer-instancetype-from.")
    _flag(vm, "infer-instancetype-from", default="", help="Specify the volume to infer the Instance Type of the VM "
          "from. Mutually exclusive with --infer-instancetype.")
    _flag(vm, "preference", default="", help="Specify the Preference of the VM (NAME, or "
          "virtualmachinepreference/NAME). Mutually exclusive with preference inference flags.")
    _flag(vm, "infer-preference", bool, default=True, help="Specify if the Preference of the VM should be inferred "
          "from the first boot disk. Mutually exclusive with --infer-preference-from.")
    _flag(vm, "infer-preference-from", default="", help="Specify the volume to infer the Preference of the VM "
          "from. Mutually exclusive with --infer-preference.")
    _flag(vm, "volume-containerdisk", repeat=True, help="Specify a containerdisk to be used by the VM. Can be "
          "provided multiple times. Supported parameters: name:string,src:string,bootorder:uint")
    _flag(vm, "volume-pvc", repeat=True, help="Specify a PVCs to be used by the VM. Can be provided multiple "
          "times. Supported parameters: name:string,src:string,bootorder:uint")
    _flag(vm, "volume-import", repeat=True, help="Specify the source for DataVolume. Can be provided multiple "
          "times. Supported parameters: type blank - size:resource.Quantity,type:string,name:string,bootorder:uint; "
          "type http - url:string,size:resource.Quantity,type:string,name:string,bootorder:uint; type pvc - "
          "name:string,src:string,size:resource.Quantity,type:string,bootorder:uint")
    _flag(vm, "volume-sysprep", help="(not supported by this mesh)")
    _flag(vm, "user", default="", help="Specify the user in the cloud-init user data that is added to the VM.")
    _flag(vm, "password-file", default="", help="Specify a file to read the password from for the cloud-init user "
          "data that is added to the VM.")
    _flag(vm, "ssh-key", repeat=True, help="Specify one or more SSH authorized keys in the cloud-init user data "
          "that is added to the VM.")
    _flag(vm, "ga-manage-ssh", bool, default=False, help="Specify if the qemu-guest-agent should be able to "
          "manage SSH in the cloud-init user data that is added to the VM.")
    _flag(vm, "access-cred", repeat=True, help="Specify an access credential, e.g. "
          "type:ssh,src:my-keys,method:nocloud (methods: nocloud, configdrive; ga is not supported by this mesh).")
    _flag(vm, "cloud-init", default="nocloud", help="Specify the type of the generated cloud-init data source. "
          "Supported values: nocloud, configdrive, none")
    _flag(vm, "cloud-init-user-data", default="", help="Specify the base64 encoded cloud-init user data of the VM.")
    _flag(vm, "cloud-init-network-data", default="", help="Specify the base64 encoded cloud-init network data of "
          "the VM.")
    _flag(vm, "volume-datasource", repeat=True, help="DEPRECATED: Use --volume-import with type:ds instead.")
    _flag(vm, "volume-clone-pvc", repeat=True, help="DEPRECATED: Use --volume-import with type:pvc and same params "
          "instead.")
    _flag(vm, "volume-blank", repeat=True, help="DEPRECATED: Use --volume-import with type:blank and same params "
          "instead.")
    ns(vm)
    vm.set_defaults(func=_run(cmd_create_vm), needs_api=False, changed=set())

    it = kinds.add_parser("instancetype", help="print a VirtualMachineInstancetype or "
                          "VirtualMachineClusterInstancetype manifest")
    _flag(it, "name", default="", help="Specify the name of the Instancetype.")
    _flag(it, "cpu", _uint(32), default=0, help="Specify the count of CPUs of the Instancetype.")
    _flag(it, "memory", default="", help="Specify the amount of memory of the Instancetype.")
    _flag(it, "iothreadspolicy", default="", help='Specify IOThreadsPolicy to be used. Only valid values are "auto" '
          'and "shared".')
    _flag(it, "namespaced", bool, default=False, help="Specify if VirtualMachineInstancetype should be created. By "
          "default VirtualMachineClusterInstancetype is created.")
    _flag(it, "gpu", repeat=True, help="Specify the list of vGPUs to passthrough. Can be provided multiple times.")
    _flag(it, "hostdevice", repeat=True, help="Specify list of HostDevices to passthrough. Can be provided "
          "multiple times.")
    ns(it)
    it.set_defaults(func=_run(cmd_create_instancetype), needs_api=False, changed=set())

    pref = kinds.add_parser("preference", help="print a VirtualMachinePreference or VirtualMachineClusterPreference "
                            "manifest")
    _flag(pref, "namespaced", bool, default=False, help="Specify if VirtualMachinePreference should be created. By "
          "default VirtualMachineClusterPreference is created.")
    _flag(pref, "name", default="", help="Specify the name of the Preference.")
    _flag(pref, "volume-storage-class", default="", help="Defines the preferred storage class")
    _flag(pref, "machine-type", default="", help="Defines the preferred machine type to use.")
    _flag(pref, "cpu-topology", default="", help="Defines the preferred guest visible CPU topology.")
    ns(pref)
    pref.set_defaults(func=_run(cmd_create_preference), needs_api=False, changed=set())

