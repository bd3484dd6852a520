"""The SQLite store under faults (issue 13): a full disk refuses writes cleanly (RESOURCE_EXHAUSTED,
nothing half-written, deletes still possible, recovery when space returns), a damaged file is
refused at start with one clear line, the history is compacted by age and size, the files are 0600."""
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import time

import grpc
import pytest

from services.api import errors, store
from services.api.resources import Resources, ResourcesServicer
from services.common import authz, grpcserver, proto

from harness import small_tmpfs, short_tmpdir

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def vm(name, pad=0):
    v = proto.kv.VirtualMachine()
    v.metadata.name, v.metadata.namespace = name, "default"
    v.spec.runStrategy = "Halted"
    v.spec.template.spec.domain.memory.guest = "64Mi"
    if pad:
        v.metadata.annotations["pad"] = os.urandom(pad // 2).hex()
    return proto.wrap(v)


def _consistent(db: store.Store) -> None:
    """Objects and event history agree: every object's revision is its last event, no gaps."""
    assert db.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rev, compacted = db.revision, db.compacted
    revs = [r[0] for r in db.db.execute("SELECT revision FROM events ORDER BY revision")]
    assert revs == list(range(compacted + 1, rev + 1))
    for kind, ns, name, r, data in db.db.execute("SELECT * FROM objects").fetchall():
        assert r <= rev
        if r <= compacted:
            continue  # its event is compacted away
        ev = db.db.execute("SELECT type, data FROM events WHERE revision=?", (r,)).fetchone()
        assert ev is not None and ev[0] in ("ADDED", "MODIFIED") and ev[1] == data
        assert proto.inner(proto.api.Object.FromString(data)).metadata.resourceVersion == str(r)


@pytest.fixture
def small_fs():
    with small_tmpfs("vmfull-", "2m") as d:
        yield d


async def test_disk_full_is_resource_exhausted_deletes_work_and_writes_recover(small_fs):
    ballast = os.path.join(small_fs, "ballast")
    with open(ballast, "wb") as f:
        f.write(b"\0" * 400 * 1024)
    db = store.Store(os.path.join(small_fs, "store.db"), reserve_bytes=256 * 1024)
    server = grpcserver.Server(["virtmesh.v1.Resources"], authz.mesh_policy())
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, ResourcesServicer(Resources(db)))
    sock = short_tmpdir("vmfullsock-")
    target = server.listen_unix(os.path.join(sock, "api.sock"))
    await server.start()
    channel = grpc.aio.insecure_channel(target)
    stub = proto.api_grpc.ResourcesStub(channel)
    try:
        created = []
        with pytest.raises(store.Full, match="disk full"):
            for i in range(1000):
                created.append(db.create(vm(f"vm{i}", pad=20_000)).virtualMachine.metadata.name)
        assert created and len(created) < 1000
        _consistent(db)
        rev = db.revision
        # Over gRPC: RESOURCE_EXHAUSTED naming the cause, for a create and for an update.
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Create(proto.api.CreateRequest(object=vm("more", pad=20_000)))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "disk full" in e.value.details()
        upd = db.get(proto.VM, "default", created[0])
        upd.virtualMachine.metadata.annotations["pad2"] = "x" * 20_000
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Update(proto.api.UpdateRequest(object=upd))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert db.revision == rev
        _consistent(db)
        # Deletes still go through while full.
        for name in created[:3]:
            await stub.Delete(proto.api.DeleteRequest(ref=proto.ref(proto.VM, "default", name)))
        assert db.revision == rev + 3
        _consistent(db)
        # Space returns: writes work again, the reserve for deletes is back.
        os.unlink(ballast)
        await stub.Create(proto.api.CreateRequest(object=vm("after", pad=1000)))
        db.get(proto.VM, "default", "after")
        assert os.path.getsize(db.reserve_path) == 256 * 1024
        _consistent(db)
    finally:
        await channel.close()
        await server.server.stop(0)
        db.close()
        shutil.rmtree(sock, ignore_errors=True)
    reopened = store.Store(os.path.join(small_fs, "store.db"), reserve_bytes=256 * 1024)
    _consistent(reopened)
    reopened.close()


async def test_a_store_another_writer_holds_is_unavailable_and_writes_recover(tmp_path):
    """A fault other than a full disk (here another process holds the store's write lock, as an
    operator's `sqlite3` shell can): writes are refused UNAVAILABLE naming the cause instead of
    UNKNOWN, nothing is half-stored, and writes work again once the lock is gone."""
    path = str(tmp_path / "store.db")
    db = store.Store(path, reserve_bytes=64 * 1024)
    server = grpcserver.Server(["virtmesh.v1.Resources"], authz.mesh_policy())
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, ResourcesServicer(Resources(db)))
    sock = short_tmpdir("vmlocksock-")
    target = server.listen_unix(os.path.join(sock, "api.sock"))
    await server.start()
    channel = grpc.aio.insecure_channel(target)
    stub = proto.api_grpc.ResourcesStub(channel)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await stub.Create(proto.api.CreateRequest(object=vm("before", pad=100)))
        rev = db.revision
        other.execute("BEGIN EXCLUSIVE")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Create(proto.api.CreateRequest(object=vm("during", pad=100)))
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE, e.value.details()
        assert "store failed" in e.value.details() and "locked" in e.value.details()
        other.execute("ROLLBACK")
        assert db.revision == rev
        await stub.Create(proto.api.CreateRequest(object=vm("after", pad=100)))
        with pytest.raises(store.NotFound):
            db.get(proto.VM, "default", "during")
        assert db.revision == rev + 1
        _consistent(db)
    finally:
        other.close()
        await channel.close()
        await server.server.stop(0)
        db.close()
        shutil.rmtree(sock, ignore_errors=True)


def test_full_maps_to_resource_exhausted():
    assert errors._code(store.Full("x")) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_store_files_are_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        db = store.Store(str(tmp_path / "s.db"))
        db.create(vm("a"))
        for f in ("s.db", "s.db-wal", "s.db-shm", "s.db.reserve"):
            assert stat.S_IMODE(os.stat(tmp_path / f).st_mode) == 0o600, f
        db.close()
        os.chmod(tmp_path / "s.db", 0o644)  # a store from before: made private when opened
        store.Store(str(tmp_path / "s.db")).close()
        assert stat.S_IMODE(os.stat(tmp_path / "s.db").st_mode) == 0o600
    finally:
        os.umask(old)


def _garbage(path):
    with open(path, "wb") as f:
        f.write(os.urandom(64 * 1024))


def _truncated(path):
    db = store.Store(path)
    for i in range(300):
        db.create(vm(f"vm{i}", pad=2000))
    db.close()
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


@pytest.mark.parametrize("damage", [_garbage, _truncated])
def test_a_damaged_store_is_refused_at_start_with_one_clear_line(tmp_path, damage):
    data = tmp_path / "data"
    (data / "store").mkdir(parents=True)
    path = str(data / "store" / "virtmesh.db")
    damage(path)
    with pytest.raises(store.Corrupt, match="not a sound SQLite database"):
        store.Store(path)
    r = subprocess.run([sys.executable, "-m", "services.api", "--data-dir", str(data),
                        "--socket", str(tmp_path / "api.sock")],
                       capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith(f"virt-api: store {path} is not a sound SQLite database"), r.stderr


def _file_bytes(path):
    return sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))


def test_many_updates_of_few_objects_keep_the_file_bounded(tmp_path):
    path = str(tmp_path / "s.db")
    db = store.Store(path, history_bytes=1024 * 1024)
    objs = [db.create(vm(f"vm{i}")) for i in range(3)]
    for n in range(1500):  # ~30 MB of events without compaction
        o = objs[n % 3]
        o.virtualMachine.metadata.annotations["pad"] = os.urandom(10_000).hex()
        objs[n % 3] = db.update(o, o.virtualMachine.metadata.resourceVersion)
    assert db.compacted > 1000
    history = db.db.execute("SELECT SUM(LENGTH(data)) FROM events").fetchone()[0]
    assert history <= 1024 * 1024
    assert _file_bytes(path) < 12 * 1024 * 1024, _file_bytes(path)
    with pytest.raises(store.Gone):
        db.events_since(1, proto.VM)
    assert db.events_since(db.compacted, proto.VM)  # the window itself still resumes
    _consistent(db)


def test_history_is_compacted_by_age(tmp_path):
    db = store.Store(str(tmp_path / "s.db"), history_seconds=1)
    db.create(vm("a"))
    db.create(vm("b"))
    assert db.events_since(0, proto.VM)
    time.sleep(1.3)
    db.create(vm("c"))
    assert db.compacted == 2
    with pytest.raises(store.Gone):
        db.events_since(1, proto.VM)
    assert [e.object.virtualMachine.metadata.name for e in db.events_since(2, proto.VM)] == ["c"]
    _consistent(db)


def test_an_old_store_gets_event_times_and_incremental_vacuum(tmp_path):
    path = str(tmp_path / "s.db")
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE objects (kind INTEGER NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
            revision INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, namespace, name));
        CREATE TABLE events (revision INTEGER PRIMARY KEY, kind INTEGER NOT NULL, type TEXT NOT NULL,
            data BLOB NOT NULL);
        CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO meta VALUES ('revision', 0), ('compacted', 0);""")
    old.close()
    db = store.Store(path)
    assert db.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    db.create(vm("a"))
    assert db.events_since(0, proto.VM)[0].revision == 1
