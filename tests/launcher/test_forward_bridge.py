"""port-forward's dial for a bridge-bound NIC (launcher/forward.py): the address the VMI reports for
its first interface (status.interfaces[].ipAddress, KubeVirt's getTargetInterfaceIP), dialled as TCP,
with KubeVirt's texts when it cannot be; a real listener on loopback stands in for the guest's address.
A real guest taking its pod address by DHCP (handler/podnet.py) and reached this way: tests/e2e/test_guest_access.py."""
from __future__ import annotations

import asyncio
import socket

import pytest

from services.common import manifest, proto
from services.launcher import forward


def vmi(ip: str = ""):
    v = manifest.parse({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance",
                        "metadata": {"name": "b", "namespace": "ns"},
                        "spec": {"networks": [{"name": "default", "pod": {}}],
                                 "domain": {"devices": {"interfaces": [{"name": "default", "bridge": {}}]}}}},
                       proto.kv.VirtualMachineInstance)
    st = v.status.interfaces.add(name="default", infoSource="domain")
    if ip:
        st.ipAddress = ip
    return v


def test_a_bridge_nic_is_dialled_at_its_reported_address():
    async def run():
        async def echo(reader, writer):
            writer.write(await reader.read(100))
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            assert forward.target(vmi("127.0.0.1")) == ("bridge", "ua-default", "127.0.0.1")
            reader, writer = await forward.dial(None, vmi("127.0.0.1"), port, "tcp", asyncio.Lock())
            writer.write(b"through the bridge path")
            await writer.drain()
            got = await reader.read(100)
            writer.close()
            return got
    assert asyncio.run(run()) == b"through the bridge path"


def test_a_bridge_nic_without_an_address_or_a_listener_is_refused_with_the_reason():
    with socket.socket() as s:   # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(forward.ForwardError, match=f"^dialing VM: dial tcp 127.0.0.1:{closed}: connect: "
                                                   "connection refused$"):   # Go's text, as KubeVirt's
        asyncio.run(forward.dial(None, vmi("127.0.0.1"), closed, "tcp", asyncio.Lock()))
    with pytest.raises(forward.ForwardError, match=r"interface 'default' \(bridge binding\) has no IP address") as e:
        forward.target(vmi())
    assert e.value.code == "FAILED_PRECONDITION"
