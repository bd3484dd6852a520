"""Reconcile-pass spans (tracing.traced) exist only for passes that do something, and a launcher's
spans reach the collector only through its replies (tracing relay); in a child process, so the
global tracer of this test process stays off."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from observability.otlp import Receiver

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

SCRIPT = textwrap.dedent(f"""
    import asyncio
    from services.common import tracing
    assert tracing.setup("test")
    tps = {{"ns/idle": "{PARENT}", "ns/busy": "{PARENT}", "ns/broken": "{PARENT}"}}

    async def reconcile(key):
        if key == "ns/busy":
            await asyncio.sleep(0.05)
            with tracing.span("child"):
                pass
        elif key == "ns/broken":
            raise RuntimeError("boom")

    async def main():
        run = tracing.traced("pass", reconcile, tps)
        for key in tps:
            try:
                await run(key)
            except RuntimeError:
                pass
    asyncio.run(main())
    tracing.shutdown()
""")


def test_only_passes_that_do_something_become_spans():
    receiver = Receiver().start()
    try:
        env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, PYTHONPATH=ROOT)
        subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, check=True, timeout=60)
        spans = receiver.snapshot()
    finally:
        receiver.stop()
    passes = {s.attributes.get("virtmesh.key"): s for s in spans if s.name == "pass"}
    assert set(passes) == {"ns/busy", "ns/broken"}            # the idle pass left no span
    busy, child = passes["ns/busy"], next(s for s in spans if s.name == "child")
    assert child.parent_id == busy.span_id and busy.trace_id == PARENT.split("-")[1]
    assert busy.start <= child.start - 40_000_000            # back-dated to the pass's start
    assert passes["ns/broken"].status_code == 2 and "boom" in passes["ns/broken"].status_message
