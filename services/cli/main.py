"""`virtmesh`: kubectl/virtctl-style verbs against the mesh's api service."""
from __future__ import annotations

import argparse
import ipaddress
import base64
import datetime
import os
import pwd
import sys
import tempfile
import time

import grpc

from services.cli import kubectl
from services.common import domain, grpcclient, kube, manifest, meshtls, names, paths, proto, vmstate
from services.common import logs as service_logs   # (services.cli.logs is the `logs` verb)

RESOURCES = {word: kind for kind in proto.KINDS for word in kubectl.kind_words(kind)}
CLIError = kubectl.CLIError   # one error type for every verb


def _kind(word: str) -> proto.api.Kind:
    kind = RESOURCES.get(word.lower())
    if kind is None:
        raise CLIError(f'the server doesn\'t have a resource type "{word}"')
    return kind


def _target(args) -> str:
    if args.api:
        return args.api
    data = paths.DataDir(args.data_dir)
    if not os.access(data.api_socket, os.W_OK) and os.access(data.api_read_socket, os.W_OK):
        return f"unix://{data.api_read_socket}"  # a reader (api --readers) gets the read-only door
    return f"unix://{data.api_socket}"


def _identity(args) -> meshtls.Identity:
    """Who the CLI is on a TCP api: --certs DIR (a user's tls.crt/tls.key/ca.crt, from `virtmesh
    certs issue`), else the data dir's admin certificate, issued on first use by whoever may read the
    mesh CA's key (root on the mesh's machine)."""
    certs = args.certs or os.environ.get(meshtls.ENV_CERTS)
    if certs:
        ident = meshtls.Identity(certs)
        if not ident.exists():
            raise CLIError(f"--certs {certs}: needs tls.crt, tls.key and ca.crt")
        return ident
    mesh = meshtls.MeshPKI(os.environ.get(meshtls.ENV_PKI_DIR) or paths.DataDir(args.data_dir).pki)
    try:
        return mesh.ensure("admin", (meshtls.ADMINS_GROUP,))
    except (meshtls.NoCertificate, OSError) as e:
        raise CLIError(f"no client certificate for {args.api} (TCP is mutual TLS): {e}; pass --certs DIR") from None


class Api:
    """The mesh as the verbs see it: objects through the Resources calls — the api's gRPC door, or the
    kube-apiserver itself when a kubeconfig selects a cluster — and subresources through the api."""

    def __init__(self, args):
        self.target = _target(args)
        if not grpcclient.is_unix(self.target):
            grpcclient.use_identity(_identity(args))
        self.channel = grpcclient.channel(self.target)
        self.resources: KubeResources | proto.api_grpc.ResourcesStub
        if args.kubeconfig:
            self.resources = KubeResources(kube.Kube(kube.api_client(args.kubeconfig)))
        else:
            self.resources = proto.api_grpc.ResourcesStub(self.channel)
        self.sub = proto.api_grpc.SubresourcesStub(self.channel)


class KubeResources:
    """The Resources service's calls answered by the kube-apiserver, as kubectl would make them (its
    admission webhooks — our api's — default and validate what is written)."""

    def __init__(self, kube_store):
        self.kube = kube_store

    @staticmethod
    def _ns(kind: proto.api.Kind, namespace: str) -> str:
        return (namespace or names.DEFAULT_NAMESPACE) if proto.namespaced(kind) else ""

    def Create(self, request, timeout=None):  # noqa: N802 - the stub's names
        obj = proto.api.Object()
        obj.CopyFrom(request.object)
        md = proto.inner(obj).metadata
        md.namespace = self._ns(proto.kind_of(obj), md.namespace)
        return self.kube.create(obj)

    def Get(self, request, timeout=None):  # noqa: N802
        ref = request.ref
        return self.kube.get(ref.kind, self._ns(ref.kind, ref.namespace), ref.name)

    def List(self, request, timeout=None):  # noqa: N802
        items, rev = self.kube.list(request.kind, request.namespace, dict(request.labelSelector), request.nodeName)
        return proto.api.ObjectList(items=items, resourceVersion=str(rev))

    def Update(self, request, timeout=None):  # noqa: N802
        return self.kube.update(request.object)

    def UpdateStatus(self, request, timeout=None):  # noqa: N802
        return self.kube.update(request.object, None, True)

    def Watch(self, request, timeout=None):  # noqa: N802
        """The apiserver's watch as the door's WatchEvents (bookmarks left out)."""
        ns = self._ns(request.kind, request.namespace) if request.namespace else ""
        for type_, obj, rev in self.kube.watch_events(request.kind, request.resourceVersion, ns, request.nodeName,
                                                      labels=dict(request.labelSelector)):
            if obj is not None:
                yield proto.api.WatchEvent(type=type_, object=obj, resourceVersion=rev)

    def Delete(self, request, timeout=None):  # noqa: N802
        ref = request.ref
        res = proto.message_class(ref.kind)()
        res.metadata.namespace, res.metadata.name = self._ns(ref.kind, ref.namespace), ref.name
        res.metadata.uid = request.uid
        return self.kube.delete(proto.wrap(res), request.resourceVersion or None)


# ---------------------------------------------------------------------- verbs

def cmd_apply(args, api: Api) -> None:
    objs = []   # every document of every file is checked before anything is written
    for path in kubectl.apply_files(args):
        docs = manifest.load_documents(_read(path))
        for i, doc in enumerate(docs):
            try:
                obj = manifest.to_object(doc)
            except manifest.ManifestError as e:
                where = f" (document {i + 1})" if len(docs) > 1 else ""
                raise CLIError(f"error validating {path}{where}: {e}") from None
            res = proto.inner(obj)
            if args.namespace and proto.namespaced(proto.kind_of(obj)) and not res.metadata.namespace:
                res.metadata.namespace = args.namespace
            objs.append(obj)
    for obj in objs:
        kind, res = proto.kind_of(obj), proto.inner(obj)
        name = res.metadata.name
        try:
            api.resources.Create(proto.api.CreateRequest(object=obj), timeout=30)
            print(f"{proto.KINDS[kind].printed_name}/{name} created")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.ALREADY_EXISTS:
                raise
            cur = kubectl.get_object(api, kind, res.metadata.namespace or kubectl.namespace_of(args, kind), name)
            read: list = []   # the object each attempt merged onto (a status write in between: a fresh read)

            def merged_onto(current, res=res, read=read):
                read.append(current)
                merged = proto.copy(current)
                merged.metadata.labels.update(res.metadata.labels)
                merged.metadata.annotations.update(res.metadata.annotations)
                if "spec" in res.DESCRIPTOR.fields_by_name:
                    merged.spec.CopyFrom(res.spec)
                else:   # a Secret, a ConfigMap: everything but the metadata is the manifest's
                    md, api_version, kind_name = merged.metadata, merged.apiVersion, merged.kind
                    merged = proto.copy(res)
                    merged.metadata.CopyFrom(md)
                    merged.apiVersion, merged.kind = api_version, kind_name
                return None if merged == current else merged
            out = kubectl.update_retrying(api, cur, merged_onto)
            if out is not None:
                out.metadata.resourceVersion = read[-1].metadata.resourceVersion
            # The server's defaults (e.g. a PVC's volumeMode) can make the "change" a no-op.
            same = out is None or out == read[-1]
            print(f"{proto.KINDS[kind].printed_name}/{name} {'unchanged' if same else 'configured'}")


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path) as f:
            return f.read()
    except OSError as e:
        raise CLIError(f"cannot read {path}: {e.strerror}") from None


def _sub_request(args) -> proto.api.SubresourceRequest:
    req = proto.api.SubresourceRequest(namespace=kubectl.namespace_arg(args), name=args.name,
                                       dryRun=getattr(args, "dry_run", False),
                                       paused=getattr(args, "paused", False))
    grace = getattr(args, "grace_period", None)
    if getattr(args, "force", False) and grace is None:
        grace = 0
    if grace is not None:
        req.gracePeriodSeconds = grace
    return req


def cmd_lifecycle(args, api: Api) -> None:
    call = {"start": api.sub.Start, "stop": api.sub.Stop, "restart": api.sub.Restart}[args.verb]
    call(_sub_request(args), timeout=30)
    print(f"VM {args.name} was scheduled to {args.verb}")


def cmd_pause(args, api: Api) -> None:
    kind = _kind(args.resource)
    if kind == proto.NODE:
        raise CLIError(f"{args.verb} accepts vm or vmi, not {args.resource}")
    if kind == proto.VM:  # pausing a VM pauses its VMI (same name), as virtctl does
        api.resources.Get(proto.api.GetRequest(ref=proto.ref(proto.VM, kubectl.namespace_arg(args), args.name)),
                          timeout=30)
    call = api.sub.Pause if args.verb == "pause" else api.sub.Unpause
    call(_sub_request(args), timeout=30)
    print(f"VMI {args.name} was scheduled to {args.verb}")


def _hotplug_source(api: Api, namespace: str, name: str):
    """virtctl's getVolumeSourceFromVolume: a DataVolume of that name if one exists, else the PVC."""
    try:
        api.resources.Get(proto.api.GetRequest(ref=proto.ref(proto.DV, namespace, name)), timeout=30)
        return proto.kv.HotplugVolumeSource(dataVolume=proto.kv.DataVolumeSource(name=name))
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
    return proto.kv.HotplugVolumeSource(persistentVolumeClaim=proto.kv.PersistentVolumeClaimVolumeSource(
        claimName=name))


def cmd_addvolume(args, api: Api) -> None:
    ns = kubectl.namespace_arg(args)
    if args.cache and args.cache not in domain.DISK_CACHES:
        raise CLIError(f"error adding volume, invalid cache value {args.cache}")
    if args.disk_type not in ("disk", "lun"):
        raise CLIError(f"Invalid disk type '{args.disk_type}'. Only LUN and Disk are supported.")
    disk = proto.kv.Disk(name=args.volume_name, serial=args.serial or args.volume_name, cache=args.cache or "")
    getattr(disk, args.disk_type).bus = args.bus
    opts = proto.kv.AddVolumeOptions(name=args.volume_name, disk=disk,
                                     volumeSource=_hotplug_source(api, ns, args.volume_name),
                                     dryRun=["All"] if args.dry_run else [])
    if args.dry_run:
        print("Dry Run execution")
    resp = api.sub.AddVolume(proto.api.VolumeRequest(kind=proto.VM if args.persist else proto.VMI, namespace=ns,
                                                     name=args.name, addVolumeOptions=opts), timeout=30)
    print(resp.message)


def cmd_removevolume(args, api: Api) -> None:
    opts = proto.kv.RemoveVolumeOptions(name=args.volume_name, dryRun=["All"] if args.dry_run else [])
    if args.dry_run:
        print("Dry Run execution")
    resp = api.sub.RemoveVolume(proto.api.VolumeRequest(kind=proto.VM if args.persist else proto.VMI,
                                                        namespace=kubectl.namespace_arg(args), name=args.name,
                                                        removeVolumeOptions=opts), timeout=30)
    print(resp.message)


def cmd_soft_reboot(args, api: Api) -> None:
    """virtctl soft-reboot: an ACPI reboot of the guest (KubeVirt's texts)."""
    try:
        api.sub.SoftReboot(proto.api.SubresourceRequest(namespace=kubectl.namespace_arg(args), name=args.name),
                           timeout=30)
    except grpc.RpcError as e:
        raise CLIError(f"Error soft rebooting VirtualMachineInstance {args.name}: {e.details()}") from None
    print(f"VMI {args.name} was scheduled to soft-reboot")


def cmd_console(args, api: Api) -> int:
    """virtctl console: wait (up to --timeout minutes) for the VMI to run, then connect."""
    from services.cli import console
    from services.cli import progress
    ns = kubectl.namespace_arg(args)
    deadline = time.monotonic() + args.timeout * 60
    with progress.Line(plain_off_tty=False) as line:   # an image pull's bytes, on a terminal only
        while True:
            try:
                vmi = proto.inner(api.resources.Get(proto.api.GetRequest(ref=proto.ref(proto.VMI, ns, args.name)),
                                                    timeout=30))
                if vmi.status.phase == vmstate.RUNNING:
                    break
                why = f"phase is {vmi.status.phase or vmstate.PENDING} instead of {vmstate.RUNNING}"
                line.show(progress.summary(proto.VMI, manifest.to_dict(vmi)))
            except grpc.RpcError as e:
                if e.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                why = f'{proto.KINDS[proto.VMI].printed_name} "{args.name}" not found'
            if time.monotonic() > deadline:
                raise CLIError(f"Unable to connect to VirtualMachineInstance because {why}")
            time.sleep(0.5)
    return console.run(api.sub, ns, args.name, args.no_stdin, args.stop_after)


def cmd_certs_issue(args, api=None) -> None:
    """A user's client certificate from the mesh CA (needs its key: root on the mesh's machine)."""
    mesh = meshtls.MeshPKI(os.environ.get(meshtls.ENV_PKI_DIR) or paths.DataDir(args.data_dir).pki)
    if os.path.exists(os.path.join(mesh.ca_dir, "tls.crt")) and not mesh.has_ca_key():
        raise CLIError(f"cannot read the mesh CA's key in {mesh.ca_dir} (run as root on the mesh's machine)")
    groups = tuple(args.group or [meshtls.VIEWERS_GROUP])
    if args.secret:
        # A kubernetes.io/tls Secret (with ca.crt) to `kubectl apply`, for a Deployment to mount as --tls-dir.
        with tempfile.TemporaryDirectory() as tmp:
            ident = mesh.issue(args.user, groups, args.server_name, directory=os.path.join(tmp, "id"),
                               valid=datetime.timedelta(days=args.days))
            m = ident.load()
        b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
        print(manifest.dump_yaml([{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                   "metadata": {"name": args.secret},
                                   "data": {"tls.crt": b64(m.cert_pem), "tls.key": b64(m.key_pem),
                                            "ca.crt": b64(m.ca_pem)}}]), end="")
        return
    out = os.path.abspath(args.out or os.path.join(mesh.root, "users", args.user))
    ident = mesh.issue(args.user, groups, args.server_name, directory=out, valid=datetime.timedelta(days=args.days))
    try:  # a local account of that name gets its files (the key is 0600)
        account = pwd.getpwnam(args.user)
    except KeyError:
        account = None
    if account is not None:
        for path in (ident.directory, ident.cert_path, ident.key_path, ident.ca_path):
            os.chown(path, account.pw_uid, account.pw_gid)
    print(f"{ident.directory}: tls.crt, tls.key, ca.crt for user {args.user!r} in {', '.join(groups)}, "
          f"valid {args.days} days; use it with `virtmesh --api HOST:PORT --certs {ident.directory} ...`")


def cmd_up(args, api=None) -> int:
    from services.cli.up import Supervisor
    wrong = "" if args.log_level else service_logs.env_level_error()
    if wrong:
        raise CLIError(wrong)
    return Supervisor(args).run()


# ---------------------------------------------------------------------- parser

class _Verbs(argparse._SubParsersAction):
    """kubectl takes its global options before or after the verb: every verb takes them too (without a
    default of its own, so one given before the verb stands)."""

    def add_parser(self, name, **kw):
        sp = super().add_parser(name, **kw)
        for flags, dest in ((("--data-dir",), "data_dir"), (("--api",), "api"), (("--certs",), "certs"),
                            (("--kubeconfig",), "kubeconfig")):
            if name != "up" or dest != "kubeconfig":   # up has its own --kubeconfig
                sp.add_argument(*flags, dest=dest, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
        return sp


# `up`'s flags the node's services take, checked here: a service refusing its flags would be restarted forever.
def _ipv4_address(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an IPv4 address") from None


def _ipv4_network(text: str) -> str:
    try:
        ipaddress.IPv4Network(text, strict=False)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    return text


def _readable_file(text: str) -> str:
    try:
        with open(text):
            return text
    except OSError as e:
        raise argparse.ArgumentTypeError(f"{text}: {e.strerror}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="virtmesh", description="KubeVirt-style VMs on libvirt + QEMU.")
    p.add_argument("--data-dir", default=paths.default_data_dir(), help="mesh data dir (env VIRTMESH_DATA_DIR)")
    p.add_argument("--api", default=os.environ.get("VIRTMESH_API"), help="api address (unix:///path or host:port)")
    p.add_argument("--certs", metavar="DIR", help="client certificate for a TCP --api (tls.crt, tls.key, ca.crt; "
                   "env VIRTMESH_CERTS; default: the data dir's admin certificate)")
    p.add_argument("--kubeconfig", help="a cluster's kubeconfig: objects live in its kube-apiserver "
                   "(env KUBECONFIG; `up` takes only the flag, so a cluster is never joined by accident)")
    p.add_argument("-n", "--namespace", default=None)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", action=_Verbs)

    def ns(sp):
        sp.add_argument("-n", "--namespace", default=argparse.SUPPRESS)

    up = sub.add_parser("up", help="run the whole mesh locally in the foreground")
    up.add_argument("--node-name", help="this node's name (default: hostname)")
    up.add_argument("--kubeconfig", default=argparse.SUPPRESS,
                    help="run against this cluster's kube-apiserver (its Node NODE_NAME must exist)")
    up.add_argument("--libvirt-uri", default=os.environ.get("VIRTMESH_LIBVIRT_URI", "qemu:///system"))
    up.add_argument("--emulation", choices=["auto", "kvm", "emulation"], default="auto")
    up.add_argument("--api-listen", help="also serve the api on HOST:PORT (mutual TLS: clients need a mesh "
                    "certificate, see `virtmesh certs issue`)")
    up.add_argument("--socket-group", help="members of this group may use the api's socket as root does "
                    "(default: 'virtmesh' where that group exists)")
    up.add_argument("--readers", metavar="none|all|GROUP",
                    help="who may read through DATA_DIR/run/api-read.sock (default none)")
    up.add_argument("--subresources-listen", metavar="HOST:PORT",
                    help="with --kubeconfig: serve KubeVirt's subresource API (subresources.kubevirt.io/v1: "
                    "start, stop, pause … through the kube-apiserver) here, registered as an APIService")
    up.add_argument("--webhook-client-ca", metavar="FILE",
                    help="with --kubeconfig: the admission webhooks serve only the kube-apiserver's webhook "
                    "client certificate, signed by this CA")
    up.add_argument("--launcher-pods", metavar="PODS_DIR",
                    help="with --kubeconfig: launchers run in virt-launcher pods (placed by the kube-scheduler, run by "
                    "the node's kubelet, whose pod directory is PODS_DIR) instead of being forked by the handler")
    up.add_argument("--keep-vms", action="store_true", help="leave VMs running when the mesh stops")
    up.add_argument("--pod-cidr", metavar="CIDR", type=_ipv4_network,
                    help="the node's pod network: bridge-bound pod interfaces get an address from it by DHCP "
                    "(default 10.244.0.0/24; env VIRTMESH_POD_CIDR)")
    up.add_argument("--resolv-conf", metavar="FILE", type=_readable_file,
                    help="the nameservers and search domains those interfaces get by DHCP come from this file, as "
                    "the kubelet's --resolv-conf (default /etc/resolv.conf)")
    up.add_argument("--cluster-dns", action="append", metavar="IP", type=_ipv4_address,
                    help="the cluster's DNS service for guests with dnsPolicy ClusterFirst (the default), as the "
                    "kubelet's flag (repeatable; none: they get --resolv-conf's)")
    up.add_argument("--cluster-domain", metavar="DOMAIN", help="the cluster's DNS domain (default cluster.local)")
    up.add_argument("--log-level", type=service_logs.level, metavar="LEVEL",
                    help=f"the services' log level ({', '.join(service_logs.LEVELS)}; default "
                    f"${service_logs.ENV_LEVEL}, else INFO)")
    up.add_argument("--jaeger", metavar="ENDPOINT", help="export traces over OTLP/gRPC to ENDPOINT "
                    "(e.g. http://localhost:4317; same as OTEL_EXPORTER_OTLP_ENDPOINT, which also works)")
    up.add_argument("--no-metrics", action="store_true",
                    help="no /metrics (default: each service on a free port, in DATA_DIR/run/metrics-*.port)")
    up.add_argument("--allowed-host-path", action="append", metavar="DIR",
                    help="a host directory manifests may name (images, hostDisk, file:// imports); repeatable; "
                    "default: the guest image cache only (env VIRTMESH_HOST_PATHS, ':'-separated)")
    up.add_argument("--feature-gates", metavar="GATES",
                    help="comma-separated feature gates enabled whatever the KubeVirt object says: HostDisk, "
                    "PersistentReservation, VideoConfig, PanicDevices (env VIRTMESH_FEATURE_GATES)")
    up.add_argument("--import-allow-internal", action="store_true",
                    help="DataVolume imports may fetch from loopback/link-local addresses "
                    "(env VIRTMESH_IMPORT_ALLOW_INTERNAL=1)")
    up.add_argument("--insecure-registry", action="append", metavar="HOST:PORT",
                    help="a registry the node pulls containerDisk images from over plain HTTP; repeatable "
                    "(env VIRTMESH_INSECURE_REGISTRIES, comma-separated)")
    up.set_defaults(func=cmd_up, needs_api=False)

    certs = sub.add_parser("certs", help="client certificates for the api's TCP door (mutual TLS)")
    certs_sub = certs.add_subparsers(dest="certs_command", required=True, metavar="ACTION")
    ci = certs_sub.add_parser("issue", help="issue a user's certificate from the mesh CA")
    ci.add_argument("user")
    ci.add_argument("--group", action="append", metavar="GROUP",
                    help=f"repeatable: {meshtls.ADMINS_GROUP!r} may change anything, {meshtls.VIEWERS_GROUP!r} "
                    f"(the default) may read")
    ci.add_argument("--out", metavar="DIR", help="where to write it (default DATA_DIR/pki/users/USER)")
    ci.add_argument("--server-name", default="", help="also a server's certificate for this service name "
                    "(virtmesh-api, virtmesh-handler, virtmesh-controller), e.g. for a cluster's Secret")
    ci.add_argument("--secret", metavar="NAME", help="print it as a kubernetes.io/tls Secret NAME instead")
    ci.add_argument("--days", type=int, default=365)
    ci.set_defaults(func=cmd_certs_issue, needs_api=False)

    ap = sub.add_parser("apply", help="create or update resources from files or directories (- for stdin)")
    ap.add_argument("-f", "--filename", required=True, action="append", help="a file, a directory or -; repeatable")
    ns(ap)
    ap.set_defaults(func=cmd_apply)

    def selector_flag(sp):
        sp.add_argument("-l", "--selector", help="label selector: key=value[,key=value]")

    get = sub.add_parser("get", help="show vm|vmi|node|pvc|dv|… (several: vm,vmi)")
    get.add_argument("resource")
    get.add_argument("name", nargs="?")
    ns(get)
    selector_flag(get)
    get.add_argument("-A", "--all-namespaces", action="store_true")
    get.add_argument("--field-selector",
                     help="field selector: path=value[,path!=value] (events: involvedObject.name=…)")
    get.add_argument("-o", "--output", help="json|yaml|wide|name|jsonpath=TEMPLATE|custom-columns=SPEC")
    get.add_argument("-w", "--watch", action="store_true", help="after listing, print each change")
    get.add_argument("--request-timeout", type=float, default=0, help="stop watching after S seconds")
    get.set_defaults(func=lambda args, api: kubectl.cmd_get(args, api, RESOURCES))

    dsc = sub.add_parser("describe", help="show an object's details")
    dsc.add_argument("resource")
    dsc.add_argument("name", nargs="?")
    ns(dsc)
    selector_flag(dsc)
    dsc.set_defaults(func=lambda args, api: kubectl.cmd_describe(args, api, RESOURCES))

    de = sub.add_parser("delete", help="delete resources by name, selector or file")
    de.add_argument("resource", nargs="?")
    de.add_argument("names", nargs="*")
    de.add_argument("-f", "--filename", action="append")
    ns(de)
    selector_flag(de)
    de.add_argument("--all", action="store_true", help="every object of the kind in the namespace")
    de.add_argument("--ignore-not-found", action="store_true")
    de.add_argument("--wait", nargs="?", const=True, default=False, type=_flag,
                    help="--wait[=true|false]: wait until the objects are gone (default false: kubectl waits, "
                    "but a VM's deletion waits on its node, which may be the one that is down)")
    de.add_argument("--timeout", type=float, default=0)
    de.set_defaults(func=lambda args, api: kubectl.cmd_delete(args, api, RESOURCES, _read))

    wt = sub.add_parser("wait", help="wait for a condition on objects (kubectl wait)")
    wt.add_argument("target", help="KIND/NAME, or KIND with -l or --all")
    wt.add_argument("name", nargs="?")
    wt.add_argument("--for", dest="for_", required=True,
                    help="condition=NAME[=STATUS] | jsonpath='{.path}'=VALUE | create | delete")
    wt.add_argument("--timeout", type=_duration, default=30.0, help="e.g. 60s, 2m (default 30s)")
    wt.add_argument("--all", action="store_true")
    ns(wt)
    selector_flag(wt)
    wt.set_defaults(func=lambda args, api: kubectl.cmd_wait(args, api, RESOURCES))

    pa = sub.add_parser("patch", help="change an object with a merge or JSON patch")
    pa.add_argument("resource")
    pa.add_argument("name")
    pa.add_argument("-p", "--patch", required=True)
    pa.add_argument("--type", choices=["merge", "json"], default="merge")
    ns(pa)
    pa.set_defaults(func=lambda args, api: kubectl.cmd_patch(args, api, RESOURCES))

    ed = sub.add_parser("edit", help="edit an object in $EDITOR (KUBE_EDITOR, EDITOR, vi)")
    ed.add_argument("resource")
    ed.add_argument("name")
    ns(ed)
    ed.set_defaults(func=lambda args, api: kubectl.cmd_edit(args, api, RESOURCES))

    ve = sub.add_parser("version", help="the client's and the mesh's versions")
    ve.add_argument("--client", action="store_true", help="the client's only")
    ve.set_defaults(func=lambda args, api: kubectl.cmd_version(args, None if args.client else api))

    cp = sub.add_parser("completion", help="a shell completion script: source <(virtmesh completion bash)")
    cp.add_argument("shell", choices=["bash", "zsh"])
    cp.set_defaults(func=lambda args, api: print(kubectl.completion(args.shell, p), end=""), needs_api=False)

    for verb, text in (("start", "start a VM"), ("stop", "stop a VM"), ("restart", "restart a VM")):
        sp = sub.add_parser(verb, help=text)
        sp.add_argument("name")
        ns(sp)
        sp.add_argument("--dry-run", action="store_true")
        if verb == "start":
            sp.add_argument("--paused", action="store_true", help="start the VM paused")
        else:
            sp.add_argument("--grace-period", type=int, default=None)
            sp.add_argument("--force", action="store_true", help="with --grace-period=0: do not wait for the guest")
        sp.set_defaults(func=cmd_lifecycle, verb=verb)

    for verb in ("pause", "unpause"):
        sp = sub.add_parser(verb, help=f"{verb} a VM or VMI")
        sp.add_argument("resource", help="vm or vmi")
        sp.add_argument("name")
        ns(sp)
        sp.add_argument("--dry-run", action="store_true")
        sp.set_defaults(func=cmd_pause, verb=verb)

    av = sub.add_parser("addvolume", help="hotplug a PVC or DataVolume into a running VMI (--persist: into the VM)")
    av.add_argument("name", metavar="VMI")
    av.add_argument("--volume-name", required=True, help="the claim (PVC or DataVolume) to add; names the disk too")
    av.add_argument("--serial", default="", help="disk serial (default: the volume name)")
    av.add_argument("--bus", default="scsi", help="disk bus (default scsi, the only one hotplug accepts)")
    av.add_argument("--cache", default="", help="disk cache: none, writethrough or writeback")
    av.add_argument("--disk-type", default="disk", help="disk or lun")
    av.add_argument("--persist", action="store_true", help="also add it to the VM's template (VM request)")
    av.add_argument("--dry-run", action="store_true")
    ns(av)
    av.set_defaults(func=cmd_addvolume)

    rv = sub.add_parser("removevolume", help="hot-unplug a hotplugged volume (--persist: from the VM too)")
    rv.add_argument("name", metavar="VMI")
    rv.add_argument("--volume-name", required=True)
    rv.add_argument("--persist", action="store_true")
    rv.add_argument("--dry-run", action="store_true")
    ns(rv)
    rv.set_defaults(func=cmd_removevolume)

    from services.cli import create   # create vm|instancetype|preference: manifests, no api
    create.add_parser(sub, ns)

    co = sub.add_parser("console", help="connect to a VMI's serial console (Ctrl-] to leave)")
    co.add_argument("name")
    ns(co)
    co.add_argument("--no-stdin", action="store_true", help="only print what the guest writes, from the start")
    co.add_argument("--timeout", type=float, default=5,
                    help="minutes to wait for the VMI to run before connecting (virtctl's; default 5)")
    co.add_argument("--stop-after", type=float, default=None, metavar="S", help="leave after S seconds")
    co.set_defaults(func=cmd_console)

    sr = sub.add_parser("soft-reboot", help="reboot a VMI's guest through ACPI (the power button)")
    sr.add_argument("name", metavar="VMI")
    ns(sr)
    sr.set_defaults(func=cmd_soft_reboot)

    from services.cli import logs, migrate, portforward, vnc
    migrate.add_parsers(sub, ns)
    portforward.add_parsers(sub, ns)   # port-forward, ssh, scp
    vnc.add_parser(sub, ns)
    logs.add_parser(sub, ns)
    return p


def _flag(text: str) -> bool:
    """kubectl's --flag=true|false."""
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def _duration(text: str) -> float:
    """kubectl's durations: 30s, 2m, 1h, or plain seconds."""
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        return float(text[:-1]) * units[text[-1]] if text[-1:] in units else float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}") from None


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.kubeconfig is None and args.func is not cmd_up:
        args.kubeconfig = os.environ.get("KUBECONFIG") or None
    try:
        api = Api(args) if getattr(args, "needs_api", True) else None
        rc = args.func(args, api)
        return rc or 0
    except CLIError as e:
        print(f"error: {e}", file=sys.stderr)
    except manifest.ManifestError as e:
        print(f"error: {e}", file=sys.stderr)
    except grpc.RpcError as e:
        if e.code() == grpc.StatusCode.UNAVAILABLE and "connect" in (e.details() or "").lower():
            print(f"error: cannot reach the virtmesh api at {_target(args)} (is `virtmesh up` running?)",
                  file=sys.stderr)
        else:
            print(f"Error from server ({_reason(e.code())}): {e.details()}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    return 1


def _reason(code: grpc.StatusCode) -> str:
    return {grpc.StatusCode.NOT_FOUND: "NotFound", grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
            grpc.StatusCode.INVALID_ARGUMENT: "Invalid", grpc.StatusCode.ABORTED: "Conflict",
            grpc.StatusCode.FAILED_PRECONDITION: "Conflict", grpc.StatusCode.UNAVAILABLE: "ServiceUnavailable",
            grpc.StatusCode.OUT_OF_RANGE: "Gone", grpc.StatusCode.PERMISSION_DENIED: "Forbidden",
            grpc.StatusCode.UNAUTHENTICATED: "Unauthorized"}.get(code, code.name)


if __name__ == "__main__":
    sys.exit(main())
