"""What recording an Event costs the reconcile that records it, against the bare alternative of writing
the Event itself (one awaited Create through the api's gRPC door into its SQLite store).

    python bench/events.py [-n 500] [--rounds 3]

Per round, alternately (this machine's speed drifts): `bare` awaits N Creates of distinct Events;
`recorded` makes N recorder calls (distinct objects: no dedup, no spam filter), timing the calls
themselves, then the background writer until all N are stored; `counted` records the same Event N
times (burst raised past N: every one is written), which the writer turns into count updates.
Reports per round and the median: µs per call for the caller, and events written per second.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from services.api import store  # noqa: E402
from services.api.resources import Resources, ResourcesServicer  # noqa: E402
from services.common import authz, client, events, grpcserver, proto  # noqa: E402


def vm(i: int):
    out = proto.kv.VirtualMachine()
    out.metadata.name, out.metadata.namespace, out.metadata.uid = f"vm{i}", "default", f"uid-{i}"
    return out


async def serve(d: str):
    db = store.Store(os.path.join(d, "store.db"))
    server = grpcserver.Server(["virtmesh.v1.Resources"], authz.mesh_policy())
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, ResourcesServicer(Resources(db)))
    target = server.listen_unix(os.path.join(d, "api.sock"))
    await server.start()
    return server, db, target


async def bare(api, n: int, tag: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    for i in range(n):
        ev = events.make(events.reference(vm(i)), events.NORMAL, "Started", tag, events.HANDLER, "node01", time.time())
        await api.create(ev)
    dt = time.perf_counter() - t0
    return dt / n * 1e6, n / dt


async def recorded(api, n: int, tag: str, same: bool) -> tuple[float, float]:
    b = events.Broadcaster(api, "node01", queue_size=n + 1,
                           correlator=events.Correlator(burst=n + 1) if same else None)
    task = b.start()
    rec = b.recorder(events.HANDLER)
    objs = [vm(0 if same else i) for i in range(n)]
    t0 = time.perf_counter()
    for o in objs:
        rec.normal(o, "Started", tag)
    calls = time.perf_counter() - t0
    while b.written < n:
        await asyncio.sleep(0.001)
    dt = time.perf_counter() - t0
    task.cancel()
    return calls / n * 1e6, n / dt


async def main(n: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-events-") as d:
        server, db, target = await serve(d)
        api = client.ApiClient(target)
        rows = {"bare": [], "recorded": [], "counted": []}
        for r in range(rounds):
            order = ["bare", "recorded", "counted"] if r % 2 == 0 else ["counted", "recorded", "bare"]
            for side in order:
                tag = f"{side}-{r}"
                if side == "bare":
                    rows[side].append(await bare(api, n, tag))
                else:
                    rows[side].append(await recorded(api, n, tag, same=side == "counted"))
                us, rate = rows[side][-1]
                print(f"round {r + 1} {side:9} caller {us:9.1f} µs/event   written {rate:8.0f} events/s")
        print(f"\nmedian over {rounds} rounds of {n} events:")
        for side, vals in rows.items():
            print(f"  {side:9} caller {statistics.median(v[0] for v in vals):9.1f} µs/event   "
                  f"written {statistics.median(v[1] for v in vals):8.0f} events/s")
        await api.close()
        await server.server.stop(0)
        db.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("-n", type=int, default=500)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    asyncio.run(main(a.n, a.rounds))
