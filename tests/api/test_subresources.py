"""start/stop/restart/pause/unpause follow KubeVirt's runStrategy table (B.3) with its exact texts."""
import grpc
import pytest

from services.common import proto, vmstate

CONFLICT = grpc.StatusCode.FAILED_PRECONDITION


async def make_vm(api, strategy=None, running=None, vmi_phase=None, paused=False, grace=None):
    vm = proto.kv.VirtualMachine()
    vm.metadata.name = "vm1"
    if strategy:
        vm.spec.runStrategy = strategy
    if running is not None:
        vm.spec.running = running
    vm.spec.template.spec.domain.memory.guest = "64Mi"
    vm = (await api.stub.Create(proto.api.CreateRequest(object=proto.wrap(vm)))).virtualMachine
    vmi = None
    if vmi_phase is not None:
        vmi = proto.kv.VirtualMachineInstance()
        vmi.metadata.name = "vm1"
        vmi.metadata.ownerReferences.add(kind="VirtualMachine", name="vm1", uid=vm.metadata.uid, controller=True)
        vmi.spec.domain.memory.guest = "64Mi"
        if grace is not None:
            vmi.spec.terminationGracePeriodSeconds = grace
        vmi = (await api.stub.Create(proto.api.CreateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
        vmstate.set_phase(vmi, vmi_phase)
        if paused:
            vmstate.set_condition(vmi, vmstate.PAUSED, "True", "PausedByUser")
        vmi = (await api.stub.UpdateStatus(proto.api.UpdateRequest(object=proto.wrap(vmi)))).virtualMachineInstance
    return vm, vmi


def req(**kw):
    return proto.api.SubresourceRequest(namespace="default", name="vm1", **kw)


async def get_vm(api):
    return (await api.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VM, "default", "vm1")))).virtualMachine


def requests(vm):
    return [(r.action, r.uid if r.HasField("uid") else None, dict(r.data)) for r in vm.status.stateChangeRequests]


async def refused(call, request, text, code=CONFLICT):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await call(request)
    assert e.value.code() == code
    assert e.value.details() == text


# ---------------------------------------------------------------- start

@pytest.mark.parametrize("strategy", ["Always", "Once"])
async def test_start_refused_for_always_and_once(api_server, strategy):
    await make_vm(api_server, strategy)
    await refused(api_server.sub.Start, req(), f"{strategy} does not support manual start requests")


async def test_start_refused_when_running(api_server):
    await make_vm(api_server, "Manual", vmi_phase="Running")
    await refused(api_server.sub.Start, req(), "VM is already running")


async def test_start_halted_flips_to_always(api_server):
    await make_vm(api_server, "Halted")
    await api_server.sub.Start(req())
    vm = await get_vm(api_server)
    assert vm.spec.runStrategy == "Always" and vm.metadata.generation == 2


async def test_start_legacy_running_false_sets_running(api_server):
    await make_vm(api_server, running=False)
    await api_server.sub.Start(req())
    vm = await get_vm(api_server)
    assert vm.spec.running is True and not vm.spec.HasField("runStrategy")


async def test_start_halted_paused_adds_request(api_server):
    await make_vm(api_server, "Halted")
    await api_server.sub.Start(req(paused=True))
    vm = await get_vm(api_server)
    assert vm.spec.runStrategy == "Halted"
    assert requests(vm) == [("Start", None, {"paused": "true"})]


@pytest.mark.parametrize("strategy", ["Manual", "RerunOnFailure"])
async def test_start_adds_start_request(api_server, strategy):
    await make_vm(api_server, strategy)
    await api_server.sub.Start(req())
    assert requests(await get_vm(api_server)) == [("Start", None, {})]


async def test_start_rerun_on_failure_from_succeeded_restarts(api_server):
    _, vmi = await make_vm(api_server, "RerunOnFailure", vmi_phase="Succeeded")
    await api_server.sub.Start(req())
    assert requests(await get_vm(api_server)) == [("Stop", vmi.metadata.uid, {}), ("Start", None, {})]


async def test_start_rerun_on_failure_from_failed_refused(api_server):
    await make_vm(api_server, "RerunOnFailure", vmi_phase="Failed")
    await refused(api_server.sub.Start, req(), "RerunOnFailure does not support starting VM from failed state")


async def test_start_manual_from_final_restarts(api_server):
    _, vmi = await make_vm(api_server, "Manual", vmi_phase="Failed")
    await api_server.sub.Start(req())
    assert requests(await get_vm(api_server)) == [("Stop", vmi.metadata.uid, {}), ("Start", None, {})]


# ---------------------------------------------------------------- stop

@pytest.mark.parametrize("strategy", ["Always", "Once"])
async def test_stop_always_and_once_set_halted(api_server, strategy):
    await make_vm(api_server, strategy, vmi_phase="Running")
    await api_server.sub.Stop(req())
    assert (await get_vm(api_server)).spec.runStrategy == "Halted"


async def test_stop_legacy_running_true_sets_running_false(api_server):
    await make_vm(api_server, running=True, vmi_phase="Running")
    await api_server.sub.Stop(req())
    assert (await get_vm(api_server)).spec.running is False


@pytest.mark.parametrize("strategy", ["Manual", "RerunOnFailure"])
async def test_stop_manual_and_rerun_add_stop_request(api_server, strategy):
    _, vmi = await make_vm(api_server, strategy, vmi_phase="Running")
    await api_server.sub.Stop(req())
    vm = await get_vm(api_server)
    assert vm.spec.runStrategy == strategy
    assert requests(vm) == [("Stop", vmi.metadata.uid, {})]


@pytest.mark.parametrize("strategy", ["Manual", "RerunOnFailure", "Halted"])
async def test_stop_without_running_vmi_refused(api_server, strategy):
    await make_vm(api_server, strategy)
    await refused(api_server.sub.Stop, req(), "VM is not running")


async def test_stop_halted_needs_shorter_grace_period(api_server):
    await make_vm(api_server, "Halted", vmi_phase="Running", grace=30)
    text = "Halted only supports manual stop requests with a shorter graceperiod"
    await refused(api_server.sub.Stop, req(), text)
    await refused(api_server.sub.Stop, req(gracePeriodSeconds=30), text)
    await api_server.sub.Stop(req(gracePeriodSeconds=5))
    vmi = (await api_server.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VMI, "default", "vm1")))).virtualMachineInstance
    assert vmi.spec.terminationGracePeriodSeconds == 5
    assert requests(await get_vm(api_server))[0][:2] == ("Stop", vmi.metadata.uid)


# ---------------------------------------------------------------- restart

@pytest.mark.parametrize("strategy", ["Halted", "Once"])
async def test_restart_refused_for_halted_and_once(api_server, strategy):
    await make_vm(api_server, strategy, vmi_phase="Running")
    await refused(api_server.sub.Restart, req(), f"RunStategy {strategy} does not support manual restart requests")


@pytest.mark.parametrize("strategy", ["Always", "Manual", "RerunOnFailure"])
async def test_restart_adds_stop_and_start(api_server, strategy):
    _, vmi = await make_vm(api_server, strategy, vmi_phase="Running")
    await api_server.sub.Restart(req())
    assert requests(await get_vm(api_server)) == [("Stop", vmi.metadata.uid, {}), ("Start", None, {})]
    await refused(api_server.sub.Restart, req(), "unable to complete request: stop/start already underway")


async def test_restart_without_vmi_refused(api_server):
    await make_vm(api_server, "Always")
    await refused(api_server.sub.Restart, req(), "VM is not running: Halted")


async def test_restart_grace_period_rules(api_server):
    await make_vm(api_server, "Always", vmi_phase="Running")
    await refused(api_server.sub.Restart, req(gracePeriodSeconds=5),
                  "For force restart, only gracePeriod=0 is supported for now", grpc.StatusCode.INVALID_ARGUMENT)
    await refused(api_server.sub.Restart, req(gracePeriodSeconds=-1),
                  "gracePeriod has to be greater or equal to 0", grpc.StatusCode.INVALID_ARGUMENT)


async def test_dry_run_changes_nothing(api_server):
    await make_vm(api_server, "Halted")
    await api_server.sub.Start(req(dryRun=True))
    assert (await get_vm(api_server)).spec.runStrategy == "Halted"


async def test_unknown_vm_is_not_found(api_server):
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.sub.Start(req())
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


# ---------------------------------------------------------------- another writer in between (RetryOnConflict)

async def get_vmi(api):
    return (await api.stub.Get(proto.api.GetRequest(ref=proto.ref(proto.VMI, "default", "vm1")))).virtualMachineInstance


async def test_start_reads_again_after_a_status_write_in_between(api_server, status_writes_between):
    await make_vm(api_server, "Halted")
    written = status_writes_between(proto.VM, 2)
    await api_server.sub.Start(req())
    vm = await get_vm(api_server)
    assert vm.spec.runStrategy == "Always"
    assert written == ["other-writer-0", "other-writer-1"] and vm.status.printableStatus == "other-writer-1"


async def test_manual_start_request_survives_a_status_write_in_between(api_server, status_writes_between):
    await make_vm(api_server, "Manual")
    status_writes_between(proto.VM, 1)
    await api_server.sub.Start(req())
    vm = await get_vm(api_server)
    assert requests(vm) == [("Start", None, {})] and vm.status.printableStatus == "other-writer-0"


async def test_stop_with_grace_survives_writes_to_vm_and_vmi_in_between(api_server, status_writes_between):
    _, vmi = await make_vm(api_server, "Halted", vmi_phase="Running", grace=30)
    status_writes_between(proto.VMI, 3)   # a handler reporting while the grace is shortened
    await api_server.sub.Stop(req(gracePeriodSeconds=5))
    assert (await get_vmi(api_server)).spec.terminationGracePeriodSeconds == 5
    # The rule compares with the grace the VMI had before this request, not the one it just set.
    assert requests(await get_vm(api_server))[0][:2] == ("Stop", vmi.metadata.uid)


async def test_force_restart_survives_status_writes_in_between(api_server, status_writes_between):
    _, vmi = await make_vm(api_server, "Always", vmi_phase="Running", grace=30)
    status_writes_between(proto.VMI, 2)
    await api_server.sub.Restart(req(gracePeriodSeconds=0))
    assert requests(await get_vm(api_server)) == [("Stop", vmi.metadata.uid, {}), ("Start", None, {})]
    assert (await get_vmi(api_server)).spec.terminationGracePeriodSeconds == 0


async def test_a_verb_gives_up_after_client_gos_five_attempts(api_server, status_writes_between):
    await make_vm(api_server, "Halted")
    written = status_writes_between(proto.VM, 100)
    with pytest.raises(grpc.aio.AioRpcError) as e:
        await api_server.sub.Start(req())
    assert e.value.code() == grpc.StatusCode.ABORTED and "the object has been modified" in e.value.details()
    assert len(written) == 5 and (await get_vm(api_server)).spec.runStrategy == "Halted"


async def test_a_refusal_after_a_fresh_read_is_not_retried(api_server):
    """The second read sees what the other writer did (a start request already there): refused at once."""
    await make_vm(api_server, "Manual")
    real_get, reads = api_server.resources.get, []

    def get(k, namespace, name):
        obj = real_get(k, namespace, name)
        if k == proto.VM and not reads:
            other = proto.inner(proto.copy(obj))
            other.status.stateChangeRequests.add(action="Start")
            api_server.resources.update(proto.wrap(other), status_only=True)
        reads.append(k)
        return obj
    api_server.resources.get = get
    await refused(api_server.sub.Start, req(), "unable to complete request: stop/start already underway")
    assert reads.count(proto.VM) == 2


# ---------------------------------------------------------------- pause / unpause

async def test_pause_rules(api_server):
    await make_vm(api_server, "Manual", vmi_phase="Scheduled")
    await refused(api_server.sub.Pause, req(), "VM is not running")
    await refused(api_server.sub.Unpause, req(), "VMI is not running")


async def test_pause_already_paused_and_unpause_not_paused(api_server):
    await make_vm(api_server, "Always", vmi_phase="Running", paused=True)
    await refused(api_server.sub.Pause, req(), "VMI is already paused")


async def test_unpause_not_paused(api_server):
    await make_vm(api_server, "Always", vmi_phase="Running")
    await refused(api_server.sub.Unpause, req(), "VMI is not paused")
