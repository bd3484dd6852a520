"""Leader election in cluster mode: several controllers run, one acts.

The official client's leader election holds a coordination.k8s.io/v1 Lease (`virt-controller`, as
KubeVirt names its own) in the controller's namespace. Every candidate keeps its informers' caches
warm; only the leader starts its work queues. A leader that cannot renew within the renew deadline
exits, as virt-controller does (its Deployment, or `virtmesh up`, restarts it as a candidate), so two
controllers never act at once: a new leader is elected only after the lease went unrenewed for its
whole duration.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import socket
import threading
from typing import TYPE_CHECKING


from services.common import names

if TYPE_CHECKING:
    from kubernetes import client as k8s

log = logging.getLogger(__name__)
# The client's election logs every try at INFO ("yet to finish lease_duration…" each retry period);
# this module says what matters: candidate, leading, lost.
logging.getLogger("leaderelection").setLevel(logging.WARNING)

LEASE_NAME = "virt-controller"
# client-go's defaults, which virt-controller uses.
LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 15, 10, 2


def add_flags(p) -> None:
    p.add_argument("--leader-elect-namespace", default=os.environ.get("POD_NAMESPACE", names.DEFAULT_NAMESPACE),
                   help="cluster mode: the namespace of the controllers' Lease (env POD_NAMESPACE; default 'default')")
    p.add_argument("--lease-duration", type=int, default=LEASE_DURATION,
                   help="seconds a leader's Lease lasts unrenewed before another controller takes over")
    p.add_argument("--renew-deadline", type=int, default=RENEW_DEADLINE,
                   help="seconds a leader keeps trying to renew before it gives up (and exits)")
    p.add_argument("--retry-period", type=int, default=RETRY_PERIOD, help="seconds between tries")


class Leadership:
    def __init__(self, api_client: k8s.ApiClient, namespace: str, data_dir: str, lease_duration: int = LEASE_DURATION,
                 renew_deadline: int = RENEW_DEADLINE, retry_period: int = RETRY_PERIOD):
        # One candidate per host and data dir (a pod's hostname is its name): a controller restarted in
        # place (`virtmesh up` restarts only a dead one) takes its own Lease back at once instead of
        # waiting it out.
        self.identity = f"{socket.gethostname()}_{hashlib.sha256(data_dir.encode()).hexdigest()[:8]}"
        # The client is imported here, in cluster mode only: a standalone controller never elects, and
        # `kubernetes` would cost it ~20 MiB and 0.5 s of start.
        from kubernetes import client as k8s
        from kubernetes.leaderelection import electionconfig
        from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

        lock = LeaseLock(LEASE_NAME, namespace, self.identity)
        lock.api_instance = k8s.CoordinationV1Api(api_client)  # ours, not the client's global default
        self._leading = asyncio.Event()
        loop = asyncio.get_running_loop()
        self.config = electionconfig.Config(
            lock, lease_duration, renew_deadline, retry_period,
            onstarted_leading=lambda: loop.call_soon_threadsafe(self._leading.set),
            onstopped_leading=self._lost)
        self.namespace = namespace

    def _lost(self) -> None:
        log.error("lost the lease %s/%s: exiting so that one controller acts", self.namespace, LEASE_NAME)
        logging.shutdown()
        os._exit(1)

    async def lead(self) -> None:
        """Return once this controller leads (the election then renews from its own thread)."""
        from kubernetes.leaderelection import leaderelection

        threading.Thread(target=leaderelection.LeaderElection(self.config).run, name="leader-election",
                         daemon=True).start()
        log.info("candidate %s for the lease %s/%s", self.identity, self.namespace, LEASE_NAME)
        await self._leading.wait()
        log.info("leading as %s", self.identity)
