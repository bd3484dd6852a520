"""The CLI's progress line (cli/progress.py): redrawn in place on a terminal (a real pty here), plain
lines without control characters elsewhere; and the line each kind's status gives."""
from __future__ import annotations

import fcntl
import io
import os
import pty
import select
import struct
import termios
import time

from services.cli import progress
from services.common import proto


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_off_a_terminal_each_change_is_a_plain_line():
    out = io.StringIO()
    with progress.Line(out) as line:
        for text in ("a: Pending", "a: Pending", "a: ImportInProgress 10.00%", "", "a: ImportInProgress 20.00%"):
            line.show(text)
    assert out.getvalue() == "a: Pending\na: ImportInProgress 10.00%\na: ImportInProgress 20.00%\n"
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()
    quiet = io.StringIO()
    with progress.Line(quiet, plain_off_tty=False) as line:
        line.show("a: Pending")
    assert quiet.getvalue() == ""


def test_on_a_terminal_one_line_is_redrawn_then_cleared():
    out = FakeTTY()
    with progress.Line(out) as line:
        line.show("a: Pending")
        line.show("a: Pending")
        line.show("a: ImportInProgress 10.00%")
    assert out.getvalue() == "\r\x1b[Ka: Pending\r\x1b[Ka: ImportInProgress 10.00%\r\x1b[K"
    assert "\n" not in out.getvalue()


def test_a_real_pty_gets_one_screen_row():
    master, slave = pty.openpty()
    try:
        os.set_blocking(master, False)
        with open(slave, "w", closefd=False) as stream:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 20, 0, 0))   # 20 columns
            line = progress.Line(stream)
            assert line.tty
            line.show("x" * 50)
            line.done()
        want = "\r\x1b[K" + "x" * 19 + "\r\x1b[K"   # cut to the terminal's width
        got, deadline = "", time.monotonic() + 5
        while len(got) < len(want) and time.monotonic() < deadline:   # a pty may hand it over in pieces
            if select.select([master], [], [], 0.1)[0]:
                got += os.read(master, 4096).decode()
        assert got == want, repr(got)
    finally:
        os.close(master)
        os.close(slave)


def test_summaries_of_each_kind():
    dv = {"metadata": {"name": "d"}, "status": {"phase": "ImportInProgress", "progress": "37.50%", "conditions": [
        {"type": "Ready", "status": "False", "message": "node n1 is provisioning: 3.0 MiB of 8.0 MiB"}]}}
    assert progress.summary(proto.DV, dv) == \
        "datavolume.cdi.kubevirt.io/d: ImportInProgress 37.50% - node n1 is provisioning: 3.0 MiB of 8.0 MiB"
    assert progress.summary(proto.DV, {"metadata": {"name": "d"}, "status": {"progress": "N/A"}}) == \
        "datavolume.cdi.kubevirt.io/d: Pending"
    vmi = {"metadata": {"name": "v"}, "status": {"phase": "Scheduled", "conditions": [
        {"type": "Synchronized", "status": "False", "reason": "ContainerCreating",
         "message": 'Pulling image "r/x:1": 12.0 MiB'}]}}
    assert progress.summary(proto.VMI, vmi) == \
        'virtualmachineinstance.kubevirt.io/v: Scheduled - ContainerCreating: Pulling image "r/x:1": 12.0 MiB'
    assert progress.summary(proto.VMI, {"metadata": {"name": "v"}}) == "virtualmachineinstance.kubevirt.io/v: Pending"
    assert progress.summary(proto.VM, {"metadata": {"name": "m"}, "status": {"printableStatus": "Provisioning"}}) == \
        "virtualmachine.kubevirt.io/m: Provisioning"
    assert progress.summary(proto.NODE, {"metadata": {"name": "n"}, "status": {}}) == ""
