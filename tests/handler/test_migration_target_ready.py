"""The receiving launcher's readiness on a migration's path (services/handler/migration.py): the answer to
SyncMigrationTarget is the readiness check itself, and a launcher that exits before answering ends the wait
at once (its call cancelled), as wait_ready's Info call would have said "exited"."""
from __future__ import annotations

import asyncio
import subprocess
import types

import pytest

from services.handler import migration
from services.handler.launchers import Launchers
from services.handler.migration import Migrations

pytestmark = pytest.mark.unit


def _migrations() -> Migrations:
    launchers = Launchers(types.SimpleNamespace(), "test:///default", "auto", lambda uid: None)
    return Migrations(None, launchers, "n2", "192.0.2.2")


def _launcher(proc: subprocess.Popen):
    return types.SimpleNamespace(pid=proc.pid, alive=lambda: proc.poll() is None)


def test_an_answer_is_the_readiness():
    proc = subprocess.Popen(["sleep", "30"])
    try:
        async def run():
            call = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.05, call.set_result, "prepared")
            why = await _migrations()._answered(_launcher(proc), call)
            return why, call.result()
        assert asyncio.run(run()) == ("", "prepared")
    finally:
        proc.kill()
        proc.wait()


def test_a_launcher_that_exits_before_answering_ends_the_wait(monkeypatch):
    monkeypatch.setattr(migration, "LAUNCHER_READY_TIMEOUT", 3600)   # only the exit can end it
    proc = subprocess.Popen(["sleep", "0.2"])

    async def run():
        call = asyncio.get_running_loop().create_future()   # never answered
        why = await asyncio.wait_for(_migrations()._answered(_launcher(proc), call), 60)
        return why, call.cancelled()
    assert asyncio.run(run()) == ("exited", True)
    proc.wait()


def test_a_launcher_that_lives_but_never_answers_is_unresponsive(monkeypatch):
    monkeypatch.setattr(migration, "LAUNCHER_READY_TIMEOUT", 0.1)
    proc = subprocess.Popen(["sleep", "30"])
    try:
        async def run():
            call = asyncio.get_running_loop().create_future()
            return await _migrations()._answered(_launcher(proc), call), call.cancelled()
        assert asyncio.run(run()) == ("unresponsive", True)
    finally:
        proc.kill()
        proc.wait()
