"""A kubelet stand-in for the cluster tests (these machines have no kubelet or container runtime):
`python tests/kubelet_standin.py --kubeconfig K --node-name N --pods-dir D --image virtmesh=ROOT`.

It does the kubelet's part for the pods bound to its node, through the official `kubernetes` client:
each pod's one container runs as a local process — the container's own command and arguments, in a
mount namespace of its own where the pod's volumes are bind-mounted at their mountPaths (emptyDirs
under D/<pod uid>/volumes/kubernetes.io~empty-dir/<volume>, as the kubelet lays them out; hostPaths as
they are), started from the image's directory with the image's PATH (the venv) — and the pod's status
follows it: Pending (ContainerCreating) -> Running -> Succeeded or Failed, with containerStatuses, the
Ready conditions and the node's address as the pod's IP (host network). A pod being deleted gets
SIGTERM, SIGKILL after its grace period, and is then removed (the kubelet's final delete).
Not a kubelet: no images, cgroups, probes, restarts (launcher pods are restartPolicy Never) or init
containers.
"""
from __future__ import annotations

import argparse
import datetime
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time

from kubernetes import client, config, watch

log = logging.getLogger("kubelet-standin")
EMPTY_DIR = "kubernetes.io~empty-dir"


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


NOT_READY_TAINT = "node.kubernetes.io/not-ready"


def register_node(request, name: str, cpu: str = "2", memory: str = "24Gi") -> None:
    """What a kubelet and the node lifecycle controller make of a new machine, for a plane that runs
    neither: the Node with its capacity and a Ready condition (created if missing), then without the
    not-ready taint that the apiserver's TaintNodesByCondition admission puts on every new Node and the
    lifecycle controller lifts once the node is Ready. `request` is `services.common.kube.Kube.request`'s
    shape (method, path, body=, content_type=; gRPC's codes for errors)."""
    import grpc  # Kube.request's errors are gRPC's codes

    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    try:
        node = request("GET", f"/api/v1/nodes/{name}")
    except grpc.RpcError as e:
        if e.code() != grpc.StatusCode.NOT_FOUND:
            raise
        node = request("POST", "/api/v1/nodes", body={
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"capacity": resources, "allocatable": resources, "conditions": [
                {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status"}]}})
    taints = node.get("spec", {}).get("taints") or []
    kept = [t for t in taints if t["key"] != NOT_READY_TAINT]
    if kept != taints:
        request("PATCH", f"/api/v1/nodes/{name}", body={"spec": {"taints": kept or None}},
                content_type="application/merge-patch+json")


class Container:
    def __init__(self, pod: dict, proc: subprocess.Popen, started: str):
        self.pod, self.proc, self.started = pod, proc, started
        self.terminating = False


class Kubelet:
    def __init__(self, api: client.CoreV1Api, node: str, pods_dir: str, images: dict[str, str], log_dir: str):
        self.api, self.node, self.pods_dir, self.images, self.log_dir = api, node, pods_dir, images, log_dir
        self.running: dict[str, Container] = {}   # pod uid -> its container
        self.done: set[str] = set()
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ status

    def _status(self, pod: dict, phase: str, state: dict, ready: bool, message: str = "") -> None:
        md, spec = pod["metadata"], pod["spec"]
        c = spec["containers"][0]
        cond = "True" if ready else "False"
        t = now()
        body = {"status": {
            "phase": phase, "hostIP": "127.0.0.1", "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}], "startTime": md.get("creationTimestamp", t),
            "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": t},
                           {"type": "Initialized", "status": "True", "lastTransitionTime": t},
                           {"type": "ContainersReady", "status": cond, "lastTransitionTime": t},
                           {"type": "Ready", "status": cond, "lastTransitionTime": t}],
            "containerStatuses": [{"name": c["name"], "image": c["image"], "imageID": "", "ready": ready,
                                   "restartCount": 0, "started": "running" in state, "state": state}],
        }}
        if message:
            body["status"]["message"] = message
        try:
            self.api.patch_namespaced_pod_status(md["name"], md["namespace"], body)
        except client.ApiException as e:
            if e.status != 404:
                log.warning("status of pod %s/%s: %s", md["namespace"], md["name"], e.reason)

    # ------------------------------------------------------------------ volumes and start

    def _mounts(self, pod: dict) -> list[tuple[str, str]]:
        """(host dir, mountPath) of the container's volume mounts."""
        vols = {v["name"]: v for v in pod["spec"].get("volumes") or ()}
        out = []
        for m in pod["spec"]["containers"][0].get("volumeMounts") or ():
            v = vols[m["name"]]
            if "emptyDir" in v:
                src = os.path.join(self.pods_dir, pod["metadata"]["uid"], "volumes", EMPTY_DIR, m["name"])
                os.makedirs(src, mode=0o750, exist_ok=True)
            elif "hostPath" in v:
                src = v["hostPath"]["path"]
                if v["hostPath"].get("type") in ("DirectoryOrCreate",):
                    os.makedirs(src, exist_ok=True)
            else:
                raise ValueError(f"volume {m['name']}: only emptyDir and hostPath are run here")
            out.append((src, m["mountPath"]))
        return out

    def start(self, pod: dict) -> None:
        md = pod["metadata"]
        c = pod["spec"]["containers"][0]
        self._status(pod, "Pending", {"waiting": {"reason": "ContainerCreating"}}, False)
        workdir = self.images.get(c["image"])
        if workdir is None:
            self._status(pod, "Pending", {"waiting": {"reason": "ErrImagePull",
                                                      "message": f"image {c['image']} is not known here"}}, False)
            return
        argv = list(c.get("command") or ()) + list(c.get("args") or ())
        # The container's view: its volumes at their mountPaths, in a mount namespace of its own.
        script = ["set -e", "mount --make-rprivate /"]
        for src, dst in self._mounts(pod):
            if os.path.realpath(src) != os.path.realpath(dst):
                script += [f"mkdir -p {shlex.quote(dst)}", f"mount --bind {shlex.quote(src)} {shlex.quote(dst)}"]
        script += [f"cd {shlex.quote(workdir)}", 'exec "$@"']
        env = dict(os.environ, PATH=os.pathsep.join([os.path.join(workdir, ".venv", "bin"), os.environ["PATH"]]),
                   PYTHONPATH=workdir)
        for e in c.get("env") or ():
            if "value" in e:
                env[e["name"]] = e["value"]
        logf = open(os.path.join(self.log_dir, f"{md['namespace']}_{md['name']}.log"), "ab")
        proc = subprocess.Popen(["unshare", "--mount", "--", "sh", "-c", "\n".join(script), "container", *argv],
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)
        logf.close()
        started = now()
        with self.lock:
            self.running[md["uid"]] = Container(pod, proc, started)
        log.info("pod %s/%s: started pid %d: %s", md["namespace"], md["name"], proc.pid, shlex.join(argv))
        self._status(pod, "Running", {"running": {"startedAt": started}}, True)
        threading.Thread(target=self._wait, args=(md["uid"],), daemon=True).start()

    def _wait(self, uid: str) -> None:
        cont = self.running[uid]
        rc = cont.proc.wait()
        code = 128 - rc if rc < 0 else rc     # killed by a signal: 128 + its number, as runtimes report
        state = {"terminated": {"exitCode": code, "reason": "Completed" if code == 0 else "Error",
                                "startedAt": cont.started, "finishedAt": now()}}
        if rc < 0:
            state["terminated"]["signal"] = -rc
        md = cont.pod["metadata"]
        log.info("pod %s/%s: container exited with %d", md["namespace"], md["name"], code)
        self._status(cont.pod, "Succeeded" if code == 0 else "Failed", state, False)
        with self.lock:
            self.running.pop(uid, None)
            self.done.add(uid)
            terminating = cont.terminating
        if terminating:
            self._remove(cont.pod)

    # ------------------------------------------------------------------ deletion

    def stop(self, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        with self.lock:
            cont = self.running.get(uid)
            if cont is not None:
                if cont.terminating:
                    return
                cont.terminating = True
        if cont is None:
            self._remove(pod)
            return
        grace = pod["metadata"].get("deletionGracePeriodSeconds", pod["spec"].get("terminationGracePeriodSeconds", 30))
        try:
            os.kill(cont.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def kill_later():
            try:
                cont.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                cont.proc.kill()
        threading.Thread(target=kill_later, daemon=True).start()

    def _remove(self, pod: dict) -> None:
        md = pod["metadata"]
        try:
            # In the body: with a body, the apiserver reads no options from the query.
            self.api.delete_namespaced_pod(md["name"], md["namespace"], body=client.V1DeleteOptions(
                grace_period_seconds=0, preconditions=client.V1Preconditions(uid=md["uid"])))
        except client.ApiException as e:
            if e.status not in (404, 409):
                log.warning("deleting pod %s/%s: %s", md["namespace"], md["name"], e.reason)

    # ------------------------------------------------------------------ the loop

    def handle(self, typ: str, pod: dict) -> None:
        uid = pod["metadata"]["uid"]
        if typ == "DELETED":
            with self.lock:
                cont = self.running.get(uid)
            if cont is not None:
                cont.proc.kill()
            return
        if pod["metadata"].get("deletionTimestamp"):
            self.stop(pod)
            return
        with self.lock:
            known = uid in self.running or uid in self.done
        if not known and pod.get("status", {}).get("phase") in (None, "", "Pending"):
            try:
                self.start(pod)
            except Exception as e:  # noqa: BLE001 - the pod fails, as with a runtime error
                log.exception("pod %s: cannot start", pod["metadata"]["name"])
                self._status(pod, "Failed", {"terminated": {"exitCode": 128, "reason": "StartError",
                                                            "message": str(e)}}, False)
                self.done.add(uid)

    def run(self) -> None:
        sel = f"spec.nodeName={self.node}"
        rv = ""
        while True:
            try:
                if not rv:
                    lst = self.api.api_client.sanitize_for_serialization(
                        self.api.list_pod_for_all_namespaces(field_selector=sel))
                    for pod in lst.get("items") or ():
                        self.handle("ADDED", pod)
                    rv = lst["metadata"]["resourceVersion"]
                w = watch.Watch()
                for ev in w.stream(self.api.list_pod_for_all_namespaces, field_selector=sel, resource_version=rv,
                                   timeout_seconds=300):
                    raw = ev["raw_object"]
                    rv = raw.get("metadata", {}).get("resourceVersion", rv)
                    if ev["type"] in ("ADDED", "MODIFIED", "DELETED"):
                        self.handle(ev["type"], raw)
            except client.ApiException as e:
                if e.status == 410:
                    rv = ""
                log.warning("watch: %s", e.reason)
                time.sleep(0.5)
            except Exception as e:  # noqa: BLE001 - a broken stream: resume
                log.warning("watch: %s", e)
                time.sleep(0.5)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--node-name", required=True)
    p.add_argument("--pods-dir", required=True, help="the kubelet's pod directory (emptyDir volumes live here)")
    p.add_argument("--image", action="append", default=[], metavar="NAME=DIR",
                   help="an image this node 'has': its working directory (with .venv/bin on PATH)")
    p.add_argument("--log-dir", required=True, help="each container's output: NS_POD.log")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s kubelet-standin %(levelname)s %(message)s")
    cfg = client.Configuration()
    config.load_kube_config(config_file=args.kubeconfig, client_configuration=cfg)
    api = client.CoreV1Api(client.ApiClient(cfg))
    images = dict(i.split("=", 1) for i in args.image)
    os.makedirs(args.pods_dir, exist_ok=True)
    os.makedirs(args.log_dir, exist_ok=True)
    Kubelet(api, args.node_name, args.pods_dir, images, args.log_dir).run()


if __name__ == "__main__":
    sys.exit(main())
