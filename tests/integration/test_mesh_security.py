"""Who may reach the mesh (issue 13): every TCP port is mutual TLS with the mesh CA's certificates,
renewed without a restart; certificate holders are authorised by their group; local users by the
api socket's group or the read-only socket; handlers take calls only from the mesh's services."""
import datetime
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from harness import ROOT, Mesh, short_tmpdir
from integration.test_mesh import VM
from services.common import meshtls, proto

NOBODY = 65534
SYSTEM_PYTHON = "/usr/bin/python3"  # the venv's interpreter lives under /root, which nobody may enter


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _metrics_ports(data_dir: str) -> dict[str, int]:
    run = os.path.join(data_dir, "run")
    return {f[len("metrics-"):-len(".port")]: int(open(os.path.join(run, f)).read())
            for f in os.listdir(run) if f.startswith("metrics-") and f.endswith(".port")}


def _health(channel: grpc.Channel) -> int:
    return health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5).status


def _tls_channel(port: int, ident: meshtls.Identity | None, ca_pem: bytes, server_name: str) -> grpc.Channel:
    m = ident.load() if ident else None
    creds = grpc.ssl_channel_credentials(ca_pem, m.key_pem if m else None, m.cert_pem if m else None)
    return grpc.secure_channel(f"127.0.0.1:{port}", creds, options=[("grpc.ssl_target_name_override", server_name)])


def _served_certificate(port: int, ident: meshtls.Identity, server_name: str) -> bytes:
    """The certificate a TLS server on `port` presents now (a fresh handshake)."""
    ctx = ident.client_ssl_context()
    ctx.set_alpn_protocols(["h2"])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            ctx.wrap_socket(raw, server_hostname=server_name) as tls:
        return tls.getpeercert(binary_form=True)


@pytest.fixture(scope="module")
def tls_mesh():
    d = short_tmpdir("vmsec-")
    port = _free_port()
    # Short-lived certificates: the module sees them renewed.
    m = Mesh(d, "test:///default", extra=["--api-listen", f"127.0.0.1:{port}"],
             env={meshtls.ENV_CERT_SECONDS: "8"})
    m.api_port = port
    m.pki = meshtls.MeshPKI(os.path.join(d, "pki"))
    yield m
    m.stop()


def test_every_tcp_port_refuses_a_client_without_a_mesh_certificate(tls_mesh):
    ca_pem = open(os.path.join(tls_mesh.pki.ca_dir, "tls.crt"), "rb").read()
    outsider_dir = short_tmpdir("vmsec-other-")
    outsider = meshtls.MeshPKI(outsider_dir).issue("mallory", (meshtls.ADMINS_GROUP,))  # another CA's
    admin = tls_mesh.pki.ensure("admin", (meshtls.ADMINS_GROUP,))

    # The api's gRPC: plain text, TLS without a client certificate, a certificate of another CA.
    for channel in (grpc.insecure_channel(f"127.0.0.1:{tls_mesh.api_port}"),
                    _tls_channel(tls_mesh.api_port, None, ca_pem, meshtls.API_SERVER_NAME),
                    _tls_channel(tls_mesh.api_port, outsider, ca_pem, meshtls.API_SERVER_NAME)):
        with channel, pytest.raises(grpc.RpcError) as e:
            _health(channel)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    with _tls_channel(tls_mesh.api_port, admin, ca_pem, meshtls.API_SERVER_NAME) as ok:
        assert _health(ok) == health_pb2.HealthCheckResponse.SERVING

    # Every /metrics: plain HTTP and HTTPS without a client certificate are refused.
    # (each service writes its port file once it serves; the controller may still be starting)
    tls_mesh.wait_for(lambda: set(_metrics_ports(tls_mesh.data_dir)) == {"api", "controller", "handler"}, 60,
                      "every service's metrics port")
    ports = _metrics_ports(tls_mesh.data_dir)
    no_cert = ssl.create_default_context(cafile=os.path.join(tls_mesh.pki.ca_dir, "tls.crt"))
    no_cert.check_hostname = False
    for service, port in ports.items():
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        with pytest.raises((ssl.SSLError, OSError)):
            urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=5, context=no_cert).read()
        ctx = admin.client_ssl_context()
        ctx.check_hostname = False
        body = urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=5, context=ctx).read()
        assert b"# HELP" in body, service


def test_a_silent_client_does_not_stall_the_metrics(tls_mesh):
    port = _metrics_ports(tls_mesh.data_dir)["api"]
    admin = tls_mesh.pki.ensure("admin", (meshtls.ADMINS_GROUP,))
    ctx = admin.client_ssl_context()
    ctx.check_hostname = False
    with socket.create_connection(("127.0.0.1", port)):  # connects, never says hello
        body = urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=5, context=ctx).read()
    assert b"# HELP" in body


def test_certificate_holders_are_authorised_by_their_group(tls_mesh):
    api = f"127.0.0.1:{tls_mesh.api_port}"
    out = tls_mesh.cli("certs", "issue", "alice", "--out", os.path.join(tls_mesh.data_dir, "alice")).stdout
    assert "virtmesh:viewers" in out
    alice = ["--api", api, "--certs", os.path.join(tls_mesh.data_dir, "alice")]
    tls_mesh.cli("apply", "-f", "-", input=VM.format(name="sec", strategy="Always"))
    tls_mesh.wait_for(lambda: tls_mesh.vm_status("sec") == "Running", 30, "VM Running")

    # A viewer reads …
    r = tls_mesh.cli(*alice, "get", "vm", "sec", "-o", "name")
    assert r.stdout.strip() == "virtualmachine.kubevirt.io/sec"
    # … and may change nothing: create, delete, stop, pause, console.
    for verb, stdin in ((["apply", "-f", "-"], VM.format(name="sec2", strategy="Always")),
                        (["delete", "vm", "sec"], None), (["stop", "sec"], None), (["pause", "vmi", "sec"], None),
                        (["console", "sec", "--no-stdin", "--stop-after", "2"], None)):
        r = tls_mesh.cli(*alice, *verb, input=stdin, check=False)
        assert r.returncode != 0 and "Forbidden" in r.stderr and 'user "alice"' in r.stderr, (verb, r.stderr)
        assert "Traceback" not in r.stderr
    assert tls_mesh.get("vm", "sec2") is None
    assert tls_mesh.vm_status("sec") == "Running"

    # An admin's certificate changes things.
    tls_mesh.cli("certs", "issue", "bob", "--group", "virtmesh", "--out", os.path.join(tls_mesh.data_dir, "bob"))
    bob = ["--api", api, "--certs", os.path.join(tls_mesh.data_dir, "bob")]
    tls_mesh.cli(*bob, "stop", "sec")
    tls_mesh.wait_for(lambda: tls_mesh.get("vmi", "sec") is None, 30, "VMI gone")


def test_certificates_are_renewed_without_a_restart(tls_mesh):
    api_pid = int(subprocess.run(["pgrep", "-f", f"services.api --data-dir {tls_mesh.data_dir}"],
                                 capture_output=True, text=True).stdout.split()[0])
    metrics_port = _metrics_ports(tls_mesh.data_dir)["controller"]

    def served() -> tuple[bytes, bytes]:
        """What the api's gRPC and the controller's /metrics present at a fresh handshake."""
        ident = tls_mesh.pki.ensure("admin", (meshtls.ADMINS_GROUP,))  # ours expires too
        ctx = ident.client_ssl_context()
        ctx.check_hostname = False
        with socket.create_connection(("127.0.0.1", metrics_port)) as raw, ctx.wrap_socket(raw) as tls:
            return _served_certificate(tls_mesh.api_port, ident, meshtls.API_SERVER_NAME), \
                tls.getpeercert(binary_form=True)

    first_grpc, first_metrics = served()
    first_end = meshtls.x509.load_der_x509_certificate(first_grpc).not_valid_after_utc
    # 8 s certificates are renewed with a third of their life left, by each service itself.
    deadline = time.monotonic() + 20
    while True:
        now_grpc, now_metrics = served()
        if now_grpc != first_grpc and now_metrics != first_metrics:
            break
        assert time.monotonic() < deadline, "a service still serves its first certificate"
        time.sleep(0.5)
    # Past the first certificates' end, the same processes still serve and the CLI still works.
    while datetime.datetime.now(datetime.timezone.utc) < first_end + datetime.timedelta(seconds=1):
        time.sleep(0.5)
    r = tls_mesh.cli("--api", f"127.0.0.1:{tls_mesh.api_port}", "get", "vms", "-o", "name")
    assert r.returncode == 0
    assert os.path.exists(f"/proc/{api_pid}")


# ---------------------------------------------------------------------------- local users

def _as_nobody(mesh: Mesh, *args, groups: tuple[int, ...] = (), input: str | None = None):
    """`virtmesh ARGS` run by an unprivileged user (uid/gid 65534), optionally in `groups`."""
    site = os.path.join(ROOT, ".venv", "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                        "site-packages")
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": f"{ROOT}:{site}",
           "VIRTMESH_DATA_DIR": mesh.data_dir}
    who = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}"]
    who += [f"--groups={','.join(map(str, groups))}"] if groups else ["--clear-groups"]
    return subprocess.run([*who, SYSTEM_PYTHON, "-m", "services.cli", *args], env=env, cwd="/tmp",
                          capture_output=True, text=True, input=input, timeout=60)


@pytest.fixture(scope="module")
def group_mesh():
    if not os.path.exists(SYSTEM_PYTHON):
        pytest.fail(f"{SYSTEM_PYTHON} is needed to run the CLI as an unprivileged user")
    d = short_tmpdir("vmgrp-")
    gid = 54321  # a group nobody belongs to unless a test says so
    m = Mesh(d, "test:///default", extra=["--socket-group", str(gid), "--readers", "all"])
    m.gid = gid
    yield m
    m.stop()


def test_an_unprivileged_user_reads_through_the_read_socket_and_changes_nothing(group_mesh):
    group_mesh.cli("apply", "-f", "-", input=VM.format(name="mine", strategy="Always"))
    group_mesh.wait_for(lambda: group_mesh.vm_status("mine") == "Running", 30, "VM Running")
    r = _as_nobody(group_mesh, "get", "vm", "mine", "-o", "name")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "virtualmachine.kubevirt.io/mine"
    for verb, stdin in ((["apply", "-f", "-"], VM.format(name="theirs", strategy="Always")),
                        (["delete", "vm", "mine"], None), (["stop", "mine"], None),
                        (["console", "mine", "--no-stdin", "--stop-after", "2"], None)):
        r = _as_nobody(group_mesh, *verb, input=stdin)
        assert r.returncode != 0 and "Forbidden" in r.stderr and "only reads" in r.stderr, (verb, r.stderr)
        assert "Traceback" not in r.stderr
    assert group_mesh.get("vm", "theirs") is None and group_mesh.vm_status("mine") == "Running"
    # The main socket itself is closed to them.
    api_sock = os.path.join(group_mesh.data_dir, "run", "api.sock")
    r = _as_nobody(group_mesh, "--api", f"unix://{api_sock}", "delete", "vm", "mine")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert group_mesh.vm_status("mine") == "Running"
    # Nothing else of the data dir is theirs to read.
    for path in ("store", "logs", "pki", "vms"):
        r = subprocess.run(["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "ls",
                            os.path.join(group_mesh.data_dir, path)], capture_output=True, text=True)
        assert r.returncode != 0 and "Permission denied" in r.stderr, path


def test_a_member_of_the_socket_group_may_change_things(group_mesh):
    r = _as_nobody(group_mesh, "--api", f"unix://{os.path.join(group_mesh.data_dir, 'run', 'api.sock')}",
                   "apply", "-f", "-", groups=(group_mesh.gid,), input=VM.format(name="grouped", strategy="Always"))
    assert r.returncode == 0, r.stderr
    group_mesh.wait_for(lambda: group_mesh.vm_status("grouped") == "Running", 30, "VM Running")
    r = _as_nobody(group_mesh, "delete", "vm", "grouped", groups=(group_mesh.gid,))
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------- handlers

def test_a_handler_over_tcp_takes_calls_from_the_mesh_services_only(tls_mesh):
    """A second node's handler serving TCP: no certificate is refused at the handshake, an admin's
    certificate is forbidden, the api's (a service) is served."""
    port = _free_port()
    env = dict(os.environ, PYTHONPATH=ROOT)
    log = open(os.path.join(tls_mesh.data_dir, "logs", "handler-node02.log"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "services.handler", "--data-dir", tls_mesh.data_dir,
                             "--node-name", "node02", "--listen", f"127.0.0.1:{port}",
                             "--libvirt-uri", "test:///default", "--no-zygote"],
                            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        tls_mesh.wait_for(lambda: tls_mesh.node_ready("node02"), 60, "node02 registered")
        ca_pem = open(os.path.join(tls_mesh.pki.ca_dir, "tls.crt"), "rb").read()
        with grpc.insecure_channel(f"127.0.0.1:{port}") as plain, pytest.raises(grpc.RpcError) as e:
            _health(plain)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        request = proto.api.SubresourceRequest(namespace="default", name="nothing-here")
        admin = tls_mesh.pki.ensure("admin", (meshtls.ADMINS_GROUP,))
        with _tls_channel(port, admin, ca_pem, meshtls.HANDLER_SERVER_NAME) as ch:
            with pytest.raises(grpc.RpcError) as e:
                proto.handler_grpc.HandlerStub(ch).Pause(request, timeout=5)
            assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
        api_ident = tls_mesh.pki.identity("api")
        with _tls_channel(port, api_ident, ca_pem, meshtls.HANDLER_SERVER_NAME) as ch:
            with pytest.raises(grpc.RpcError) as e:
                proto.handler_grpc.HandlerStub(ch).Pause(request, timeout=5)
            assert e.value.code() != grpc.StatusCode.PERMISSION_DENIED  # served: no such VMI here
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_pki_files_are_root_only(tls_mesh):
    for root, dirs, files in os.walk(tls_mesh.pki.root):
        for d in dirs:
            assert os.stat(os.path.join(root, d)).st_mode & 0o077 == 0, d
        for f in files:
            mode = os.stat(os.path.join(root, f)).st_mode
            if f == "tls.key" or f == ".lock":
                assert mode & 0o077 == 0, f


def test_probes_and_cluster_secrets(tls_mesh):
    """What a cluster's pods use: an exec probe over the unix socket (the kubelet's gRPC probe cannot
    speak mutual TLS) and the services' certificates as kubernetes.io/tls Secrets."""
    import base64
    import yaml
    probe = [sys.executable, "-m", "services.common.healthprobe"]
    ok = subprocess.run([*probe, f"unix://{os.path.join(tls_mesh.data_dir, 'run', 'api.sock')}"],
                        cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    gone = subprocess.run([*probe, f"unix://{os.path.join(tls_mesh.data_dir, 'run', 'nothing.sock')}"],
                          cwd=ROOT, capture_output=True, text=True)
    assert gone.returncode == 1 and "UNAVAILABLE" in gone.stderr
    out = tls_mesh.cli("certs", "issue", "virtmesh-handler", "--group", meshtls.SERVICES_GROUP,
                       "--server-name", meshtls.HANDLER_SERVER_NAME, "--secret", "virtmesh-handler-tls").stdout
    secret = yaml.safe_load(out)
    assert secret["kind"] == "Secret" and secret["type"] == "kubernetes.io/tls"
    cert = meshtls.x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    sans = cert.extensions.get_extension_for_class(meshtls.x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(meshtls.x509.DNSName) == [meshtls.HANDLER_SERVER_NAME]
    assert meshtls.subject_of(base64.b64decode(secret["data"]["tls.crt"])) == (
        "virtmesh-handler", (meshtls.SERVICES_GROUP,))
    assert base64.b64decode(secret["data"]["ca.crt"]) == open(os.path.join(tls_mesh.pki.ca_dir, "tls.crt"), "rb").read()
