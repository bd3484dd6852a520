"""Where things live under a mesh's data dir (shared by every service and the CLI).

Unix socket paths must stay under 108 bytes, so sockets sit in short names directly under
`run/`; everything else a VMI owns is under `vms/<uid>/`.

Everything under the data dir is root's only (the mesh runs privileged processes and its sockets
take commands): every service calls `private_umask()` first, so whatever umask it was started
with, what it creates is 0600 (files, unix sockets) or 0700 (directories); `ensure()` also brings
the directories of an earlier mesh to 0700, and `open_private` logs to 0600.
"""
from __future__ import annotations

import glob
import os
import re
import shutil

PRIVATE_UMASK = 0o077
# A VMI's uid names its directory and its socket: nothing that could leave `vms/` or `run/`.
_UID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
SPARE_PREFIX = "spare-"   # run/spare-<pid>.sock: a spare launcher's socket (not a uid's l-<uid>.sock)


def private_umask() -> None:
    """From now on this process (and its children) create files 0600 and directories 0700."""
    os.umask(PRIVATE_UMASK)


def private_dir(path: str) -> str:
    """`path` as a directory only its owner may list or change (made so, or brought to it)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    # Search-only bits (DataDir.let_through: others reach a socket) stay; read or write do not.
    if os.stat(path).st_mode & 0o066:
        os.chmod(path, 0o700)
    return path


def open_private(path: str, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """A file descriptor on `path`, which is 0600 (also when an earlier run made it wider)."""
    fd = os.open(path, flags | os.O_CLOEXEC, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        os.close(fd)
        raise
    return fd


def valid_uid(uid: str) -> bool:
    return bool(_UID.match(uid or ""))


def default_data_dir() -> str:
    env = os.environ.get("VIRTMESH_DATA_DIR")
    if env:
        return env
    if os.geteuid() == 0:
        return "/var/lib/virtmesh"
    base = os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(base, "virtmesh")


class DataDir:
    def __init__(self, root: str):
        self.root = os.path.abspath(root)

    @property
    def store(self) -> str:
        return os.path.join(self.root, "store", "virtmesh.db")

    @property
    def run(self) -> str:
        return os.path.join(self.root, "run")

    @property
    def api_socket(self) -> str:
        return os.path.join(self.run, "api.sock")

    def handler_socket(self, node: str) -> str:
        return os.path.join(self.run, f"handler-{node}.sock")

    def launcher_socket(self, uid: str) -> str:
        return os.path.join(self.run, f"l-{uid}.sock")

    def spare_socket(self, pid: int) -> str:
        """Where the zygote's spare launcher `pid` serves before it has a VMI (and after: the handler that
        dialled it there keeps that connection)."""
        return os.path.join(self.run, f"{SPARE_PREFIX}{pid}.sock")

    def spare_sockets(self) -> dict[int, str]:
        """pid -> socket of every spare launcher's socket here."""
        out = {}
        for path in glob.glob(os.path.join(self.run, f"{SPARE_PREFIX}*.sock")):
            pid = os.path.basename(path)[len(SPARE_PREFIX):-len(".sock")]
            if pid.isdigit():
                out[int(pid)] = path
        return out

    def launcher_pid(self, uid: str) -> str:
        return os.path.join(self.run, f"l-{uid}.pid")

    @property
    def vms(self) -> str:
        return os.path.join(self.root, "vms")

    def vm_dir(self, uid: str) -> str:
        if not valid_uid(uid):
            raise ValueError(f"not a VMI uid: {uid!r}")
        return os.path.join(self.vms, uid)

    def remove_vm_dir(self, uid: str) -> bool:
        """A gone VMI's directory: its logs, domain XML, NVRAM, serial log and scratch disks
        (container-disk overlays, emptyDisks). Claims' images (volumes/) and persistent TPM state
        live elsewhere and outlive the VMI."""
        d = self.vm_dir(uid)
        if not os.path.isdir(d):
            return False
        shutil.rmtree(d, ignore_errors=True)
        return True

    @property
    def volumes(self) -> str:
        """Images of the claims this node provisioned (handler/localvolumes.py)."""
        return os.path.join(self.root, "volumes")

    @property
    def tpm_records(self) -> str:
        """Which VM each persistent TPM state on this node belongs to (handler/tpmstate.py)."""
        return os.path.join(self.root, "tpm")

    def pod_network(self, node: str) -> str:
        """A node's pod network: its address allocations and its DHCP server's files (handler/podnet.py)."""
        return os.path.join(self.root, "net", node)

    @property
    def logs(self) -> str:
        return os.path.join(self.root, "logs")

    @property
    def pki(self) -> str:
        """The mesh CA and the certificates of services and users (services/common/meshtls.py)."""
        return os.path.join(self.root, "pki")

    @property
    def pr_helper_socket(self) -> str:
        """The node's qemu-pr-helper (handler/prhelper.py; KubeVirt's /var/run/kubevirt/daemons/pr/pr-helper.sock)."""
        return os.path.join(self.run, "pr", "pr-helper.sock")

    @property
    def api_read_socket(self) -> str:
        """The api's read-only socket, when the operator lets others read (api --readers)."""
        return os.path.join(self.run, "api-read.sock")

    def let_through(self, groups: set[int], everyone: bool = False) -> None:
        """Let the members of `groups` (or everyone) reach the sockets in run/: search (x)
        permission on the data dir and run/, nothing more — they cannot list or read anything in
        them, and each socket's own mode still decides who may connect. A directory has one group:
        for two, everyone gets the search bit."""
        for d in (self.root, self.run):
            mode = 0o700
            if everyone or len(groups) > 1:
                mode |= 0o011
            elif groups:
                os.chown(d, -1, next(iter(groups)))
                mode |= 0o010
            os.chmod(d, mode)

    def ensure(self) -> "DataDir":
        """The data dir and its directories, root's only (0700) whatever the umask, and also
        when an earlier mesh made them wider."""
        for d in (self.root, os.path.dirname(self.store), self.run, self.logs, self.vms):
            private_dir(d)
        for d in (self.volumes, self.tpm_records):
            if os.path.isdir(d):
                private_dir(d)
        return self
