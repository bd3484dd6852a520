"""A service's log on a full disk (issue 13): records that cannot be written are counted, not cut in
half; once the disk has room the log says how many were lost, and every line is whole."""
import os
import re
import subprocess
import sys

import pytest

from harness import ROOT, small_tmpfs

SERVICE = r"""
import logging, os, sys
from services.common import logs
logs.setup("api")
log = logging.getLogger("services.api")
log.info("before")
for name, chunk in (("ballast", 65536), ("ballast2", 1)):   # fill the disk to its last byte
    try:
        with open(os.path.join(sys.argv[1], name), "wb") as f:
            while True:
                f.write(b"x" * chunk)
                f.flush()
    except OSError:
        pass
for i in range(500):
    log.info("during %d %s", i, "y" * 100)
os.unlink(os.path.join(sys.argv[1], "ballast"))
os.unlink(os.path.join(sys.argv[1], "ballast2"))
log.info("after")
"""


@pytest.fixture
def small_fs():
    with small_tmpfs("vmlogfull-", "1m") as d:
        yield d


def test_a_full_disk_loses_whole_records_and_says_how_many(small_fs):
    log_path = os.path.join(small_fs, "api.log")
    with open(log_path, "ab") as log:
        r = subprocess.run([sys.executable, "-c", SERVICE, small_fs], cwd=ROOT, stderr=log,
                           env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
    assert r.returncode == 0
    lines = open(log_path, encoding="utf-8").read().splitlines()
    lost = [i for i, line in enumerate(lines) if "log record(s) lost" in line]
    assert len(lost) == 1, lines[-5:]
    note = lines[lost[0]]
    assert "No space left on device" in note
    stamp = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING) api\[\d+\] ")
    assert all(stamp.match(line) for line in lines), [line[:80] for line in lines if not stamp.match(line)]
    written = [line for line in lines if " during " in line]
    whole = [line for line in written if line.endswith("y" * 100)]
    if "the line above cut short" in note:  # the disk filled in the middle of that one line
        assert written[-1] == lines[lost[0] - 1] and written[:-1] == whole
    else:
        assert written == whole
    count = int(re.search(r"(\d+) log record\(s\) lost", note).group(1))
    assert count > 0 and count + len(whole) == 500
    assert lines[-1].endswith("services.api: after") and lost[0] == len(lines) - 2
