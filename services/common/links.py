"""Network links of this node, made and removed with `ip` (root): the handler's node bridges and taps
(services/handler/netplumbing.py), and the removal of a VMI's taps, which both the handler and the
launcher do. A tap goes with its launcher as KubeVirt's goes with the pod's network namespace: the
handler removes it after stopping a launcher, and a launcher that exits with its guest gone removes its
own (`virtmesh up` stopping its VMs, a launcher pod ending), since no handler may be left to do it."""
from __future__ import annotations

import logging
import os
import subprocess

from services.common import network

log = logging.getLogger(__name__)
SYS_NET = "/sys/class/net"


class LinkError(Exception):
    pass


def ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if r.returncode != 0:
        raise LinkError(f"ip {' '.join(args)}: {r.stderr.strip() or r.returncode}")


def exists(dev: str) -> bool:
    return os.path.exists(os.path.join(SYS_NET, dev))


def remove(dev: str) -> None:
    if exists(dev):
        ip("link", "del", dev)
        log.info("removed tap %s", dev)


def remove_taps(uid: str) -> None:
    """Every tap of the VMI `uid` on this node (the shared name prefix finds them without its spec)."""
    prefix = network.tap_prefix(uid)
    for dev in os.listdir(SYS_NET) if os.path.isdir(SYS_NET) else []:
        if dev.startswith(prefix):
            try:
                remove(dev)
            except LinkError as e:
                log.warning("%s", e)
