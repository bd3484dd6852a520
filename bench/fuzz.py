"""Fuzz the api's door for a long run: hypothesis cases from tests/fuzzing.py against a real api process.

    python bench/fuzz.py [-n 10000] [--seed S] [--no-shrink]

Starts `python -m services.api` over a temp data dir (its real SQLite store; no controller or
handler: the api alone judges what it is sent), runs N cases — mutated VM/VMI manifests through
the CLI's parser and the api's Create/Update/UpdateStatus, raw YAML, raw protobuf bytes — and
judges each with fuzzing.Oracle. Every case is counted; a failure does not stop the run. The first
failure of each kind is shrunk by hypothesis to a minimal example (then the run goes on from a new
seed); --no-shrink reports the smallest example seen instead. Prints the outcomes by code and by
operation, failures with their example, cases/s, the slowest case, and the api's RSS before/after,
restarts and the tracebacks in its log. Exit status 1 when anything failed.
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

import fuzzing  # noqa: E402


class Run:
    def __init__(self, data_dir: str, shrink: bool):
        self.data_dir, self.shrink = data_dir, shrink
        self.api = fuzzing.ApiProcess(data_dir)
        self.oracle = fuzzing.Oracle(self.api)
        self.first_pid, self.restarts = self.api.pid, 0
        self.tally = fuzzing.Tally()
        self.by_op: dict[str, int] = {}
        self.target: str | None = None       # the failure kind hypothesis is shrinking
        self.minimal: dict[str, tuple[fuzzing.Case, str]] = {}
        self.slowest = (0.0, None)

    def restart(self) -> None:
        """The api died (a failure already counted): a new one, so the run can go on."""
        self.api.stop()
        self.api = fuzzing.ApiProcess(self.data_dir)
        reasons, self.oracle = self.oracle.reasons, fuzzing.Oracle(self.api)
        self.oracle.reasons = reasons
        self.restarts += 1

    def case(self, case: fuzzing.Case) -> None:
        if not self.api.alive():
            self.restart()
        start = time.monotonic()
        try:
            outcome, failure = self.oracle.check(case), None
        except fuzzing.Failure as f:
            outcome, failure = None, f
        took = time.monotonic() - start
        if self.target is not None:   # shrinking: replays count for nothing
            if failure is not None and failure.kind == self.target:
                self.minimal[failure.kind] = (case, str(failure))
                raise failure
            return
        self.tally.add(case, outcome, failure)
        self.by_op[case.op] = self.by_op.get(case.op, 0) + 1
        if self.tally.cases % 1000 == 0:
            print(f"  ... {self.tally.cases} cases, {len(self.tally.failures)} kinds of failure", file=sys.stderr,
                  flush=True)
        if took > self.slowest[0]:
            self.slowest = (took, case)
        if failure is not None and self.shrink and failure.kind not in self.minimal:
            self.target = failure.kind
            self.minimal[failure.kind] = (case, str(failure))
            raise failure

    def go(self, n: int, first_seed: int) -> None:
        rounds = 0
        while self.tally.cases < n:
            self.target = None
            phases = [Phase.generate, Phase.shrink] if self.shrink else [Phase.generate]

            @seed(first_seed + rounds)
            @settings(max_examples=n - self.tally.cases, deadline=None, database=None, phases=phases,
                      suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)
            @given(fuzzing.cases())
            def one(case):
                self.case(case)

            rounds += 1
            try:
                one()
            except fuzzing.Failure:
                pass    # shrunk: its minimal example is in self.minimal; go on from the next seed
            except Exception:  # noqa: BLE001 - hypothesis' own (a flaky failure) or the strategies'
                print(f"round {rounds}: " + traceback.format_exc(limit=-4)[-1500:], file=sys.stderr)
            print(f"  ... {self.tally.cases}/{n} cases, {sum(c for c, _, _ in self.tally.failures.values())} "
                  "failures", file=sys.stderr, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10_000, help="cases to run (default 10000)")
    ap.add_argument("--seed", type=int, default=None, help="first hypothesis seed (default: random)")
    ap.add_argument("--reasons", type=int, default=8, help="how many refusal reasons to list (default 8)")
    ap.add_argument("--no-shrink", action="store_true", help="report the smallest example seen, unshrunk")
    args = ap.parse_args()
    first_seed = args.seed if args.seed is not None else random.randrange(2**32)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # a kill still stops the api (finally below)
    work = tempfile.mkdtemp(prefix="vmfuzz-", dir="/tmp")
    run = Run(work, shrink=not args.no_shrink)
    rss_before = run.api.rss_kib()
    start = time.monotonic()
    try:
        run.go(args.n, first_seed)
        took = time.monotonic() - start
        rss_after = run.api.rss_kib()
        serving = run.api.serving()
        alive = run.api.alive() and run.api.pid == run.first_pid
        tracebacks = run.api.tracebacks()
    finally:
        run.api.stop()
        shutil.rmtree(work, ignore_errors=True)

    t = run.tally
    failed = sum(c for c, _, _ in t.failures.values())
    print(f"fuzz: {t.cases} cases in {took:.0f} s ({t.cases / took:.1f} cases/s), seed {first_seed}")
    order = ["accepted", "refused:INVALID_ARGUMENT", "refused:ALREADY_EXISTS", "refused:NOT_FOUND",
             "refused:ABORTED", "refused:manifest", "empty", "mixed"]
    outcomes = sorted(t.outcomes.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else 99)
    print("  outcomes: " + ", ".join(f"{k} {v} ({100 * v / t.cases:.1f}%)" for k, v in outcomes))
    print("  by operation: " + ", ".join(f"{k} {v}" for k, v in sorted(run.by_op.items())))
    reasons = sorted(run.oracle.reasons.items(), key=lambda kv: -kv[1])
    codes: dict[str, int] = {}
    for k, v in reasons:
        codes[k.split(":", 1)[0]] = codes.get(k.split(":", 1)[0], 0) + v
    print("  every refusal by code (second creates and List items too): "
          + ", ".join(f"{k} {v}" for k, v in sorted(codes.items(), key=lambda kv: -kv[1])))
    print("  top refusals: " + "; ".join(f"{v} x {k}" for k, v in reasons[:args.reasons]))
    print(f"  failures: {failed}" + ("" if failed else " (no UNKNOWN/INTERNAL, nothing half-stored, no traceback)"))
    for kind, (count, smallest, msg) in sorted(t.failures.items(), key=lambda kv: -kv[1][0]):
        case, message = run.minimal.get(kind, (smallest, msg))
        print(f"    {count} x {kind}\n      {message[:400]}\n      minimal: {case!r}"[:2000])
    print(f"  slowest case: {run.slowest[0]:.2f} s {run.slowest[1]!r}"[:600])
    print(f"  api: pid {run.first_pid} {'alive' if alive else 'GONE'}, restarts {run.restarts}, "
          f"health {'SERVING' if serving else 'NOT SERVING'}, tracebacks in its log {len(tracebacks)}, "
          f"RSS {rss_before / 1024:.1f} MiB -> {rss_after / 1024:.1f} MiB")
    for tb in tracebacks[:3]:
        print("    " + tb.replace("\n", "\n    "))
    return 1 if failed or not alive or not serving or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
