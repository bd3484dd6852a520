"""The embedded store: one SQLite file in WAL mode, written only by the api service.

Every write bumps one global revision (like etcd's) and appends an event row in the same
transaction, so the watch feed is exactly the committed history: a watcher that reconnects with
the last resourceVersion it saw resumes from the next row and misses nothing. WAL with
synchronous=NORMAL is durable across a crash of the process (kill -9); only an OS crash could
lose the last commits, which is the documented trade-off we accept for write speed.

The history is compacted as etcd's compactor does (`--auto-compaction-mode periodic` keeps the
revisions of the last `--auto-compaction-retention`; the apiserver asks for a compaction every
5 minutes): events older than `history_seconds` go, and so do the oldest ones whenever the history
outgrows `history_bytes` or `history_events`, whichever bites first. A watch resuming from before
the compacted revision gets Gone (OUT_OF_RANGE; informers relist). Freed pages go back to the
filesystem (incremental vacuum, WAL checkpoint with truncation).

A full disk refuses writes with Full (RESOURCE_EXHAUSTED): SQLite rolls the transaction back, so
nothing is half-written, and the next write after space returns just works. Deletes stay possible
while full, as under etcd's NOSPACE alarm: see `_RESERVE`. The file (and its -wal/-shm) is 0600
whatever the umask, and is checked (`PRAGMA quick_check`) when opened: a damaged one is Corrupt.
"""
from __future__ import annotations

import asyncio
import builtins
import collections
import logging
import os
import sqlite3
import time
from dataclasses import dataclass

from services.common import proto, timeutil

log = logging.getLogger(__name__)

# The event history's bounds (whichever bites first); a watch resuming from before the oldest kept
# revision gets Gone (Kubernetes' 410 "too old resource version") and relists.
HISTORY_SECONDS = 300.0          # etcd periodic retention / the apiserver's compaction interval
HISTORY_BYTES = 64 * 1024 * 1024  # of event data
HISTORY_EVENTS = 100_000
BOOKMARK_SECONDS = 5.0
# Each kind's last events are kept decoded in memory (Kubernetes' watch cache): a watch that is current,
# as nearly every one is at each write, reads them there, not with a query and a decode of its own.
RECENT_EVENTS = 256

# Deletes while the disk is full: SQLite needs room for a delete too (its pages go through the
# WAL, and the DELETED event carries the object), so a store that let creates and updates take the
# last byte could never be emptied again. We keep a reserve file of this size next to the store:
# when a delete (or a deletion's update) fails for want of space, the reserve is removed and the
# delete retried in the room it leaves. Until the reserve can be made again (space came back),
# other writes are refused at once, so the room stays for deletes. Big enough for the WAL frames of
# a delete of the largest object the api accepts (1.5 MiB, written twice: row and event).
RESERVE_BYTES = 4 * 1024 * 1024
# Free pages past this (and a quarter of the file) are given back to the filesystem.
_VACUUM_BYTES = 1024 * 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind INTEGER NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
    revision INTEGER NOT NULL, data BLOB NOT NULL,
    PRIMARY KEY (kind, namespace, name));
CREATE TABLE IF NOT EXISTS events (
    revision INTEGER PRIMARY KEY, kind INTEGER NOT NULL, type TEXT NOT NULL, data BLOB NOT NULL,
    at REAL NOT NULL DEFAULT 0);
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


class Full(StoreError):
    """The store's filesystem has no room for the write (nothing of it was stored)."""


class Corrupt(StoreError):
    """The store file is not a sound SQLite database."""


class Failed(StoreError):
    """The store's file or filesystem failed the write (I/O error, read-only, locked): nothing of it
    was stored, and a retry may succeed once the fault is gone."""


def _is_full(e: BaseException) -> bool:
    return isinstance(e, sqlite3.Error) and getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


# The faults of the file and its filesystem, as SQLite reports them (primary codes: an extended
# code such as SQLITE_IOERR_WRITE carries its primary one in the low byte).
_FAULTS = {sqlite3.SQLITE_IOERR, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED,
           sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_PROTOCOL}


def _is_fault(e: BaseException) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    return isinstance(e, sqlite3.Error) and code is not None and (code & 0xFF) in _FAULTS


def _private(path: str) -> None:
    """0600 whatever the umask (the file may predate us, or SQLite may have made it)."""
    try:
        os.chmod(path, 0o600)
    except FileNotFoundError:
        pass


@dataclass
class Event:
    revision: int
    type: str
    object: proto.api.Object


def _decode(data: bytes) -> proto.api.Object:
    return proto.api.Object.FromString(data)


class _Recent:
    """One kind's last RECENT_EVENTS events, complete after revision `floor`: every event of the kind
    committed after it is here (made at any revision: the events after it are all still to come)."""

    def __init__(self, floor: int) -> None:
        self.floor = floor
        self.events: collections.deque[Event] = collections.deque(maxlen=RECENT_EVENTS)

    def add(self, ev: Event) -> None:
        if len(self.events) == self.events.maxlen:
            self.floor = self.events[0].revision   # the one that goes
        self.events.append(ev)

    def since(self, revision: int, limit: int) -> builtins.list[Event] | None:
        """The events after `revision` (at most `limit`), or None when some may have left the memory."""
        if revision < self.floor:
            return None
        newer = []
        for ev in reversed(self.events):   # a current watch wants the last one or two
            if ev.revision <= revision:
                break
            newer.append(ev)
        newer.reverse()
        return newer[:limit]


class _Wake(asyncio.Event):
    by_commit = False   # else the tick


class Changes:
    """Wakes the watch streams of a kind after a commit of that kind. A write wakes only the streams it
    concerns: with one wake for all, each write of a VMI resumed every watch of every kind (a dozen or
    more), each with a query, in the api's one event loop, before the streams that wait for it.
    Every `tick` seconds all of them wake too (their bookmarks): one timer for all, where a timeout per
    stream and wait cost a timer's making and cancelling at each write (~8 µs a stream: with 20 watches of
    VMIs a VMI's write took 1.17-1.27 ms of the api's CPU instead of 1.30-1.40)."""

    def __init__(self, tick: float = BOOKMARK_SECONDS) -> None:
        self.tick = tick
        self._events: dict[int, _Wake] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_loop: asyncio.AbstractEventLoop | None = None

    def notify(self, kind: int) -> None:
        event = self._events.pop(kind, None)
        if event is not None:
            event.by_commit = True
            event.set()

    def _ticked(self) -> None:
        self._timer = None
        events, self._events = self._events, {}
        for event in events.values():
            event.set()

    async def wait(self, kind: int) -> bool:
        """True when something of `kind` was committed, False when the tick came first."""
        event = self._events.get(kind)
        if event is None:
            event = self._events[kind] = _Wake()
        loop = asyncio.get_running_loop()
        if self._timer is None or self._timer_loop is not loop:
            self._timer, self._timer_loop = loop.call_later(self.tick, self._ticked), loop
        await event.wait()
        return event.by_commit


class Store:
    def __init__(self, path: str, *, history_seconds: float = HISTORY_SECONDS,
                 history_bytes: int = HISTORY_BYTES, history_events: int = HISTORY_EVENTS,
                 reserve_bytes: int = RESERVE_BYTES):
        self.path = path
        self.changes = Changes()
        self.history_seconds, self.history_bytes, self.history_events = (
            history_seconds, history_bytes, history_events)
        self.reserve_path, self.reserve_bytes = path + ".reserve", reserve_bytes
        # Made 0600 before SQLite opens it: SQLite gives the -wal and -shm it makes the db's mode.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        _private(path)
        # isolation_level=None: we issue BEGIN IMMEDIATE ourselves so read-modify-write is atomic.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            self._open()
        except sqlite3.DatabaseError as e:
            self.db.close()
            if _is_full(e):
                raise Full(f"store {path}: no space left to open it ({e})") from e
            raise Corrupt(f"store {path} is not a sound SQLite database ({e}); restore it from a "
                          "backup or move it away to start with an empty store") from e
        for suffix in ("-wal", "-shm"):
            _private(path + suffix)
        self._reserve()
        # Read once: only this store writes the file, and it keeps them (after each commit).
        self._revision, self._compacted = (self.db.execute(f"SELECT value FROM meta WHERE key='{k}'").fetchone()[0]
                                           for k in ("revision", "compacted"))
        self._recent: dict[int, _Recent] = {}
        self._last_compaction = 0.0
        self._count_history()
        self._compact(time.time())

    def _open(self) -> None:
        bad = [r[0] for r in self.db.execute("PRAGMA quick_check").fetchall()]
        if bad != ["ok"]:
            raise sqlite3.DatabaseError(f"integrity check: {bad[0]}"
                                        + (f" (and {len(bad) - 1} more problems)" if len(bad) > 1 else ""))
        fresh = not self.db.execute("SELECT 1 FROM sqlite_master").fetchone()
        if fresh:  # must precede the first table; an older store is converted below
            self.db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(f"PRAGMA journal_size_limit={8 * 1024 * 1024}")  # the WAL shrinks back after a burst
        self.db.executescript(_SCHEMA)
        if "at" not in {r[1] for r in self.db.execute("PRAGMA table_info(events)")}:
            self.db.execute("ALTER TABLE events ADD COLUMN at REAL NOT NULL DEFAULT 0")
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('revision', 0)")
        self.db.execute("INSERT OR IGNORE INTO meta VALUES ('compacted', 0)")
        if self.db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            # A store from before incremental vacuum: convert it once (VACUUM rewrites the file).
            try:
                self.db.execute("PRAGMA auto_vacuum=INCREMENTAL")
                self.db.execute("VACUUM")
            except sqlite3.OperationalError as e:
                log.warning("store %s: could not convert to incremental vacuum (%s); compacted "
                            "history's pages are reused but not given back", self.path, e)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ disk room

    def _reserve(self) -> bool:
        """Make the reserve file if it is missing; False when there is no room for it."""
        if self.reserve_bytes <= 0 or os.path.exists(self.reserve_path):
            return True
        tmp = self.reserve_path + ".tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.reserve_bytes)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, self.reserve_path)
            return True
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False

    def _release_reserve(self) -> bool:
        try:
            os.unlink(self.reserve_path)
        except FileNotFoundError:
            return False
        log.warning("store %s: disk full; released the %d-byte reserve to let deletes through",
                    self.path, self.reserve_bytes)
        return True

    def _failed(self, what: str, cause: sqlite3.Error) -> Failed:
        log.error("store: cannot %s: %s (%s)", what, cause, getattr(cause, "sqlite_errorname", ""))
        return Failed(f"store failed: cannot {what} ({cause}; {getattr(cause, 'sqlite_errorname', '')}) on "
                      f"{self.path}: nothing was stored, retry once the file system is sound")

    def _full(self, what: str, cause: BaseException | str) -> Full:
        return Full(f"store disk full: cannot {what} ({cause}); free space on "
                    f"{os.path.dirname(self.path) or '.'} (deleting objects still works)")

    # ------------------------------------------------------------------ compaction

    def _count_history(self) -> None:
        self._history_count, self._history_size = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(LENGTH(data)), 0) FROM events").fetchone()

    def _compact(self, now: float) -> None:
        """Drop the events past the window (age, bytes, count) and give their pages back."""
        over = self._history_size > self.history_bytes or self._history_count > self.history_events
        # By age a tenth of the window at a time (etcd's periodic compactor retries at a tenth).
        due = now - self._last_compaction >= min(max(self.history_seconds / 10, 1.0), 60.0)
        if not (over or due):
            return
        self._last_compaction = now
        # Oldest first, until an event is both young enough and within the bounds (revisions are in
        # commit order, so this reads only what goes, plus one row). Past the bounds: down to three
        # quarters of them, so the next compaction is not the next write.
        cut, expired = self.compacted, now - self.history_seconds
        size, count = self._history_size, self._history_count
        for rev, at, length in self.db.execute("SELECT revision, at, LENGTH(data) FROM events ORDER BY revision"):
            if at >= expired and size <= self.history_bytes * 3 // 4 and count <= self.history_events * 3 // 4:
                break
            size, count, cut = size - length, count - 1, rev
        if cut <= self.compacted:
            return
        try:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                self.db.execute("DELETE FROM events WHERE revision<=?", (cut,))
                self.db.execute("UPDATE meta SET value=? WHERE key='compacted'", (cut,))
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                raise
            self._compacted = cut
            self._count_history()
            page = self.db.execute("PRAGMA page_size").fetchone()[0]
            pages, free = (self.db.execute(f"PRAGMA {p}").fetchone()[0] for p in ("page_count", "freelist_count"))
            if free * page > _VACUUM_BYTES and free * 4 > pages:
                self.db.execute("PRAGMA incremental_vacuum").fetchall()
                self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except sqlite3.OperationalError as e:
            log.warning("store %s: compaction to revision %d failed: %s", self.path, cut, e)

    # ------------------------------------------------------------------ reads

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compacted(self) -> int:
        return self._compacted

    def _recent_of(self, kind: proto.api.Kind) -> _Recent:
        recent = self._recent.get(kind)
        if recent is None:
            recent = self._recent[kind] = _Recent(self._revision)
        return recent

    def get(self, kind: proto.api.Kind, namespace: str, name: str) -> proto.api.Object:
        row = self.db.execute("SELECT data FROM objects WHERE kind=? AND namespace=? AND name=?",
                              (kind, namespace, name)).fetchone()
        if row is None:
            raise NotFound(f'{proto.kind_name(kind).lower()} "{name}" not found')
        return _decode(row[0])

    def list(self, kind: proto.api.Kind, namespace: str = "") -> tuple[list[proto.api.Object], int]:
        # One query, and the revision this store keeps: its writes commit in this thread, between reads.
        if namespace:
            rows = self.db.execute("SELECT data FROM objects WHERE kind=? AND namespace=? "
                                   "ORDER BY namespace, name", (kind, namespace)).fetchall()
        else:
            rows = self.db.execute("SELECT data FROM objects WHERE kind=? ORDER BY namespace, name",
                                   (kind,)).fetchall()
        return [_decode(r[0]) for r in rows], self._revision

    # (builtins.list: in this class, `list` is the method)
    def events_since(self, revision: int, kind: proto.api.Kind, limit: int = 1000) -> builtins.list[Event]:
        if revision < self._compacted:
            raise Gone(f"too old resource version: {revision} ({self._compacted})")
        recent = self._recent_of(kind).since(revision, limit)
        if recent is not None:
            return recent
        rows = self.db.execute("SELECT revision, type, data FROM events WHERE revision>? AND kind=? "
                               "ORDER BY revision LIMIT ?", (revision, kind, limit)).fetchall()
        return [Event(r[0], r[1], _decode(r[2])) for r in rows]

    # ------------------------------------------------------------------ writes

    def _write(self, kind: proto.api.Kind, md_ns: str, name: str, obj: proto.api.Object, event: str,
               expect: str | None, deletion: bool = False) -> proto.api.Object:
        """One transaction: check existence/revision, bump the revision, store object + event.
        A disk-full failure stores nothing and raises Full; a deletion then retries in the reserve's room."""
        if not deletion and not self._reserve():
            raise self._full(f"write {proto.kind_name(kind).lower()} \"{name}\"",
                             "no room for the deletes' reserve")
        try:
            rev, data = self._transaction(kind, md_ns, name, obj, event, expect)
        except sqlite3.Error as e:
            if _is_fault(e):
                raise self._failed(f"write {proto.kind_name(kind).lower()} \"{name}\"", e) from e
            if not _is_full(e):
                raise
            if not (deletion and self._release_reserve()):
                raise self._full(f"write {proto.kind_name(kind).lower()} \"{name}\"", e) from e
            try:
                rev, data = self._transaction(kind, md_ns, name, obj, event, expect)
            except sqlite3.Error as e2:
                if not _is_full(e2):
                    raise
                raise self._full(f"write {proto.kind_name(kind).lower()} \"{name}\"", e2) from e2
        self._history_count += 1
        self._history_size += len(data)
        self._recent_of(kind).add(Event(rev, event, _decode(data)))   # its own copy: the caller's may change
        self.changes.notify(kind)
        self._compact(time.time())
        return obj

    def _transaction(self, kind: proto.api.Kind, md_ns: str, name: str, obj: proto.api.Object, event: str,
                     expect: str | None) -> tuple[int, bytes]:
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
            rev = self._revision + 1
            md = proto.inner(obj).metadata
            before = md.resourceVersion
            md.resourceVersion = str(rev)
            data = obj.SerializeToString()
            try:
                self.db.execute("UPDATE meta SET value=? WHERE key='revision'", (rev,))
                if event == "DELETED":
                    self.db.execute("DELETE FROM objects WHERE kind=? AND namespace=? AND name=?",
                                    (kind, md_ns, name))
                else:
                    self.db.execute("INSERT OR REPLACE INTO objects VALUES (?,?,?,?,?)",
                                    (kind, md_ns, name, rev, data))
                self.db.execute("INSERT INTO events (revision, kind, type, data, at) VALUES (?,?,?,?,?)",
                                (rev, kind, event, data, time.time()))
                self.db.execute("COMMIT")
            except BaseException:
                md.resourceVersion = before  # not stored: the caller's object is as it was
                raise
            self._revision = rev
        except BaseException:
            # A failed COMMIT (SQLITE_FULL) may have rolled back already: ROLLBACK would then raise
            # "no transaction is active" and hide the cause.
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        return rev, data

    def create(self, obj: proto.api.Object) -> proto.api.Object:
        md = proto.inner(obj).metadata
        return self._write(proto.kind_of(obj), md.namespace, md.name, obj, "ADDED", None)

    def update(self, obj: proto.api.Object, expect_revision: str | None, status: bool = False) -> proto.api.Object:
        """Store `obj` as given (the caller merged it; `status` only matters to Kubernetes' store).
        An object being deleted whose last finalizer went is deleted, as Kubernetes does."""
        md = proto.inner(obj).metadata
        event = "DELETED" if md.deletionTimestamp and not md.finalizers else "MODIFIED"
        # An update of an object being deleted brings its deletion closer: it may use the reserve.
        return self._write(proto.kind_of(obj), md.namespace, md.name, obj, event, expect_revision,
                           deletion=bool(md.deletionTimestamp))

    def delete(self, obj: proto.api.Object, expect_revision: str | None = None) -> proto.api.Object:
        """Kubernetes' graceful deletion: an object with finalizers gets its deletionTimestamp and stays
        until their owners remove them; one without goes at once."""
        md = proto.inner(obj).metadata
        if md.finalizers:
            if md.deletionTimestamp:
                return obj
            md.deletionTimestamp = timeutil.now()
            return self._write(proto.kind_of(obj), md.namespace, md.name, obj, "MODIFIED", expect_revision,
                               deletion=True)
        return self._write(proto.kind_of(obj), md.namespace, md.name, obj, "DELETED", expect_revision,
                           deletion=True)

    # ------------------------------------------------------------------ watch

    async def watch(self, kind: proto.api.Kind, namespace: str, resource_version: str, node_name: str = "",
                    labels: dict | None = None):
        """(type, object, resourceVersion) events, objects as ADDED first when `resource_version` is ""
        or "0", then the committed history; BOOKMARKs (object None) say how far the stream is synced.

        A watch of one node's VMIs, or of objects with some labels, is told when one stops matching (it
        moved to another node: a live migration; a label was removed), as Kubernetes' watch cache tells a
        selector's watch: DELETED with the object as it now is. The keys it sent are tracked from its
        start; a resumed watch cannot know what matched before it, so until it has caught up every event
        that does not match passes as DELETED too (one for an object the client never had is a no-op)."""
        sent: set[tuple[str, str]] = set()
        catching_up = False
        filtered = bool(node_name or labels)
        if resource_version in ("", "0"):
            items, rev = self.list(kind, namespace)
            for o in items:
                if proto.selects(o, labels, node_name):
                    md = proto.inner(o).metadata
                    sent.add((md.namespace, md.name))
                    yield "ADDED", o, md.resourceVersion
        else:
            if not resource_version.isdigit():
                raise ValueError(f'resourceVersion: Invalid value: "{resource_version}"')
            rev = int(resource_version)
            catching_up = filtered
        # A bookmark right away tells the client the revision it is now synced to.
        yield "BOOKMARK", None, str(max(rev, 0))
        while True:
            head = self.revision   # read before the events: everything of `kind` up to it is in them
            events = self.events_since(rev, kind)
            for ev in events:
                rev = ev.revision
                md = proto.inner(ev.object).metadata
                if namespace and md.namespace != namespace:
                    continue
                key = (md.namespace, md.name)
                if proto.selects(ev.object, labels, node_name):
                    if ev.type == "DELETED":
                        sent.discard(key)
                    else:
                        sent.add(key)
                    yield ev.type, ev.object, str(rev)
                elif filtered and (key in sent or catching_up):
                    sent.discard(key)
                    yield "DELETED", ev.object, str(rev)
            if events:
                continue
            # Nothing of `kind` up to `head`: go on from there. A watch of a kind rarely written (Nodes,
            # migrations) kept its old revision, and scanned every other kind's events since it at each
            # wake; with a dozen such watches that was half of the api's CPU in a burst of VM starts.
            rev = max(rev, head)
            catching_up = False
            if not await self.changes.wait(kind):
                # Quiet: tell the client how far it is synced, so a resume starts there.
                if not self.events_since(rev, kind, limit=1):
                    rev = self.revision
                    yield "BOOKMARK", None, str(rev)
