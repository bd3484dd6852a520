"""Byte streams into the guest for the port-forward and vnc subresources (the launcher's Forward).

KubeVirt's virt-api dials the VMI's first interface address from the pod network; here the
launcher is the one place that reaches the guest:
- a masquerade/slirp NIC is QEMU's slirp NAT, which only QEMU can reach: the launcher opens a
  one-shot slirp host forward on a loopback port (HMP hostfwd_add), connects, and removes the
  forward at once (the connection stays). Slirp accepts on the host side before the guest answers,
  so the guest's answer is read from slirp's socket table (`info usernet`): ESTABLISHED, or the row
  gone (the guest refused), or still SYN_SENT after DIAL_TIMEOUT.
- a bridge NIC joins the node's bridge: dialled at the address the VMI reports for it
  (status.interfaces[].ipAddress, as KubeVirt's getTargetInterfaceIP), when the node routes there.
- vnc: the domain's VNC unix socket (QEMU's own server; autoattachGraphicsDevice).
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import socket

from services.common import network

DIAL_TIMEOUT = 10.0
SLIRP_GUEST_HOST = 15          # slirp's DHCP hands out the network's .15 first (QEMU's dhcpstart default)
# `info usernet`: "  TCP[ESTABLISHED]   19       127.0.0.1 17000       10.0.2.15  7000     0     0"
_USERNET_ROW = re.compile(r"^\s*TCP\[(\w+)\]\s+\d+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)", re.M)


class ForwardError(Exception):
    """The stream cannot be opened; `code` is the gRPC status name the caller answers with: INTERNAL
    for a dial that failed (KubeVirt's InternalError "dialing VM: ..."), never UNAVAILABLE, which the
    mesh's channels retry (a retried stream would dial again only once the client's stream ends)."""

    def __init__(self, message: str, code: str = "INTERNAL"):
        super().__init__(message)
        self.code = code


def slirp_guest_address(vmi, iface_name: str) -> str:
    nets = {n.name: n for n in vmi.spec.networks}
    cidr = nets[iface_name].pod.vmNetworkCIDR if iface_name in nets else ""
    net = ipaddress.ip_network(cidr or network.MASQUERADE_CIDR, strict=False)
    return str(net.network_address + SLIRP_GUEST_HOST)


def target(vmi) -> tuple[str, str, str]:
    """(binding, libvirt alias of the NIC, guest address) of the VMI's first interface, the one
    KubeVirt's port-forward dials."""
    ifaces = [i for i in vmi.spec.domain.devices.interfaces if i.state != "absent"]
    if not ifaces:
        raise ForwardError("no network interfaces are present", "FAILED_PRECONDITION")
    iface = ifaces[0]
    kind = network.binding(iface)
    if kind in ("masquerade", "slirp"):
        return kind, f"ua-{iface.name}", slirp_guest_address(vmi, iface.name)
    for st in vmi.status.interfaces:
        if st.name == iface.name and (st.ipAddress or st.ipAddresses):
            return kind, f"ua-{iface.name}", st.ipAddress or st.ipAddresses[0]
    raise ForwardError(f"interface {iface.name!r} ({kind} binding) has no IP address in the VMI's status "
                       f"(status.interfaces[].ipAddress): nothing to dial", "FAILED_PRECONDITION")


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _row_state(usernet: str, host_port: int) -> str | None:
    """The state of slirp's connection that came in through host port `host_port` (None: gone)."""
    for state, _src, sport, _dst, _dport in _USERNET_ROW.findall(usernet):
        if int(sport) == host_port and state != "HOST_FORWARD":
            return state
    return None


async def dial_slirp(hv, alias: str, guest: str, port: int, lock: asyncio.Lock):
    """A TCP connection to guest:port through QEMU's slirp (see the module's doc)."""
    netdev = f"host{alias}"   # libvirt names a NIC's netdev host<alias>
    async with lock:           # one forward at a time: its host port names its row in info usernet
        for _ in range(3):     # the port we found free may be taken before slirp binds it
            host_port = _free_loopback_port()
            out = await asyncio.to_thread(hv.monitor, f"hostfwd_add {netdev} tcp:127.0.0.1:{host_port}-{guest}:{port}")
            if not out.strip():
                break
        else:
            raise ForwardError(f"dialing VM: slirp host forward: {out.strip()}")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", host_port)
        finally:
            await asyncio.to_thread(hv.monitor, f"hostfwd_remove {netdev} tcp:127.0.0.1:{host_port}")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DIAL_TIMEOUT
    while True:
        state = _row_state(await asyncio.to_thread(hv.monitor, "info usernet"), host_port)
        if state is None or state in ("CLOSED", "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "CLOSING"):
            if state is None:
                writer.close()
                raise ForwardError(f"dialing VM: dial tcp {guest}:{port}: connect: connection refused")
            return reader, writer   # answered and already closing: the bytes it sent are in the reader
        if state not in ("SYN_SENT", "SYN_RECEIVED"):
            return reader, writer
        if loop.time() > deadline:
            writer.close()
            raise ForwardError(f"dialing VM: dial tcp {guest}:{port}: i/o timeout")
        await asyncio.sleep(0.02)


async def dial(hv, vmi, port: int, protocol: str, lock: asyncio.Lock):
    if (protocol or "tcp").lower() != "tcp":
        raise ForwardError(f"protocol {protocol!r} is not supported: only tcp", "INVALID_ARGUMENT")
    if not 0 < port < 65536:
        raise ForwardError(f"port {port} is out of range (1-65535)", "INVALID_ARGUMENT")
    kind, alias, guest = target(vmi)
    if kind in ("masquerade", "slirp"):
        return await dial_slirp(hv, alias, guest, port, lock)
    try:
        return await asyncio.wait_for(asyncio.open_connection(guest, port), DIAL_TIMEOUT)
    except asyncio.TimeoutError:
        raise ForwardError(f"dialing VM: dial tcp {guest}:{port}: i/o timeout") from None
    except OSError as e:   # Go's text is the errno's ("connection refused"); asyncio's strerror is its own
        why = os.strerror(e.errno).lower() if e.errno else str(e)
        raise ForwardError(f"dialing VM: dial tcp {guest}:{port}: connect: {why}") from None


async def dial_vnc(vnc_socket: str):
    try:
        return await asyncio.open_unix_connection(vnc_socket)
    except (FileNotFoundError, ConnectionRefusedError):
        raise ForwardError("the VMI has no VNC display (spec.domain.devices.autoattachGraphicsDevice is false)",
                           "FAILED_PRECONDITION") from None


async def pump(first_data: bytes, request_iterator, reader, writer):
    """Client bytes -> the connection in a task; the connection's bytes are yielded. An empty
    message is the client's half-close (write_eof), the stream's end closes the connection."""
    async def upstream():
        try:
            if first_data:
                writer.write(first_data)
            async for msg in request_iterator:
                if not msg.data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    continue
                writer.write(msg.data)
                await writer.drain()
        except (OSError, asyncio.CancelledError):
            pass

    task = asyncio.create_task(upstream())
    try:
        while data := await reader.read(65536):
            yield data
    except OSError:
        pass
    finally:
        task.cancel()
        writer.close()
