"""`virtmesh up`: the whole mesh on one machine, in the foreground.

With `--kubeconfig` (or KUBECONFIG) the store is that cluster's kube-apiserver: the CRDs are installed
first, and api, controller and a handler for `--node-name` (whose Node must exist) run against it.

Runs api, controller and one handler as child processes, logs to DATA_DIR/logs; once they are up it
becomes their supervisor (services/cli/supervise.py, by exec: the same process without the CLI's
modules), which restarts a child that dies and on SIGINT/SIGTERM stops the services and then the VMs'
launchers (each shuts its guest down).

Observability: every service serves /metrics on a free local port, written to
DATA_DIR/run/metrics-<service>.port; `--jaeger ENDPOINT` (or OTEL_EXPORTER_OTLP_ENDPOINT) makes
every service, launchers included, export traces there (children inherit the environment).
"""
from __future__ import annotations

import glob
import os
import socket
import sys
import time

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.cli import supervise
from services.common import hostpaths, images, paths

CRD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "crds")
CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def install_crds(kubeconfig: str, timeout: float = 60) -> None:
    """What virt-operator does first: our CRDs (deploy/crds, generated from the protos), and CDI's
    DataVolume only where CDI has not installed its own; then wait until they are Established."""
    import yaml
    from services.common import kube, proto
    k = kube.Kube(kube.api_client(kubeconfig, "up"))
    try:
        files = sorted(glob.glob(os.path.join(CRD_DIR, "*.yaml")))
        try:
            k.request("GET", f"{CRD_PATH}/{proto.KINDS[proto.DV].resource}")
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND:
                raise
            files += sorted(glob.glob(os.path.join(CRD_DIR, "cdi", "*.yaml")))
        names = []
        for f in files:
            with open(f) as fh:
                doc = yaml.safe_load(fh)
            if doc.get("kind") != "CustomResourceDefinition":
                continue
            k.apply(f"{CRD_PATH}/{doc['metadata']['name']}", doc)
            names.append(doc["metadata"]["name"])
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                conds = k.request("GET", f"{CRD_PATH}/{name}").get("status", {}).get("conditions") or []
                if any(c["type"] == "Established" and c["status"] == "True" for c in conds):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"CRD {name} not Established after {timeout:.0f}s")
                time.sleep(0.1)
    finally:
        k.close()


def _wait_healthy(target: str, timeout: float, running=lambda: True) -> bool:
    """Whether the service at `target` says it serves within `timeout` s (not once `running()` says it exited)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        while time.monotonic() < deadline and running():
            try:
                if stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return True
            except grpc.RpcError:
                time.sleep(0.05)
    return False


class Supervisor:
    def __init__(self, args):
        # The data dir, logs, store, sockets and whatever the services create are root's only,
        # whatever umask `virtmesh up` was started with (the children set it again themselves).
        paths.private_umask()
        self.data = paths.DataDir(args.data_dir).ensure()
        self.args = args
        node = args.node_name or socket.gethostname()
        common = ["--data-dir", self.data.root]
        if args.log_level:
            common += ["--log-level", args.log_level]
        self.kubeconfig = getattr(args, "kubeconfig", None)
        if self.kubeconfig:
            common += ["--kubeconfig", self.kubeconfig]
        if not getattr(args, "no_metrics", False):
            common += ["--metrics-port", "0", "--metrics-address", "127.0.0.1"]
        self.env = dict(os.environ)
        self.env.pop("KUBECONFIG", None)  # a service is in cluster mode only when `up` says so
        if getattr(args, "jaeger", None):
            # A bare host:port is Jaeger's plain-text OTLP port (the exporter would try TLS on it).
            self.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = args.jaeger if "://" in args.jaeger else f"http://{args.jaeger}"
        # The operator's host-path settings (services/common/hostpaths.py), for every service and
        # the launchers: children inherit the environment.
        if getattr(args, "allowed_host_path", None):
            self.env[hostpaths.ENV_HOST_PATHS] = os.pathsep.join(os.path.abspath(p) for p in args.allowed_host_path)
        if getattr(args, "feature_gates", None):
            self.env[hostpaths.ENV_FEATURE_GATES] = args.feature_gates
        if getattr(args, "import_allow_internal", False):
            self.env[hostpaths.ENV_IMPORT_ALLOW_INTERNAL] = "1"
        if getattr(args, "insecure_registry", None):   # the handler pulls from these over plain HTTP
            self.env[images.ENV_INSECURE_REGISTRIES] = ",".join(args.insecure_registry)
        api = [sys.executable, "-m", "services.api", *common]
        if args.api_listen:
            api += ["--listen", args.api_listen]
        if getattr(args, "socket_group", None) is not None:
            api += ["--socket-group", args.socket_group]
        if getattr(args, "readers", None):
            api += ["--readers", args.readers]
        if getattr(args, "subresources_listen", None):
            api += ["--subresources-listen", args.subresources_listen]
        if getattr(args, "webhook_client_ca", None):
            api += ["--webhook-client-ca", os.path.abspath(args.webhook_client_ca)]
        self.specs = {
            "api": api,
            "controller": [sys.executable, "-m", "services.controller", *common],
            "handler": [sys.executable, "-m", "services.handler", *common, "--node-name", node,
                        "--libvirt-uri", args.libvirt_uri, "--emulation", args.emulation],
        }
        if getattr(args, "pod_cidr", None):
            self.specs["handler"] += ["--pod-cidr", args.pod_cidr]
        if getattr(args, "resolv_conf", None):
            self.specs["handler"] += ["--resolv-conf", os.path.abspath(args.resolv_conf)]
        for ip in getattr(args, "cluster_dns", None) or ():
            self.specs["handler"] += ["--cluster-dns", ip]
        if getattr(args, "cluster_domain", None):
            self.specs["handler"] += ["--cluster-domain", args.cluster_domain]
        self.node = node
        if getattr(args, "launcher_pods", None):   # the launchers' pods carry the node's settings
            self.specs["controller"] += ["--launcher-pods", "--launcher-data-dir", self.data.root,
                                         "--launcher-libvirt-uri", args.libvirt_uri,
                                         "--launcher-emulation", args.emulation]
            self.specs["handler"] += ["--launcher-pods", "--pods-dir", os.path.abspath(args.launcher_pods)]
        self.services = supervise.Services(self.data.root, node, self.specs, getattr(args, "keep_vms", False),
                                           env=self.env)

    def run(self) -> int:
        for stale in glob.glob(os.path.join(self.data.run, "metrics-*.port")):
            os.unlink(stale)  # ports of an earlier mesh: the services write theirs when they listen

        self.services.handle_signals()
        if self.kubeconfig:
            try:
                install_crds(self.kubeconfig)
            except (grpc.RpcError, RuntimeError) as e:
                supervise.say(f"cannot install the CRDs: {e.details() if isinstance(e, grpc.RpcError) else e}")
                return 1
        self.services.start("api")
        if not _wait_healthy(f"unix://{self.data.api_socket}", 30, lambda: self.services.exited("api") is None):
            code = self.services.exited("api")
            if code is None:
                supervise.say(f"api did not become healthy; see {self.data.logs}/api.log")
            else:
                supervise.say(f"api exited with {code}: {self.services.last_words('api')}")
            self.services.shutdown()
            return supervise.USAGE_ERROR if code == supervise.USAGE_ERROR else 1
        self.services.start("controller")
        self.services.start("handler")
        store = f"kube-apiserver of {self.kubeconfig}" if self.kubeconfig else "SQLite"
        supervise.say(f"mesh is up (store: {store}; data dir {self.data.root}, api unix://{self.data.api_socket}"
                      + (f" and {self.args.api_listen}" if self.args.api_listen else "")
                      + f"; logs in {self.data.logs}). Ctrl-C stops it.")
        # The rest of the mesh's life needs none of the CLI's modules: become the lean supervisor.
        self.services.hand_over()
        self.services.shutdown()   # (only when a stop came before the hand-over)
        return 0
