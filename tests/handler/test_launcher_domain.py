"""The handler keeps the newest domain a launcher published: events and sync replies travel on
separate streams and may arrive out of order."""
from services.common import proto
from services.handler.launchers import Launcher

L = proto.launcher


def _handle() -> Launcher:
    return Launcher(uid="u", pid=1, socket="/nonexistent", channel=None, stub=None)


def test_a_newer_revision_wins_and_an_older_or_same_one_is_no_news():
    h = _handle()
    defined = L.Domain(name="ns_vm", exists=True, state="Shutoff", revision=1)
    running = L.Domain(name="ns_vm", exists=True, state="Running", reason="Booted", revision=2)
    assert h.newer(defined)
    h.domain = running                 # the sync's reply came first
    assert not h.newer(defined)        # the event stream's older state must not undo it
    assert not h.newer(L.Domain(name="ns_vm", exists=True, state="Running", reason="Booted", revision=2))
    assert h.newer(L.Domain(name="ns_vm", exists=True, state="Paused", reason="User", revision=3))


def test_launchers_without_revisions_are_followed_event_by_event():
    h = _handle()
    h.domain = L.Domain(name="ns_vm", exists=True, state="Running")
    assert h.newer(L.Domain(name="ns_vm", exists=True, state="Paused"))
