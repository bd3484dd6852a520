"""The supervisor's restarts (services/cli/supervise.py), with stand-in services: a command line a service
refuses stops the mesh with its reason; any other exit is restarted, its reason said."""
from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from services.cli import main as cli
from services.cli import supervise
from services.common import logs, paths


def _service(code: int, words: str) -> list[str]:
    return [sys.executable, "-c", f"import sys; print({words!r}, flush=True); sys.exit({code})"]


def _starts(services: supervise.Services):
    counted = {"n": 0}
    start = services.start

    def counting(name):
        counted["n"] += 1
        start(name)
    services.start = counting
    return counted


def test_a_service_refusing_its_command_line_stops_the_mesh_with_its_reason(tmp_path, capsys):
    words = "handler: error: argument --log-level: 'verbose' is not one of DEBUG, INFO"
    paths.DataDir(str(tmp_path)).ensure()
    services = supervise.Services(str(tmp_path), "node01", {"handler": _service(2, words)}, keep_vms=True)
    starts = _starts(services)
    services.start("handler")
    assert services.watch() == supervise.USAGE_ERROR
    assert starts["n"] == 1   # never restarted
    assert f"handler refused its command line: {words}" in capsys.readouterr().err


def test_a_service_that_fails_otherwise_is_restarted_and_its_reason_said(tmp_path, capsys):
    paths.DataDir(str(tmp_path)).ensure()
    services = supervise.Services(str(tmp_path), "node01", {"handler": _service(1, "ValueError: no libvirt")},
                                  keep_vms=True)
    starts = _starts(services)
    services.start("handler")

    def stop_after_a_restart():
        deadline = time.monotonic() + 20
        while starts["n"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        services.stopping = True
    threading.Thread(target=stop_after_a_restart, daemon=True).start()
    assert services.watch() == 0
    assert starts["n"] >= 2
    assert "handler exited with 1 (ValueError: no libvirt); restarting" in capsys.readouterr().err


def test_up_stops_waiting_for_an_api_that_exited_and_says_why(tmp_path):
    """An api that cannot start (here: an address it cannot bind) ends `virtmesh up` at once with its last
    log line, not after the 30 s health wait."""
    r = subprocess.run([sys.executable, "-m", "services.cli", "--data-dir", str(tmp_path), "up", "--libvirt-uri",
                        "test:///default", "--api-listen", "nonsense:99999", "--no-metrics"],
                       capture_output=True, text=True, timeout=25, stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert "api exited with 1: RuntimeError: Failed to bind to address nonsense:99999" in r.stderr
    assert "did not become healthy" not in r.stderr


def test_a_bad_log_level_in_the_environment_is_a_usage_error_for_up_and_for_a_service(tmp_path, monkeypatch,
                                                                                       capsys):
    """$VIRTMESH_LOG_LEVEL is what every service logs at without --log-level: a bad one is refused by `virtmesh
    up` before anything starts, and by a service with the usage status (the supervisor then stops the mesh)."""
    monkeypatch.setenv(logs.ENV_LEVEL, "chatty")
    assert cli.main(["--data-dir", str(tmp_path), "up", "--libvirt-uri", "test:///default"]) == 1
    assert "error: VIRTMESH_LOG_LEVEL: 'chatty' is not one of DEBUG, INFO" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        logs.setup("controller")
    assert exit_.value.code == supervise.USAGE_ERROR
    assert "controller: VIRTMESH_LOG_LEVEL: 'chatty' is not one of" in capsys.readouterr().err
    monkeypatch.setenv(logs.ENV_LEVEL, "debug")   # any case, as --log-level
    assert logs.env_level_error() == ""
