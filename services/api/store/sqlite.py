"""The embedded store: one SQLite file in WAL mode, written only by the api service.

Every write bumps one global revision (like etcd's) and appends an event row in the same
transaction, so the watch feed is exactly the committed history: a watcher that reconnects with
the last resourceVersion it saw resumes from the next row and misses nothing. WAL with
synchronous=NORMAL is durable across a crash of the process (kill -9); only an OS crash could
lose the last commits, which is the documented trade-off we accept for write speed.
"""
from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import dataclass

from services.common import aio, proto, timeutil

# Events older than this many revisions are compacted; a watch resuming from before the
# oldest kept revision gets Gone (Kubernetes' 410 "too old resource version").
HISTORY = 100_000
BOOKMARK_SECONDS = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind INTEGER NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    revision INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS events (
    revision INTEGER PRIMARY KEY, kind INTEGER NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class StoreError(Exception):
    pass


class NotFound(StoreError):
    pass


class AlreadyExists(StoreError):
    pass


class Conflict(StoreError):
    pass


class Gone(StoreError):
    pass


@dataclass
class Event:
    revision: int
    type: str
    object: proto.api.Object


def _decode(data: bytes) -> proto.api.Object:
    return proto.api.Object.FromString(data)


class Changes:
    """Wakes every watch stream after a commit."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> bool:
        """True when something was committed, False when `timeout` passed quietly."""
        return await aio.wait_event(self._event, timeout)


class Store:
    def __init__(self, path: str):
        self.changes = Changes()
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so read-modify-write is atomic.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('revision', 0)")
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('compacted', 0)")

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ reads

    @property
    def revision(self) -> int:
        return self.db.execute("SELECT value FROM meta WHERE key='revision'").fetchone()[0]

    @property
    def compacted(self) -> int:
        return self.db.execute("SELECT value FROM meta WHERE key='compacted'").fetchone()[0]

    def get(self, kind: int, namespace: str, name: str) -> proto.api.Object:
        row = self.db.execute("SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?",
                              (kind, namespace, name)).fetchone()
        if row is None:
            raise NotFound(f'{proto.kind_name(kind).lower()} "{name}" not found')
        return _decode(row[0])

    def list(self, kind: int, namespace: str = "") -> tuple[list[proto.api.Object], int]:
        self.db.execute("BEGIN")
        try:
            if namespace:
                rows = self.db.execute("SELECT data FROM objects WHERE kind=? AND namespace=? "
                                       "ORDER BY namespace, name", (kind, namespace)).fetchall()
            else:
                rows = self.db.execute("SELECT data FROM objects WHERE kind=? ORDER BY namespace, name",
                                       (kind,)).fetchall()
            rev = self.revision
        finally:
            self.db.execute("COMMIT")
        return [_decode(r[0]) for r in rows], rev

    def events_since(self, revision: int, kind: int, limit: int = 1000) -> list[Event]:
        if revision < self.compacted:
            raise Gone(f"too old resource version: {revision} ({self.compacted})")
        rows = self.db.execute("SELECT revision, type, data FROM events WHERE revision>? AND kind=? "
                               "ORDER BY revision LIMIT ?", (revision, kind, limit)).fetchall()
        return [Event(r[0], r[1], _decode(r[2])) for r in rows]

    # ------------------------------------------------------------------ writes

    def _write(self, kind: int, md_ns: str, name: str, obj: proto.api.Object, event: str,
               expect: str | None) -> proto.api.Object:
        """One transaction: check existence/revision, bump the revision, store object + event."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self.db.execute("SELECT revision FROM objects WHERE kind=? AND namespace=? AND name=?",
                                  (kind, md_ns, name)).fetchone()
            what = f'{proto.kind_name(kind).lower()} "{name}"'
            if event == "ADDED" and row is not None:
                raise AlreadyExists(f"{what} already exists")
            if event != "ADDED":
                if row is None:
                    raise NotFound(f"{what} not found")
                if expect and str(row[0]) != expect:
                    raise Conflict(f"Operation cannot be fulfilled on {what}: the object has been "
                                   "modified; please apply your changes to the latest version and try again")
            rev = self.revision + 1
            proto.inner(obj).metadata.resourceVersion = str(rev)
            data = obj.SerializeToString()
            self.db.execute("UPDATE meta SET value=? WHERE key='revision'", (rev,))
            if event == "DELETED":
                self.db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?",
                                (kind, md_ns, name))
            else:
                self.db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                                (kind, md_ns, name, rev, data))
            self.db.execute("INSERT INTO events VALUES (?,?,?,?)", (rev, kind, event, data))
            if rev % 1000 == 0 and rev > HISTORY:
                self.db.execute("DELETE FROM events WHERE revision<=?", (rev - HISTORY,))
                self.db.execute("UPDATE meta SET value=? WHERE key='compacted'", (rev - HISTORY,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.changes.notify()
        return obj

    def create(self, obj: proto.api.Object) -> proto.api.Object:
        md = proto.inner(obj).metadata
        return self._write(proto.kind_of(obj), md.namespace, md.name, obj, "ADDED", None)

    def update(self, obj: proto.api.Object, expect_revision: str | None, status: bool = False) -> proto.api.Object:
        """Store `obj` as given (the caller merged it; `status` only matters to Kubernetes' store).
        An object being deleted whose last finalizer went is deleted, as Kubernetes does."""
        md = proto.inner(obj).metadata
        event = "DELETED" if md.deletionTimestamp and not md.finalizers else "MODIFIED"
        return self._write(proto.kind_of(obj), md.namespace, md.name, obj, event, expect_revision)

    def delete(self, obj: proto.api.Object, expect_revision: str | None = None) -> proto.api.Object:
        """Kubernetes' graceful deletion: an object with finalizers gets its deletionTimestamp and stays
        until their owners remove them; one without goes at once."""
        md = proto.inner(obj).metadata
        if md.finalizers:
            if md.deletionTimestamp:
                return obj
            md.deletionTimestamp = timeutil.now()
            return self._write(proto.kind_of(obj), md.namespace, md.name, obj, "MODIFIED", expect_revision)
        return self._write(proto.kind_of(obj), md.namespace, md.name, obj, "DELETED", expect_revision)

    # ------------------------------------------------------------------ watch

    async def watch(self, kind: int, namespace: str, resource_version: str, node_name: str = ""):
        """(type, object, resourceVersion) events, objects as ADDED first when `resource_version` is ""
        or "0", then the committed history; BOOKMARKs (object None) say how far the stream is synced."""
        if resource_version in ("", "0"):
            items, rev = self.list(kind, namespace)
            for o in items:
                if _on_node(o, node_name):
                    yield "ADDED", o, proto.inner(o).metadata.resourceVersion
        else:
            if not resource_version.isdigit():
                raise ValueError(f'resourceVersion: Invalid value: "{resource_version}"')
            rev = int(resource_version)
        # A bookmark right away tells the client the revision it is now synced to.
        yield "BOOKMARK", None, str(max(rev, 0))
        while True:
            events = self.events_since(rev, kind)
            for ev in events:
                rev = ev.revision
                md = proto.inner(ev.object).metadata
                if (not namespace or md.namespace == namespace) and _on_node(ev.object, node_name):
                    yield ev.type, ev.object, str(rev)
            if events:
                continue
            if not await self.changes.wait(BOOKMARK_SECONDS):
                # Quiet: tell the client how far it is synced, so a resume starts there.
                if not self.events_since(rev, kind, limit=1):
                    rev = self.revision
                    yield "BOOKMARK", None, str(rev)


def _on_node(obj: proto.api.Object, node_name: str) -> bool:
    return not node_name or proto.kind_of(obj) != proto.VMI or proto.inner(obj).status.nodeName == node_name
