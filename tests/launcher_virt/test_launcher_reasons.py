"""A launcher's failure reaches the handler and the api as a typed reason (LauncherReason), over real gRPC:
launcher (libvirt's test driver) -> handler's Handler service -> the api's proxy. No one reads the words."""
import shutil
import tempfile

import grpc
import pytest

pytest.importorskip("libvirt")

from services.api.errors import RequestConflict, Unavailable  # noqa: E402
from services.api.subresources import Subresources  # noqa: E402
from services.common import proto, reasons  # noqa: E402
from services.handler.server import HandlerService  # noqa: E402
from services.launcher import failures, server, storage, virt  # noqa: E402
from services.launcher.domxml import convert  # noqa: E402

L, R = proto.launcher, proto.reason


def _vmi(name: str):
    vmi = proto.kv.VirtualMachineInstance()
    vmi.metadata.name, vmi.metadata.namespace, vmi.metadata.uid = name, "ns", f"uid-{name}"
    vmi.spec.domain.memory.guest = "64Mi"
    vmi.status.nodeName = "node1"
    return vmi


def test_each_failure_type_has_its_reason():
    cases = [(virt.DomainNotFound("x"), R.DOMAIN_NOT_FOUND), (virt.OperationInvalid("x"), R.DOMAIN_STATE_INVALID),
             (virt.NoSupport("x"), R.HYPERVISOR_UNSUPPORTED), (virt.InvalidConfig("x"), R.DEFINITION_REFUSED),
             (virt.OperationAborted("x"), R.OPERATION_ABORTED), (virt.ConnectionFailed("x"), R.LIBVIRT_UNAVAILABLE),
             (virt.VirtError("x"), R.OPERATION_FAILED), (storage.ImagePullError("x"), R.IMAGE_NOT_PULLED),
             (storage.VolumeError("x"), R.VOLUME_NOT_READY), (convert.ConversionError("x"), R.CONVERSION_FAILED),
             (RuntimeError("x"), R.LAUNCHER_REASON_UNSPECIFIED)]
    assert [failures.reason_of(e) for e, _ in cases] == [r for _, r in cases]


class _Record:
    """The handler's record of a launcher (services/handler/launchers.Launcher): alive, with a stub."""

    def __init__(self, stub):
        self.stub = stub

    def alive(self) -> bool:
        return True


class _Launchers:
    def __init__(self, record):
        self.record = record

    def get(self, uid):
        return self.record


@pytest.fixture
def sockdir():
    d = tempfile.mkdtemp(prefix="vmr", dir="/tmp")   # unix socket paths must stay short
    yield d
    shutil.rmtree(d, ignore_errors=True)


async def test_a_stopped_domain_refuses_pause_as_a_typed_reason_up_to_the_api(sockdir):
    vmi = _vmi("reason1")
    launcher = server.Launcher("test:///default", vmi.metadata.uid, "ns", "reason1", sockdir, "emulation")
    launcher_srv, handler_srv = grpc.aio.server(), grpc.aio.server()
    channels = []
    try:
        assert (await launcher.SyncVirtualMachine(L.VMIRequest(vmi=vmi), None)).success
        launcher.hv.shutdown()   # the test driver stops at once

        # The launcher's reply: the reason, from the wrapper's OperationInvalid.
        resp = await launcher.PauseVirtualMachine(L.EmptyRequest(), None)
        assert (resp.success, resp.reason) == (False, R.DOMAIN_STATE_INVALID) and resp.message

        proto.launcher_grpc.add_CmdServicer_to_server(launcher, launcher_srv)
        launcher_srv.add_insecure_port(f"unix://{sockdir}/launcher.sock")
        await launcher_srv.start()
        channels.append(grpc.aio.insecure_channel(f"unix://{sockdir}/launcher.sock"))
        record = _Record(proto.launcher_grpc.CmdStub(channels[-1]))
        handler = HandlerService({"ns/reason1": vmi}, _Launchers(record))
        proto.handler_grpc.add_HandlerServicer_to_server(handler, handler_srv)
        handler_srv.add_insecure_port(f"unix://{sockdir}/handler.sock")
        await handler_srv.start()
        channels.append(grpc.aio.insecure_channel(f"unix://{sockdir}/handler.sock"))
        stub = proto.handler_grpc.HandlerStub(channels[-1])

        # The handler: the status code follows the reason, and the reason travels in trailing metadata.
        request = proto.api.SubresourceRequest(namespace="ns", name="reason1")
        with pytest.raises(grpc.aio.AioRpcError) as e:
            await stub.Pause(request, timeout=10)
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert reasons.of_error(e.value) == R.DOMAIN_STATE_INVALID

        # The api's proxy decides on that reason: the VMI's state refuses the request (409), not the node.
        class Api:
            def _handler_stub(self, node_name):
                assert node_name == "node1"
                return stub
        with pytest.raises(RequestConflict):
            await Subresources._proxy(Api(), vmi, "Pause", request)

        # No domain of the VMI at all: that reason, as typed.
        launcher.hv.undefine()
        resp = await launcher.PauseVirtualMachine(L.EmptyRequest(), None)
        assert resp.reason == R.DOMAIN_NOT_FOUND
    finally:
        for ch in channels:
            await ch.close()
        await handler_srv.stop(None)
        await launcher_srv.stop(None)
        launcher.hv.destroy()
        launcher.hv.undefine()


async def test_a_reason_that_is_no_conflict_is_not_one_at_the_api():
    class Stub:
        async def Pause(self, request, timeout):
            raise _Error(grpc.StatusCode.INTERNAL, reasons.metadata(R.OPERATION_FAILED))

    class Api:
        def _handler_stub(self, node_name):
            return Stub()
    with pytest.raises(Unavailable):
        await Subresources._proxy(Api(), _vmi("reason2"), "Pause", proto.api.SubresourceRequest())
    # Words alone decide nothing: a conflict-sounding message without the reason stays what its code says.
    assert reasons.of_error(_Error(grpc.StatusCode.INTERNAL, (), "domain is not running")) == \
        R.LAUNCHER_REASON_UNSPECIFIED


class _Error(grpc.aio.AioRpcError):
    def __init__(self, code, trailing, details="failed"):
        super().__init__(code, grpc.aio.Metadata(), grpc.aio.Metadata(*trailing), details)
