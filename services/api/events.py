"""core/v1 Events in the api: the apiserver's checks of a written Event, and their expiry.

The kube-apiserver keeps each Event under an etcd lease of --event-ttl (1 h by default) renewed by
every write of it; standalone, `collect` deletes those whose last write (lastTimestamp, else eventTime,
else creation) is older than the TTL, through the store's own delete so watchers see them go."""
from __future__ import annotations

import asyncio
import logging
import time

from services.api.errors import Invalid
from services.common import events, names, proto, timeutil

log = logging.getLogger(__name__)
COLLECT_SECONDS = 60.0


def validate(ev) -> None:
    """The apiserver's legacy Event validation (ValidateEventCreate for core/v1): the Event lives in its
    object's namespace, or in "default" for a cluster-scoped object; its type is Normal or Warning."""
    ns, obj_ns = ev.metadata.namespace, ev.involvedObject.namespace
    if (obj_ns and ns != obj_ns) or (not obj_ns and ns not in ("", names.DEFAULT_NAMESPACE)):
        raise Invalid(f'involvedObject.namespace: Invalid value: "{obj_ns}": does not match event.namespace')
    if ev.type and ev.type not in (events.NORMAL, events.WARNING):
        raise Invalid(f'type: Unsupported value: "{ev.type}": supported values: "Normal", "Warning"')


def last_written(ev) -> str:
    return ev.lastTimestamp or ev.eventTime or ev.metadata.creationTimestamp


def expired(db, now: float, ttl: float = events.TTL_SECONDS) -> list:
    out = []
    for obj in db.list(proto.EVENT)[0]:
        ev = proto.inner(obj)
        stamp = last_written(ev)
        if not stamp or now - timeutil.parse(stamp).timestamp() > ttl:
            out.append(obj)
    return out


def collect(db, now: float | None = None, ttl: float = events.TTL_SECONDS) -> int:
    """Delete the Events past their TTL; how many went."""
    gone = 0
    for obj in expired(db, time.time() if now is None else now, ttl):
        try:
            db.delete(obj)
            gone += 1
        except Exception as e:  # noqa: BLE001 - changed or deleted meanwhile: the next pass looks again
            log.debug("event %s: not collected: %s", proto.inner(obj).metadata.name, e)
    return gone


async def collector(db, ttl: float = events.TTL_SECONDS, every: float = COLLECT_SECONDS) -> None:
    """The standalone store's event expiry, every `every` seconds."""
    while True:
        try:
            n = collect(db, ttl=ttl)
            if n:
                log.info("expired %d event(s) older than %.0fs", n, ttl)
        except Exception as e:  # noqa: BLE001 - a full disk, a fault: try again next pass
            log.warning("event expiry: %s", e)
        await asyncio.sleep(every)
