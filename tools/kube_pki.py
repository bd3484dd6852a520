"""The test control plane's files (called by tools/kube.sh start): certificates, the audit policy and
the admin kubeconfig. `python tools/kube_pki.py KUBE_DIR APISERVER_PORT`; kept files are reused, so
clients holding the old CA keep working across restarts."""
from __future__ import annotations

import base64
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import yaml  # noqa: E402

from services.common import pki  # noqa: E402

# Writes only, at Metadata level: what bench/controlplane.py counts per VM start.
AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        {"level": "Metadata", "verbs": ["create", "update", "patch", "delete", "deletecollection"]},
        {"level": "None"},
    ],
}


def _pair(pki_dir: str, name: str, make) -> pki.KeyPair:
    if os.path.exists(os.path.join(pki_dir, f"{name}.crt")):
        return pki.KeyPair.read(pki_dir, name)
    pair = make()
    pair.write(pki_dir, name)
    return pair


def main(kube_dir: str, port: str) -> None:
    d = os.path.join(kube_dir, "pki")
    os.makedirs(d, mode=0o700, exist_ok=True)
    ca = _pair(d, "ca", lambda: pki.new_ca("virtmesh-kube-ca"))
    _pair(d, "apiserver", lambda: pki.issue(ca, "kube-apiserver", server=True, hosts=(
        "localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "10.0.0.1")))
    admin = _pair(d, "admin", lambda: pki.issue(ca, "virtmesh-admin", organizations=("system:masters",), client=True))
    sa = _pair(d, "sa", lambda: pki.new_ca("service-account-signer"))
    if not os.path.exists(os.path.join(d, "sa.pub")):
        with open(os.path.join(d, "sa.pub"), "wb") as f:
            f.write(sa.public_key_pem)
    proxy_ca = _pair(d, "front-proxy-ca", lambda: pki.new_ca("front-proxy-ca"))
    _pair(d, "front-proxy-client", lambda: pki.issue(proxy_ca, "front-proxy-client", client=True))
    with open(os.path.join(kube_dir, "audit-policy.yaml"), "w") as f:
        yaml.safe_dump(AUDIT_POLICY, f, sort_keys=False)
    _webhook_client(kube_dir, d, ca)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    kubeconfig = {
        "apiVersion": "v1", "kind": "Config", "current-context": "virtmesh",
        "clusters": [{"name": "virtmesh", "cluster": {
            "server": f"https://127.0.0.1:{port}", "certificate-authority-data": b64(ca.cert_pem)}}],
        "users": [{"name": "virtmesh-admin", "user": {
            "client-certificate-data": b64(admin.cert_pem), "client-key-data": b64(admin.key_pem)}}],
        "contexts": [{"name": "virtmesh", "context": {"cluster": "virtmesh", "user": "virtmesh-admin"}}],
    }
    path = os.path.join(kube_dir, "kubeconfig")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(kubeconfig, f, sort_keys=False)


def _webhook_client(kube_dir: str, pki_dir: str, ca: pki.KeyPair) -> None:
    """The certificate the kube-apiserver presents to every admission webhook (`*`), through an
    AdmissionConfiguration: webhooks that demand a client certificate (the api's
    --webhook-client-ca KUBE_DIR/pki/ca.crt) take only the apiserver's calls."""
    _pair(pki_dir, "webhook-client", lambda: pki.issue(ca, "kube-apiserver-webhook-client", client=True))
    kubeconfig = {"apiVersion": "v1", "kind": "Config", "users": [{"name": "*", "user": {
        "client-certificate": os.path.join(pki_dir, "webhook-client.crt"),
        "client-key": os.path.join(pki_dir, "webhook-client.key")}}]}
    with open(os.path.join(kube_dir, "webhook-kubeconfig"), "w") as f:
        yaml.safe_dump(kubeconfig, f, sort_keys=False)
    plugin = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "WebhookAdmissionConfiguration",
              "kubeConfigFile": os.path.join(kube_dir, "webhook-kubeconfig")}
    admission = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration", "plugins": [
        {"name": name, "configuration": plugin} for name in ("ValidatingAdmissionWebhook", "MutatingAdmissionWebhook")]}
    with open(os.path.join(kube_dir, "admission.yaml"), "w") as f:
        yaml.safe_dump(admission, f, sort_keys=False)


def user_kubeconfig(kube_dir: str, user: str, groups: tuple[str, ...] = (), path: str | None = None) -> str:
    """A kubeconfig for `user` in `groups`: a client certificate from the plane's CA (Kubernetes reads
    the user from CN and the groups from O). Returns its path (default KUBE_DIR/kubeconfig-USER)."""
    pair = pki.issue(pki.KeyPair.read(os.path.join(kube_dir, "pki"), "ca"), user, organizations=groups,
                     client=True)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    return _kubeconfig_as(kube_dir, user, {"client-certificate-data": b64(pair.cert_pem),
                                           "client-key-data": b64(pair.key_pem)}, path)


def token_kubeconfig(kube_dir: str, name: str, token: str, path: str | None = None) -> str:
    """A kubeconfig presenting a bearer token (a service account's, from a TokenRequest)."""
    return _kubeconfig_as(kube_dir, name, {"token": token}, path)


def _kubeconfig_as(kube_dir: str, name: str, credentials: dict, path: str | None) -> str:
    """The admin's kubeconfig (same server, same CA) with `credentials` in place of the admin's."""
    with open(os.path.join(kube_dir, "kubeconfig")) as f:
        kubeconfig = yaml.safe_load(f)
    kubeconfig["users"] = [{"name": name, "user": credentials}]
    kubeconfig["contexts"][0]["context"]["user"] = name
    path = path or os.path.join(kube_dir, "kubeconfig-" + name.replace(":", "-"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(kubeconfig, f, sort_keys=False)
    return path

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
