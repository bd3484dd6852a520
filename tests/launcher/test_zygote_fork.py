"""What a launcher forked off the zygote inherits from it (services/launcher/zygote.py): the zygote's
objects sit in the collector's permanent generation, so the launcher's collections leave their pages
shared instead of writing to every imported object's header (and copying its page) on the first full one."""
from __future__ import annotations

import gc
import os

import pytest

from services.launcher import zygote

pytestmark = pytest.mark.unit


def _report_frozen(fd: int) -> None:
    os.write(fd, str(gc.get_freeze_count()).encode())


def test_a_forked_launcher_finds_the_zygotes_objects_frozen():
    r, w = os.pipe()
    try:
        pid = zygote._fork_launcher(_report_frozen, w)
        assert pid is not None
        os.close(w)
        w = -1
        got = b""
        while chunk := os.read(r, 64):   # until the launcher exits and its end closes
            got += chunk
    finally:
        gc.unfreeze()   # this test process is no zygote: its own objects go back to the collector
        os.close(r)
        if w >= 0:
            os.close(w)
    # Everything imported (grpc, protobuf, libvirt, the launcher's modules) counts, far more than this.
    assert int(got) > 10_000
