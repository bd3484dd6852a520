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


def _spans_of(script: str):
    """Run `script` in a child process exporting to a receiver; the spans it sent."""
    receiver = Receiver().start()
    try:
        env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint, PYTHONPATH=ROOT)
        subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, check=True, timeout=60)
        return receiver.snapshot()
    finally:
        receiver.stop()


def test_only_passes_that_do_something_become_spans():
    spans = _spans_of(SCRIPT)
    passes = {s.attributes.get("virtmesh.key"): s for s in spans if s.name == "pass"}
    assert set(passes) == {"ns/busy", "ns/broken"}            # the idle pass left no span
    busy, child = passes["ns/busy"], next(s for s in spans if s.name == "child")
    assert child.parent_id == busy.span_id and busy.trace_id == PARENT.split("-")[1]
    assert busy.start <= child.start - 40_000_000            # back-dated to the pass's start
    assert passes["ns/broken"].status_code == 2 and "boom" in passes["ns/broken"].status_message


STEPS = textwrap.dedent(f"""
    import asyncio, time
    from services.common import tracing
    assert tracing.setup("test")

    async def reconcile(key):
        with tracing.step("quiet"):      # a pass with only a quick step leaves nothing
            pass

    async def main():
        await tracing.traced("idle-pass", reconcile, {{}})("ns/idle")
        with tracing.span("root", parent="{PARENT}"):
            with tracing.step("fast"):
                pass
            with tracing.step("slow"):
                time.sleep(0.005)
            try:
                with tracing.step("failing"):
                    raise ValueError("no such image")
            except ValueError:
                pass
            with tracing.step("outer"):
                with tracing.step("inner-slow"):
                    time.sleep(0.005)
            with tracing.step("with-child"):
                with tracing.span("child"):
                    pass
    asyncio.run(main())
    tracing.shutdown()
""")


def test_steps_are_spans_only_when_they_take_time_fail_or_have_spans_of_their_own():
    spans = {s.name: s for s in _spans_of(STEPS)}
    assert set(spans) == {"root", "slow", "failing", "outer", "inner-slow", "with-child", "child"}
    root = spans["root"]
    for name in ("slow", "failing", "outer", "with-child"):
        assert spans[name].parent_id == root.span_id, name
    assert spans["inner-slow"].parent_id == spans["outer"].span_id
    assert spans["child"].parent_id == spans["with-child"].span_id
    assert spans["slow"].end - spans["slow"].start >= 4_000_000          # back-dated to the step's start
    assert spans["outer"].start <= spans["inner-slow"].start and spans["outer"].end >= spans["inner-slow"].end
    failing = spans["failing"]
    assert failing.status_code == 2 and "no such image" in failing.status_message
    assert any(name == "exception" for name, _ in failing.events)


PREFORK = textwrap.dedent(f"""
    import os, sys
    from services.common import tracing
    tracing.prefork("launcher")     # as the launcher zygote does, before forking launchers
    assert tracing.enabled and tracing._relay.take() == b""    # the warm-up span is not sent
    assert "opentelemetry.exporter.otlp.proto.grpc" not in sys.modules   # a launcher exports nothing itself
    import threading
    assert threading.active_count() == 1            # the zygote forks with no thread running
    for i in range(2):
        r, w = os.pipe()
        if os.fork() == 0:
            # (The SDK's provider re-reads process-dependent resource attributes in a child, in a
            # thread it joins: none is left running.)
            assert threading.active_count() == 1, threading.enumerate()
            tracing.setup("launcher", relay=True)   # what a launcher's main does: nothing more
            with tracing.span("root"):              # a launcher acts for the handler's calls only
                pass
            with tracing.span("child-%d" % i, parent="{PARENT} vm=1"):   # a kept context, with tracestate
                pass
            os.write(w, tracing._relay.take())
            os._exit(0)
        os.close(w)
        data = b""
        while chunk := os.read(r, 65536):
            data += chunk
        os.wait()
        open(os.environ["OUT"] + str(i), "wb").write(data)
""")


def test_forked_launchers_relay_their_own_spans_which_the_handler_sends_as_virtmesh_launcher_s(tmp_path):
    from services.common import tracing
    out = str(tmp_path / "spans")
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:1", PYTHONPATH=ROOT, OUT=out)
    subprocess.run([sys.executable, "-c", PREFORK], env=env, cwd=ROOT, check=True, timeout=60)
    spans = []
    for i, uid in enumerate(("uid-a", "uid-b")):
        # What the handler's interceptor hands its batch processor for the launcher of VMI `uid`.
        got = tracing.relayed(uid, open(out + str(i), "rb").read())
        for s in got:
            assert s.resource.attributes["service.name"] == "virtmesh-launcher"
            assert s.resource.attributes["service.instance.id"] == uid
            assert s.instrumentation_scope.name == "virtmesh"
        spans += got
    assert [s.name for s in spans] == ["child-0", "child-1"]   # each child relays only its own
    assert spans[0].context.trace_id == spans[1].context.trace_id == int(PARENT.split("-")[1], 16)
    assert spans[0].context.span_id != spans[1].context.span_id
    assert all(s.context.trace_state.to_header() == "vm=1" and s.parent.is_remote for s in spans)
