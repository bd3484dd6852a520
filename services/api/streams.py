"""The VMI's streaming subresources: console, portforward/{port}[/{protocol}] and vnc (byte streams
relayed both ways to the handler of the VMI's node, by one relay), and softreboot (KubeVirt's
lifecycle.go and portforward.go rules and texts)."""
from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import grpc
from prometheus_client import Gauge

from services.api import store
from services.api.errors import RequestConflict, Unavailable, grpc_errors
from services.common import proto, streamrelay, vmstate

# virt-api's gauges for the streams (KubeVirt's names).
CONSOLE_ACTIVE = Gauge("kubevirt_console_active_connections",
                       "Amount of active Console connections, broken down by namespace and vmi name.",
                       ["namespace", "vmi"])
PORTFORWARD_ACTIVE = Gauge("kubevirt_portforward_active_tunnels",
                           "Amount of active portforward tunnels, broken down by namespace and vmi name.",
                           ["namespace", "vmi"])
VNC_ACTIVE = Gauge("kubevirt_vnc_active_connections",
                   "Amount of active VNC connections, broken down by namespace and vmi name.",
                   ["namespace", "vmi"])
VMI_PAUSED = "VMI is paused"
NO_AGENT_NO_ACPI = "VMI neither have the agent connected nor the ACPI feature enabled"


def soft_reboot_refusal(vmi) -> str | None:
    """SoftRebootVMIRequestHandler's validate: running, not paused, an agent or ACPI."""
    if vmi.status.phase != vmstate.RUNNING:
        return "VM is not running"
    paused = vmstate.get_condition(vmi, vmstate.PAUSED)
    if paused is not None and paused.status == "True":
        return VMI_PAUSED
    acpi = vmi.spec.domain.features.acpi
    if vmstate.get_condition(vmi, vmstate.AGENT_CONNECTED) is None and acpi.HasField("enabled") and not acpi.enabled:
        return NO_AGENT_NO_ACPI
    return None


class StreamSubresources:
    """Mixed into the Subresources servicer (console_target, _vmi, _proxy are its)."""

    if TYPE_CHECKING:   # the servicer's, as the type checker sees them here
        def _vmi(self, request) -> Any: ...
        async def _proxy(self, vmi, call: str, request) -> Any: ...
        def console_target(self, namespace: str, name: str) -> tuple[Any, Any]: ...

    @grpc_errors
    async def SoftReboot(self, request, context):
        vmi = self._vmi(request)
        why = soft_reboot_refusal(vmi)
        if why:
            raise RequestConflict(why)
        if request.dryRun:
            return proto.api.SubresourceResponse(message="dry run")
        return await self._proxy(vmi, "SoftReboot", request)

    def stream_target(self, call: str, namespace: str, name: str):
        """(the VMI, its node's handler) for a Console, PortForward or VNC stream, or why not (store.NotFound,
        RequestConflict, Unavailable). Call it on the server's event loop."""
        vmi, stub = self.console_target(namespace, name)
        if call == "PortForward" and vmstate.get_condition(vmi, vmstate.PAUSED) is not None:
            raise RequestConflict(VMI_PAUSED)   # validateVMIForPortForward
        return vmi, stub

    async def _stream(self, request_iterator, context, call: str, gauge):
        """Relay the client's stream to the handler's `call` and its answers back, counted in `gauge`."""
        first = await request_iterator.__anext__()
        try:
            vmi, stub = self.stream_target(call, first.namespace, first.name)
        except store.NotFound as e:
            await context.abort(grpc.StatusCode.NOT_FOUND, str(e))
        except RequestConflict as e:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(e))
        except Unavailable as e:
            await context.abort(grpc.StatusCode.UNAVAILABLE, str(e))
        first.namespace = vmi.metadata.namespace
        active = gauge.labels(vmi.metadata.namespace, vmi.metadata.name)
        active.inc()
        try:
            async for chunk in streamrelay.relay(context, getattr(stub, call)(), first, request_iterator):
                yield chunk
        finally:
            active.dec()
            await asyncio.sleep(0)

    async def Console(self, request_iterator, context):
        async for chunk in self._stream(request_iterator, context, "Console", CONSOLE_ACTIVE):
            yield chunk

    async def PortForward(self, request_iterator, context):
        async for chunk in self._stream(request_iterator, context, "PortForward", PORTFORWARD_ACTIVE):
            yield chunk

    async def VNC(self, request_iterator, context):
        async for chunk in self._stream(request_iterator, context, "VNC", VNC_ACTIVE):
            yield chunk
