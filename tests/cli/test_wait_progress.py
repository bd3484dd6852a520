"""`virtmesh wait` shows a DataVolume import's progress (issue 18, item 6) on a running mesh (libvirt's
test driver): the node downloads from the test's own HTTP server, paced over seconds, and reports its
bytes; on a terminal (a pty) the CLI redraws one line in place, on a pipe it writes plain lines; stdout
keeps kubectl's "condition met" alone."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios

import pytest
import yaml

from harness import ROOT, Mesh, short_tmpdir
from imageserver import ImageServer

PERCENT = re.compile(r"ImportInProgress (\d+\.\d\d)%")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    disk = tmp_path_factory.mktemp("img") / "disk.img"
    disk.write_bytes(os.urandom(6 << 20))
    srv = ImageServer()
    srv.disk = str(disk)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def mesh():
    d = short_tmpdir("vmwaitp-")
    m = Mesh(d, "test:///default", extra=("--import-allow-internal",))
    yield m
    m.stop()
    shutil.rmtree(d, ignore_errors=True)


def import_dv(m, srv, name: str) -> None:
    path = f"/{name}.img"
    url = srv.add(path, srv.disk)
    srv.pace(path, 6)   # 6 MiB over ~6 s: the node reports about once a second
    m.cli("apply", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "cdi.kubevirt.io/v1beta1", "kind": "DataVolume", "metadata": {"name": name},
        "spec": {"source": {"http": {"url": url}}, "storage": {"resources": {"requests": {"storage": "16Mi"}}}}}))


def wait_args(name: str) -> list[str]:
    return [sys.executable, "-m", "services.cli", "wait", f"dv/{name}", "--for=condition=Ready", "--timeout=120s"]


def test_on_a_terminal_one_line_is_redrawn(mesh, served):
    import_dv(mesh, served, "onpty")
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
    proc = subprocess.Popen(wait_args("onpty"), env=mesh.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:   # EIO: the child's side is closed
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert proc.wait(30) == 0
    text = out.decode()
    percents = PERCENT.findall(text)
    assert len(set(percents)) >= 2, text              # more than one figure along the way
    assert "MiB of 6.0 MiB" in text                   # the node's bytes, in the Ready condition's message
    # every figure redrawn over the last, the line cleared before kubectl's own output
    assert text.count("\r\x1b[K") >= len(set(percents)) + 1
    assert text.endswith("\r\x1b[Kdatavolume.cdi.kubevirt.io/onpty condition met\r\n"), repr(text[-200:])
    assert "\n" not in text[:text.rindex("\r\x1b[K")].replace("\r\n", "\n").rstrip("\n"), repr(text)


def test_on_a_pipe_each_change_is_a_plain_line(mesh, served):
    import_dv(mesh, served, "onpipe")
    r = subprocess.run(wait_args("onpipe"), env=mesh.env, cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "datavolume.cdi.kubevirt.io/onpipe condition met\n"
    lines = r.stderr.splitlines()
    figures = [float(m.group(1)) for line in lines if (m := PERCENT.search(line))]
    assert len(figures) >= 2 and figures == sorted(figures), r.stderr
    assert all(line.startswith("datavolume.cdi.kubevirt.io/onpipe: ") for line in lines), r.stderr
    assert "\r" not in r.stderr and "\x1b" not in r.stderr
    assert len(lines) == len(set(lines))              # a line per change, not per poll
    dv = mesh.get("dv", "onpipe")
    assert dv["status"]["progress"] == "100.0%" and dv["status"]["phase"] == "Succeeded"
    pvc = mesh.get("pvc", "onpipe")
    assert "virtmesh.io/import-progress" not in pvc["metadata"].get("annotations", {})   # gone once done
