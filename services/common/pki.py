"""Certificates (the `cryptography` library): CAs and the certificates they sign — the mesh's own
(services/common/meshtls.py), the api's admission webhook serving certificate, and the test control
plane's (tools/kube_pki.py)."""
from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALID_DAYS = 365


@dataclass
class KeyPair:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption())

    @property
    def public_key_pem(self) -> bytes:
        return self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def write(self, directory: str, name: str) -> tuple[str, str]:
        """`name.crt` (0644) and `name.key` (0600) in `directory`; returns their paths."""
        crt, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
        _write(crt, self.cert_pem, 0o644)
        _write(key, self.key_pem, 0o600)
        return crt, key

    @classmethod
    def read(cls, directory: str, name: str) -> "KeyPair":
        with open(os.path.join(directory, f"{name}.crt"), "rb") as f:
            cert = x509.load_pem_x509_certificate(f.read())
        with open(os.path.join(directory, f"{name}.key"), "rb") as f:
            key = load_key(f.read())
        return cls(cert, key)


def load_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    """The PEM private key of a pair written here: always an EC key (ValueError otherwise)."""
    key = serialization.load_pem_private_key(pem, None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"not an EC private key: {type(key).__name__}")
    return key


def _write(path: str, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def _name(common_name: str, organizations: tuple[str, ...] = ()) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in organizations]
    return x509.Name(attrs + [x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, public_key,
             valid: datetime.timedelta) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.timezone.utc)
    # Valid a little before now: a peer whose clock is slightly behind still accepts it.
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - min(datetime.timedelta(minutes=5), valid / 10))
            .not_valid_after(now + valid))


def new_ca(common_name: str, valid: datetime.timedelta = datetime.timedelta(days=VALID_DAYS)) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name)
    cert = (_builder(name, name, key.public_key(), valid)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    return KeyPair(cert, key)


def issue(ca: KeyPair, common_name: str, *, hosts: tuple[str, ...] = (),
          organizations: tuple[str, ...] = (), server: bool = False, client: bool = False,
          valid: datetime.timedelta = datetime.timedelta(days=VALID_DAYS)) -> KeyPair:
    """A certificate signed by `ca`: a server's (SANs from `hosts`: DNS names or IPs) and/or a client's
    (Kubernetes reads the user from CN and the groups from O)."""
    key = ec.generate_private_key(ec.SECP256R1())
    usages = (([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
              + ([ExtendedKeyUsageOID.CLIENT_AUTH] if client else []))
    b = (_builder(_name(common_name, organizations), ca.cert.subject, key.public_key(), valid)
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.ExtendedKeyUsage(usages), critical=False))
    if hosts:
        sans: list[x509.GeneralName] = []
        for h in hosts:
            try:
                sans.append(x509.IPAddress(ipaddress.ip_address(h)))
            except ValueError:
                sans.append(x509.DNSName(h))
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return KeyPair(b.sign(ca.key, hashes.SHA256()), key)
