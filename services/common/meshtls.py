"""Mutual TLS inside the mesh: one CA, a certificate per service and per user, renewed before expiry.

Every TCP listener of the mesh (the api's and the handlers' gRPC, every /metrics) serves TLS and asks
for a client certificate signed by the mesh CA; every client presents its identity's certificate and
checks the server's against the CA and the *service name* in it (`virtmesh-api`, `virtmesh-handler`,
…), not against the address it dialled: a handler's address is a pod IP that no certificate can know
in advance, its name is fixed. Unix sockets stay plain: the kernel checks who may connect.

On disk each identity is a directory in a kubernetes.io/tls Secret's layout, so a cluster mounts its
Secrets where standalone writes files:

    PKI/ca/tls.crt, tls.key             the mesh CA (standalone: made by the first process that needs it)
    PKI/<name>/tls.crt, tls.key, ca.crt  a service's or a user's certificate

Leaf certificates live CERT_VALIDITY (KubeVirt's are a day too) and are renewed by the process that
uses them once a third of their life is left, when it can read the CA key (standalone, root). Servers
load renewed files at their next handshake, clients at their next channel: nobody restarts. A cluster's
Secrets are renewed by whoever owns them; the services read the mounted files the same way.
"""
from __future__ import annotations

import contextlib
import datetime
import fcntl
import functools
import logging
import os
import ssl
import threading
from dataclasses import dataclass

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from services.common import pki

log = logging.getLogger(__name__)

# Who is who (the certificate's O, as Kubernetes reads groups): services may do what the mesh does,
# admins anything (like root on the unix socket), viewers read.
SERVICES_GROUP = "virtmesh:services"
ADMINS_GROUP = "virtmesh"
VIEWERS_GROUP = "virtmesh:viewers"

# The names servers prove (a DNS SAN) and clients ask for.
API_SERVER_NAME = "virtmesh-api"
HANDLER_SERVER_NAME = "virtmesh-handler"
CONTROLLER_SERVER_NAME = "virtmesh-controller"  # its /metrics only

CA_VALIDITY = datetime.timedelta(days=3650)
ENV_CERT_SECONDS = "VIRTMESH_CERT_SECONDS"   # leaf validity; short in tests that watch a renewal
ENV_PKI_DIR = "VIRTMESH_PKI_DIR"             # where the CLI finds ca/, admin/ (default DATA_DIR/pki)
ENV_CERTS = "VIRTMESH_CERTS"                 # the CLI's own identity directory (tls.crt, tls.key, ca.crt)
RENEW_LEFT = 1 / 3


def cert_validity() -> datetime.timedelta:
    return datetime.timedelta(seconds=float(os.environ.get(ENV_CERT_SECONDS) or 24 * 3600))


class NoCertificate(Exception):
    """An identity's files are missing and no CA key is at hand to issue them."""


def _write_atomic(path: str, data: bytes, mode: int) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


@functools.lru_cache(maxsize=256)
def subject_of(cert_pem: bytes) -> tuple[str, tuple[str, ...]]:
    """(CN, O values) of a PEM certificate: a caller's user and groups."""
    subject = x509.load_pem_x509_certificate(cert_pem).subject
    cn = [a.value for a in subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    orgs = tuple(str(a.value) for a in subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME))
    return (str(cn[0]) if cn else ""), orgs


@dataclass(frozen=True)
class Material:
    """One consistent read of an identity's files."""
    key_pem: bytes
    cert_pem: bytes
    ca_pem: bytes
    stamp: tuple

    @property
    def certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.cert_pem)


class Identity:
    """A directory holding tls.crt, tls.key and ca.crt (a Secret's layout)."""

    def __init__(self, directory: str):
        self.directory = directory

    @property
    def cert_path(self) -> str:
        return os.path.join(self.directory, "tls.crt")

    @property
    def key_path(self) -> str:
        return os.path.join(self.directory, "tls.key")

    @property
    def ca_path(self) -> str:
        return os.path.join(self.directory, "ca.crt")

    def exists(self) -> bool:
        return all(os.path.exists(p) for p in (self.cert_path, self.key_path, self.ca_path))

    def stamp(self) -> tuple:
        return tuple((st.st_ino, st.st_mtime_ns, st.st_size)
                     for st in (os.stat(p) for p in (self.cert_path, self.key_path, self.ca_path)))

    def load(self) -> Material:
        """The files, read so that key and certificate belong together (a renewal replaces them one
        after the other: a reader in between gets the previous pair's stamp and reads again)."""
        for _ in range(20):
            stamp = self.stamp()
            with open(self.key_path, "rb") as f:
                key_pem = f.read()
            with open(self.cert_path, "rb") as f:
                cert_pem = f.read()
            with open(self.ca_path, "rb") as f:
                ca_pem = f.read()
            if stamp == self.stamp() and _pair_matches(key_pem, cert_pem):
                return Material(key_pem, cert_pem, ca_pem, stamp)
            threading.Event().wait(0.05)
        raise NoCertificate(f"{self.directory}: tls.key does not belong to tls.crt")

    # ---------------------------------------------------------------- gRPC

    def server_credentials(self) -> grpc.ServerCredentials:
        """TLS that demands a client certificate from the CA; re-read at a handshake after the files
        changed (a renewal, or a kubelet updating a mounted Secret)."""
        current = self.load()

        def config(m: Material):
            return grpc.ssl_server_certificate_configuration([(m.key_pem, m.cert_pem)], root_certificates=m.ca_pem)

        def fetch():
            nonlocal current
            try:
                if self.stamp() == current.stamp:
                    return None
                current = self.load()
            except (OSError, NoCertificate) as e:
                log.warning("keeping the previous certificate of %s: %s", self.directory, e)
                return None
            log.info("serving the renewed certificate of %s", self.directory)
            return config(current)

        return grpc.dynamic_ssl_server_credentials(config(current), fetch, require_client_authentication=True)

    def channel_credentials(self) -> grpc.ChannelCredentials:
        m = self.load()
        return grpc.ssl_channel_credentials(root_certificates=m.ca_pem, private_key=m.key_pem,
                                            certificate_chain=m.cert_pem)

    # ---------------------------------------------------------------- HTTPS (/metrics)

    def server_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        self.reload_ssl_context(ctx)
        return ctx

    def reload_ssl_context(self, ctx: ssl.SSLContext) -> None:
        """New handshakes on `ctx` use the current files."""
        ctx.load_cert_chain(self.cert_path, self.key_path)
        ctx.load_verify_locations(cafile=self.ca_path)

    def client_ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_path)
        ctx.load_cert_chain(self.cert_path, self.key_path)
        return ctx


def _pair_matches(key_pem: bytes, cert_pem: bytes) -> bool:
    try:
        key = serialization.load_pem_private_key(key_pem, None)
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        return False
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key.public_key().public_bytes(*fmt) == cert.public_key().public_bytes(*fmt)


class MeshPKI:
    """The CA and the identities under one directory (standalone: DATA_DIR/pki, root's only)."""

    def __init__(self, root: str):
        self.root = root

    @property
    def ca_dir(self) -> str:
        return os.path.join(self.root, "ca")

    def identity(self, name: str) -> Identity:
        return Identity(os.path.join(self.root, name))

    def has_ca_key(self) -> bool:
        return os.access(os.path.join(self.ca_dir, "tls.key"), os.R_OK)

    @contextlib.contextmanager
    def _locked(self):
        os.makedirs(self.root, mode=0o700, exist_ok=True)
        fd = os.open(os.path.join(self.root, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _ca(self) -> pki.KeyPair:
        """The CA, made on first use (under the lock: services starting together make one)."""
        crt, key = os.path.join(self.ca_dir, "tls.crt"), os.path.join(self.ca_dir, "tls.key")
        if not os.path.exists(key):
            os.makedirs(self.ca_dir, mode=0o700, exist_ok=True)
            ca = pki.new_ca("virtmesh-ca", valid=CA_VALIDITY)
            _write_atomic(key, ca.key_pem, 0o600)
            _write_atomic(crt, ca.cert_pem, 0o600)
        with open(crt, "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(key, "rb") as f:
            return pki.KeyPair(cert, pki.load_key(f.read()))

    def issue(self, name: str, groups: tuple[str, ...], server_name: str = "",
              directory: str | None = None, valid: datetime.timedelta | None = None) -> Identity:
        """A new certificate for `name` (CN) in `groups` (O), a server's when `server_name` is given
        (its DNS SAN), always a client's; written as `directory` (default PKI/<name>). The key is
        replaced before the certificate: a reader checks they match."""
        ident = Identity(directory or os.path.join(self.root, name))
        with self._locked():
            ca = self._ca()
            pair = pki.issue(ca, name, organizations=groups, client=True, server=bool(server_name),
                             hosts=(server_name,) if server_name else (),
                             valid=valid or cert_validity())
            os.makedirs(ident.directory, mode=0o700, exist_ok=True)
            _write_atomic(ident.ca_path, ca.cert_pem, 0o600)
            _write_atomic(ident.key_path, pair.key_pem, 0o600)
            _write_atomic(ident.cert_path, pair.cert_pem, 0o600)
        return ident

    def ensure(self, name: str, groups: tuple[str, ...], server_name: str = "") -> Identity:
        """`name`'s identity, issued when missing or due for renewal (and a CA key is at hand)."""
        ident = self.identity(name)
        if ident.exists() and not due(ident):
            return ident
        if not self.has_ca_key() and os.path.exists(os.path.join(self.ca_dir, "tls.crt")):
            if ident.exists():
                return ident  # someone else renews it (a cluster's Secret)
            raise NoCertificate(f"no certificate in {ident.directory} and no CA key to issue one")
        return self.issue(name, groups, server_name)


def due(ident: Identity, validity: datetime.timedelta | None = None) -> bool:
    """Whether `ident` has less than a third of its life left (or of `validity`, the configured
    lifetime, which a fresh certificate's dates include a small backdating beyond)."""
    cert = ident.load().certificate
    life = validity or (cert.not_valid_after_utc - cert.not_valid_before_utc)
    left = cert.not_valid_after_utc - datetime.datetime.now(datetime.timezone.utc)
    return left < life * RENEW_LEFT


class Renewer:
    """Keeps an identity fresh from a daemon thread: renews it when due (given the mesh PKI and its
    CA key, standalone) and calls `on_change` callbacks whenever its files change, whoever changed
    them (this renewer, or a kubelet updating a mounted Secret) — e.g. to reload an HTTPS server."""

    def __init__(self, identity: Identity, mesh: MeshPKI | None = None, groups: tuple[str, ...] = (),
                 server_name: str = ""):
        self.identity, self.mesh, self.groups, self.server_name = identity, mesh, groups, server_name
        self.on_change: list = []
        self._stop = threading.Event()

    def start(self) -> "Renewer":
        threading.Thread(target=self._run, name="cert-renewer", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        validity = cert_validity()
        period = max(1.0, min(300.0, validity.total_seconds() / 20))
        seen = self.identity.load().stamp
        while not self._stop.wait(period):
            try:
                if self.mesh is not None and self.mesh.has_ca_key() and due(self.identity, validity):
                    name = os.path.basename(self.identity.directory)
                    self.mesh.issue(name, self.groups, self.server_name)
                    log.info("renewed the certificate of %s", name)
                stamp = self.identity.load().stamp
                if stamp != seen:
                    seen = stamp
                    for cb in self.on_change:
                        cb()
            except Exception as e:  # noqa: BLE001 - the next period retries; the old cert still serves
                log.warning("keeping the certificate in %s fresh: %s", self.identity.directory, e)


def service_identity(pki_dir: str, name: str, server_name: str, tls_dir: str | None = None) -> Renewer:
    """A service's identity, kept fresh: `tls_dir` when given (a mounted Secret, renewed by its
    owner), else PKI_DIR/<name>, issued or renewed now and later by this process."""
    if tls_dir:
        ident = Identity(tls_dir)
        if not ident.exists():
            raise NoCertificate(f"--tls-dir {tls_dir}: needs tls.crt, tls.key and ca.crt")
        return Renewer(ident).start()
    mesh = MeshPKI(pki_dir)
    ident = mesh.ensure(name, (SERVICES_GROUP,), server_name)
    return Renewer(ident, mesh, (SERVICES_GROUP,), server_name).start()


def add_flags(p) -> None:
    p.add_argument("--tls-dir", help="this service's certificate for TCP (tls.crt, tls.key, ca.crt: e.g. a "
                   "mounted Secret, renewed by its owner); default DATA_DIR/pki/<service>, issued and "
                   "renewed from the mesh CA there")
