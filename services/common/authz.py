"""Who may call what on a mesh server.

A caller is known by how it came in: over TCP by its client certificate (meshtls: CN the user, O the
groups, as Kubernetes reads them), over a unix socket by the socket's permissions (the kernel let it
connect: root, or a member of the socket's group). Reads are Get/List/Watch and health; everything
else changes something — consoles too, as in KubeVirt, where they need more than `view`.

A policy answers a refusal message or None; grpcserver applies it to every method it serves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

from services.common import meshtls

READ_METHODS = frozenset({
    "/virtmesh.v1.Resources/Get", "/virtmesh.v1.Resources/List", "/virtmesh.v1.Resources/Watch",
    "/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch",
})
HEALTH_METHODS = frozenset({"/grpc.health.v1.Health/Check", "/grpc.health.v1.Health/Watch"})
WRITERS = frozenset({meshtls.ADMINS_GROUP, meshtls.SERVICES_GROUP})
READERS = WRITERS | {meshtls.VIEWERS_GROUP}


@dataclass(frozen=True)
class Caller:
    user: str
    groups: tuple[str, ...]
    certified: bool   # came in over TLS with a client certificate (else: a unix socket)

    def describe(self) -> str:
        if not self.certified:
            return "a unix-socket caller"
        groups = ", ".join(self.groups) or "no groups"
        return f'user "{self.user}" ({groups})'


UNIX = Caller("", (), False)


def caller_of(context) -> Caller:
    auth = context.auth_context()
    pem = auth.get("x509_pem_cert")
    if auth.get("transport_security_type") == [b"ssl"] and pem:
        user, groups = meshtls.subject_of(pem[0])
        return Caller(user, groups, True)
    return UNIX


Policy = Callable[[Caller, str], Optional[str]]


def _short(method: str) -> str:
    return method.rsplit(".", 1)[-1]  # "/virtmesh.v1.Resources/Create" -> "Resources/Create"


def mesh_policy(unix_reads_only: bool = False) -> Policy:
    """The api's: unix-socket callers may do anything (the socket's mode decided who they are),
    unless this is a read-only socket; certificate holders in the admins' or services' group may do
    anything, viewers read, anybody else with a mesh certificate only checks health."""

    def decide(caller: Caller, method: str) -> Optional[str]:
        if method in HEALTH_METHODS:
            return None
        if not caller.certified:
            if unix_reads_only and method not in READ_METHODS:
                return f"{_short(method)} changes the mesh: this socket only reads"
            return None
        groups = set(caller.groups)
        if groups & WRITERS:
            return None
        if method in READ_METHODS and groups & READERS:
            return None
        need = f'the group "{meshtls.ADMINS_GROUP}"' if method not in READ_METHODS else \
            f'the group "{meshtls.ADMINS_GROUP}" or "{meshtls.VIEWERS_GROUP}"'
        return f"{caller.describe()} may not call {_short(method)}: it needs {need}"
    return decide


def services_only(caller: Caller, method: str) -> Optional[str]:
    """A handler's: over TCP only the mesh's services (the api proxying a console or a pause)."""
    if method in HEALTH_METHODS or not caller.certified or meshtls.SERVICES_GROUP in caller.groups:
        return None
    return f'{caller.describe()} may not call {_short(method)}: only the mesh\'s services may ' \
           f'(group "{meshtls.SERVICES_GROUP}")'
