"""The SQLite store: global revisions, optimistic concurrency, an event history to resume from."""
import os
import subprocess
import sys
import textwrap

import pytest

from services.api import store
from services.common import proto


def vm(name, ns="default"):
    v = proto.kv.VirtualMachine()
    v.metadata.name, v.metadata.namespace = name, ns
    return proto.wrap(v)


def test_revisions_and_conflicts(tmp_path):
    db = store.Store(str(tmp_path / "s.db"))
    a = db.create(vm("a"))
    b = db.create(vm("b"))
    assert (a.virtualMachine.metadata.resourceVersion, b.virtualMachine.metadata.resourceVersion) == ("1", "2")
    with pytest.raises(store.AlreadyExists):
        db.create(vm("a"))
    a.virtualMachine.metadata.labels["x"] = "y"
    db.update(a, "1")
    with pytest.raises(store.Conflict, match="the object has been modified"):
        db.update(a, "1")
    events = db.events_since(0, proto.VM)
    assert [(e.revision, e.type) for e in events] == [(1, "ADDED"), (2, "ADDED"), (3, "MODIFIED")]
    db.delete(db.get(proto.VM, "default", "b"))
    assert [e.type for e in db.events_since(3, proto.VM)] == ["DELETED"]
    with pytest.raises(store.NotFound):
        db.get(proto.VM, "default", "b")
    items, rev = db.list(proto.VM)
    assert [i.virtualMachine.metadata.name for i in items] == ["a"] and rev == 4


def test_recent_events_are_read_from_memory_and_older_ones_from_the_file(tmp_path, monkeypatch):
    """A watch that is current reads the kind's last events from memory (decoded once, at the write); one
    from before them reads the file; both see exactly the committed history, as a store opened afresh
    (nothing in memory) reads it, a write that failed included."""
    monkeypatch.setattr(store.sqlite, "RECENT_EVENTS", 4)
    path = str(tmp_path / "s.db")
    db = store.Store(path)
    for name in "abc":
        db.create(vm(name))
    a = db.get(proto.VM, "default", "a")
    for i in range(5):
        a.virtualMachine.metadata.labels["n"] = str(i)
        a = db.update(a, a.virtualMachine.metadata.resourceVersion)
    with pytest.raises(store.Conflict):
        db.update(a, "1")
    db.delete(db.get(proto.VM, "default", "b"))
    db.create(proto.wrap(proto.kv.VirtualMachineInstance(metadata={"name": "other-kind"})))
    a.virtualMachine.metadata.labels["n"] = "changed by its caller after the write"
    fresh = store.Store(path)
    for since in range(db.revision + 1):
        for limit in (1, 1000):
            got, want = db.events_since(since, proto.VM, limit), fresh.events_since(since, proto.VM, limit)
            assert [(e.revision, e.type, e.object) for e in got] == [(e.revision, e.type, e.object) for e in want]
    recent = db.events_since(db.revision - 3, proto.VM)
    assert recent and recent[0].object is db.events_since(db.revision - 3, proto.VM)[0].object   # from memory
    assert fresh.revision == db.revision == 10 and fresh.compacted == db.compacted == 0


def test_acknowledged_writes_survive_kill_9(tmp_path):
    """A writer killed with SIGKILL right after its commits loses none of them."""
    path = str(tmp_path / "s.db")
    code = textwrap.dedent(f"""
        import os, signal
        from services.api import store
        from services.common import proto
        db = store.Store({path!r})
        for i in range(200):
            v = proto.kv.VirtualMachine()
            v.metadata.name, v.metadata.namespace = f"vm{{i}}", "default"
            db.create(proto.wrap(v))
        print("acked", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert "acked" in r.stdout and r.returncode == -9
    db = store.Store(path)
    items, rev = db.list(proto.VM)
    assert len(items) == 200 and rev == 200
    assert db.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


async def test_a_write_wakes_only_the_watches_of_its_kind():
    """Changes: a VMI written wakes the VMI watches, not the Node watches (each wake is a query and a
    generator resumed in the api's one loop, before the streams that wait for the write)."""
    import asyncio
    changes = store.sqlite.Changes(tick=0.5)
    vmis = asyncio.ensure_future(changes.wait(proto.VMI))
    nodes = asyncio.ensure_future(changes.wait(proto.NODE))
    await asyncio.sleep(0)
    changes.notify(proto.VMI)
    await asyncio.sleep(0)
    assert vmis.done() and vmis.result() is True
    assert not nodes.done()
    changes.notify(proto.NODE)
    assert await nodes is True
    assert await changes.wait(proto.VM) is False   # nothing of its kind: the tick (every stream's bookmark)


async def test_a_watch_sees_its_kind_after_other_kinds_were_written(tmp_path):
    """A watch left asleep while other kinds were written (no wake, its revision not moved) still gets
    the next write of its kind, and only that."""
    import asyncio
    db = store.Store(str(tmp_path / "s.db"))
    events = db.watch(proto.VM, "", "0")
    assert (await events.__anext__())[0] == "BOOKMARK"
    nxt = asyncio.ensure_future(events.__anext__())
    await asyncio.sleep(0.01)
    for i in range(5):
        v = proto.kv.VirtualMachineInstance()
        v.metadata.name, v.metadata.namespace = f"i{i}", "default"
        db.create(proto.wrap(v))
    await asyncio.sleep(0.01)
    assert not nxt.done()
    db.create(vm("a"))
    typ, obj, rev = await asyncio.wait_for(nxt, 5)
    assert (typ, obj.virtualMachine.metadata.name, rev) == ("ADDED", "a", "6")
    await events.aclose()
    db.close()
