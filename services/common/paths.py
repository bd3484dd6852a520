"""Where things live under a mesh's data dir (shared by every service and the CLI).

Unix socket paths must stay under 108 bytes, so sockets sit in short names directly under
`run/`; everything else a VMI owns is under `vms/<uid>/`.
"""
from __future__ import annotations

import os


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

    def launcher_pid(self, uid: str) -> str:
        return os.path.join(self.run, f"l-{uid}.pid")

    def vm_dir(self, uid: str) -> str:
        return os.path.join(self.root, "vms", uid)

    @property
    def volumes(self) -> str:
        """Images of the claims this node provisioned (handler/localvolumes.py)."""
        return os.path.join(self.root, "volumes")

    @property
    def tpm_records(self) -> str:
        """Which VM each persistent TPM state on this node belongs to (handler/tpmstate.py)."""
        return os.path.join(self.root, "tpm")

    @property
    def logs(self) -> str:
        return os.path.join(self.root, "logs")

    def ensure(self) -> "DataDir":
        for d in (os.path.dirname(self.store), self.run, self.logs, os.path.join(self.root, "vms")):
            os.makedirs(d, exist_ok=True)
        return self
