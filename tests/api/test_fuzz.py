"""Fuzzing in the suite (issue 13): a few hundred hypothesis cases — mutated VM/VMI manifests, raw
YAML, raw protobuf bytes — against a real api process, judged by fuzzing.Oracle (accepted and
consistent, or refused with INVALID_ARGUMENT naming a field / ALREADY_EXISTS; no UNKNOWN or
INTERNAL, nothing half-stored, no traceback, the same process alive). Deterministic
(derandomize); `bench/fuzz.py -n 10000` is the long run."""
import copy
import shutil

import pytest
from hypothesis import HealthCheck, Phase, given, settings

import fuzzing
from harness import short_tmpdir
from services.common import manifest

CASES = 300


@pytest.fixture(scope="module")
def oracle():
    d = short_tmpdir("vmfuzz-")
    api = fuzzing.ApiProcess(d)
    yield fuzzing.Oracle(api)
    api.stop()
    shutil.rmtree(d, ignore_errors=True)


BASES = list({fuzzing._name_of(b): b for b in fuzzing.BASES}.values())


@pytest.mark.parametrize("base", BASES, ids=[fuzzing._name_of(b) for b in BASES])
def test_every_base_manifest_is_accepted(oracle, base):
    """The mutations start from valid objects (else the fuzzer would only ever test refusals)."""
    assert oracle.check(fuzzing.Case("create", "yaml", base=base, doc=copy.deepcopy(base))) == "accepted"


@settings(max_examples=CASES, deadline=None, derandomize=True, database=None, print_blob=False,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(case=fuzzing.cases())
def test_fuzzed_input_is_accepted_or_refused_cleanly(oracle, case):
    oracle.check(case)


def test_the_api_outlived_the_fuzzing(oracle):
    api = oracle.api
    assert api.alive()
    assert api.serving()
    assert not api.tracebacks(), api.tracebacks()[0]


# ---------------------------------------------------------------------------------- the oracle itself

# An api with bugs planted by name, to show the oracle catches each kind of failure.
PLANTED = """
import os
from services.api import resources
from services.api.errors import Invalid
from services.common import proto
_create = resources.Resources.create
def create(self, obj):
    name = proto.inner(obj).metadata.name
    if name == "plant-unknown":
        raise KeyError("planted")
    if name == "plant-nofield":
        raise Invalid("something is wrong")
    if name == "plant-exit":
        os._exit(3)
    out = _create(self, obj)
    if name == "plant-half":
        raise Invalid("metadata.name: refused after the write")
    if name == "plant-differ":
        out.virtualMachine.metadata.labels["planted"] = "x"
    return out
resources.Resources.create = create
from services.api.__main__ import main
main()
"""


def _named(name: str) -> fuzzing.Case:
    doc = copy.deepcopy(fuzzing.VM_MIN)
    doc["metadata"]["name"] = name
    return fuzzing.Case("create", "object", base=fuzzing.VM_MIN, doc=doc)


def test_the_oracle_catches_each_kind_of_failure(monkeypatch):
    d = short_tmpdir("vmfuzz-")
    api = fuzzing.ApiProcess(d, program=["-c", PLANTED])
    try:
        oracle = fuzzing.Oracle(api)
        assert oracle.check(_named("fine")) == "accepted"
        for name, kind in [("plant-unknown", "create: UNKNOWN"),
                           ("plant-nofield", "create: INVALID_ARGUMENT names no field"),
                           ("plant-half", "half-stored: a refused create changed the store"),
                           ("plant-differ", "create: reads back different from what the api returned")]:
            with pytest.raises(fuzzing.Failure) as e:
                oracle.check(_named(name))
            assert e.value.kind == kind, e.value
        assert oracle.check(_named("fine")) == "accepted"   # and each case left the store empty

        def broken(doc):
            raise KeyError("planted")
        monkeypatch.setattr(manifest, "to_object", broken)
        with pytest.raises(fuzzing.Failure) as e:
            oracle.check(_named("fine"))
        assert e.value.kind == "cli: traceback KeyError"
        monkeypatch.undo()

        with pytest.raises(fuzzing.Failure) as e:
            oracle.check(_named("plant-exit"))
        assert e.value.kind == "api exited"
    finally:
        api.stop()
        shutil.rmtree(d, ignore_errors=True)


def test_the_cases_reach_the_api():
    """Most cases get past the CLI's parser (a fuzzer stopped there would test little of the api)."""
    reached = []

    @settings(max_examples=200, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=fuzzing.cases())
    def count(case):
        if case.op == "wire":
            reached.append(True)
            return
        reached.append(not isinstance(fuzzing.parse(case), str))
    count()
    assert sum(reached) / len(reached) > 0.5, f"{sum(reached)} of {len(reached)}"
