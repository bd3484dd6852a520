"""virtctl's verbs into a real guest (issue 18, item 4): port-forward to TCP servers inside the guest
(several ports, stdio, a closed port), ssh and scp (both ways, -r) through it, soft-reboot seen on the guest's console,
the guest's VNC display through `vnc --proxy-only` (a screenshot), and `logs`.

The guest has a masquerade NIC on the pod network (QEMU's slirp NAT, 10.0.2.0/24); the test makes sure
it has slirp's first DHCP address (10.0.2.15) from the serial shell and starts busybox `nc` servers. The
guest boots the bzImage with `console=tty0` as well: the PVH kernel gets no VGA text console (no
screen_info), the bzImage does. A second, small guest has its pod NIC without a binding (KubeVirt's
default, bridge): it takes the pod address the node allocated by DHCP (handler/podnet.py), and
port-forward dials that address.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

import pytest
import yaml

from e2e.conftest import GUESTS, qemu_mesh
from e2e.test_compute import NS, run_in_guest, serial_log, wait_line

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1200)]   # one guest for the module; a loaded machine boots it slowly
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAME = "acc"
BR = "accbr"                    # the bridge-bound guest
POD_CIDR = "10.244.77.0/24"     # this mesh's pod network (not the default: another mesh on the host may use it)
LINES: dict = {}   # id(stream) -> Lines


def vm(name: str = NAME, interface: dict | None = None, memory: str = "256Mi", kernel: str = "/bzImage",
       consoles: str = "console=tty0 console=ttyS0 no_timer_check") -> str:
    """The access guest: masquerade, the bzImage (a VGA text console for the VNC test); the bridge guest
    passes its interface (none: KubeVirt's default binding, bridge) and boots the faster PVH kernel."""
    return yaml.safe_dump({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                           "metadata": {"name": name, "namespace": NS},
                           "spec": {"runStrategy": "Always", "template": {"spec": {
                               "terminationGracePeriodSeconds": 0,
                               "networks": [{"name": "default", "pod": {}}],
                               "domain": {"memory": {"guest": memory},
                                          "devices": {"interfaces": [interface or {"name": "default",
                                                                                   "masquerade": {}}]},
                                          "firmware": {"kernelBoot": {
                                              "kernelArgs": f"{consoles} quiet panic=-1 virtmesh.marker={name}",
                                              "container": {"image": f"{GUESTS}/amd64", "kernelPath": kernel,
                                                            "initrdPath": "/initrd.img"}}}}}}}})


def bridge_vm() -> str:
    return vm(BR, {"name": "default"}, "128Mi", "/kernel", "console=ttyS0")


# The node's resolver configuration the pod network hands its guests (virtmesh up --resolv-conf, the kubelet's)
RESOLV_CONF = "nameserver 192.0.2.53\nnameserver 127.0.0.53\nsearch example.test corp.test\n"


@pytest.fixture(scope="module")
def mesh(host_ready, tmp_path_factory):
    resolv = tmp_path_factory.mktemp("dns") / "resolv.conf"
    resolv.write_text(RESOLV_CONF)
    with qemu_mesh("vmacc-", extra=("--pod-cidr", POD_CIDR, "--resolv-conf", str(resolv))) as m:
        m.cli("apply", "-f", "-", input=vm())
        m.cli("apply", "-f", "-", input=bridge_vm())
        m.wait_for(lambda: m.vm_status(NAME, NS) == "Running", 90, "VM Running")
        wait_line(m, NAME, r"VIRTMESH-READY acc", 240)   # the bzImage decompresses under TCG
        yield m


def guest_address(m) -> None:
    """slirp's first DHCP address on the guest's NIC (its /init configures none)."""
    run_in_guest(m, NAME, "ip addr add 10.0.2.15/24 dev eth0 2>/dev/null; ip link set eth0 up; echo NET-$((40+2))",
                 "NET-42", timeout=30)


def start_servers(m) -> None:
    """Echo servers on 7000 and 7001 (busybox nc, one connection each, restarted in a loop)."""
    guest_address(m)
    run_in_guest(m, NAME, "(while :; do nc -l -p 7000 -e cat; done) </dev/null >/dev/null 2>&1 & "
                 "(while :; do nc -l -p 7001 -e sh -c 'echo second-port; cat'; done) </dev/null >/dev/null 2>&1 & "
                 "echo SERVERS-$((40+2))", "SERVERS-42", timeout=30)


def cli_proc(m, *args, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "services.cli", *args], env=m.env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


class Lines:
    """A process's output lines, read in a thread (select on a buffered pipe misses buffered lines)."""

    def __init__(self, stream):
        self.stream = stream   # held: a collected stream's id could name the next process's stream
        self.q: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.q.put(line) for line in stream], daemon=True).start()

    def wait(self, pattern: str, timeout: float = 30) -> re.Match:
        deadline, seen = time.monotonic() + timeout, b""
        while time.monotonic() < deadline:
            try:
                line = self.q.get(timeout=0.5)
            except queue.Empty:
                continue
            seen += line
            found = re.search(pattern, line.decode(errors="replace"))
            if found:
                return found
        raise AssertionError(f"no {pattern!r} within {timeout}s; got {seen!r}")


def read_line(stream, pattern: str, timeout: float = 30) -> re.Match:
    lines = LINES.get(id(stream))
    if lines is None:
        lines = Lines(stream)
        LINES[id(stream)] = lines
    return lines.wait(pattern, timeout)


def exchange(port: int, payload: bytes) -> bytes:
    """Send `payload`, half-close, read everything back."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        out = b""
        try:
            while chunk := s.recv(65536):
                out += chunk
        except ConnectionResetError:   # closed with our bytes unread: a refused tunnel
            pass
    return out


def served(port: int, payload: bytes) -> bytes:
    """exchange() with a guest server that is back to listening: the guest's `nc` loop takes a moment
    (under TCG) to listen again after a connection, and a connection in between is refused."""
    for _ in range(40):
        if out := exchange(port, payload):
            return out
        time.sleep(0.5)
    return b""


def stop(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err.decode(errors="replace")


def test_port_forward_exchanges_bytes_with_servers_in_the_guest(mesh):
    m = mesh
    start_servers(m)
    pf = cli_proc(m, "port-forward", f"vmi/{NAME}/{NS}", "0:7000", "0:7001", "0:7999")
    try:
        ports = [int(read_line(pf.stdout, rf"Forwarding from 127\.0\.0\.1:(\d+) -> {p}").group(1))
                 for p in (7000, 7001, 7999)]
        assert served(ports[0], b"hello guest\n") == b"hello guest\n"
        big = os.urandom(300 * 1024)   # more than one chunk each way, the guest's cat in between
        assert served(ports[0], big) == big
        assert served(ports[1], b"two\n") == b"second-port\ntwo\n"
        # nothing listens on 7999: the local connection is closed, and the reason is printed
        assert exchange(ports[2], b"anyone?\n") == b""
        assert served(ports[0], b"still serving\n") == b"still serving\n"
    finally:
        err = stop(pf)
    assert (f"can't access vmi/{NAME}/{NS} port 7999: dialing VM: dial tcp 10.0.2.15:7999: connect: "
            "connection refused") in err, err

    # --stdio (ssh's ProxyCommand): stdin to the guest's port, its answer on stdout; the legacy NAME.NS
    for _ in range(40):   # (the guest's nc back to listening, as in served())
        r = m.cli("port-forward", "--stdio=true", f"vmi/{NAME}.{NS}", "7000", input="over stdio\n", timeout=60,
                  check=False)
        if r.returncode == 0:
            break
        time.sleep(0.5)
    assert r.stdout == "over stdio\n", r.stderr
    assert "legacy syntax" in r.stderr
    r = m.cli("port-forward", "--stdio", f"vmi/{NAME}/{NS}", "7999", input="x", check=False)
    assert r.returncode == 1
    assert "connection refused" in r.stderr and "port 7999" in r.stderr
    r = m.cli("port-forward", "--stdio", f"vmi/{NAME}/{NS}", "7000", "7001", check=False)
    assert "only one port supported when forwarding to stdout" in r.stderr
    r = m.cli("port-forward", "--stdio", f"vmi/nope/{NS}", "7000", input="", check=False)
    assert r.returncode == 1 and "not found" in r.stderr
    r = m.cli("port-forward", f"vmi/{NAME}/{NS}", "udp/53", check=False)
    assert "only tcp" in r.stderr
    r = m.cli("port-forward", f"pod/{NAME}", "80", check=False)
    assert "unsupported resource type 'pod'" in r.stderr


def pod_address(m) -> str:
    ifaces = ((m.get("vmi", BR, NS) or {}).get("status") or {}).get("interfaces") or []
    return ifaces[0].get("ipAddress", "") if ifaces else ""


def test_a_bridge_nic_takes_the_pod_address_by_dhcp_and_port_forward_reaches_it(mesh):
    m = mesh
    ip = m.wait_for(lambda: pod_address(m), 90, "the pod address in the VMI's status")
    vmi = m.get("vmi", BR, NS)
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(POD_CIDR) and ip != "10.244.77.1"   # .1: the gateway
    assert vmi["status"]["interfaces"][0]["ipAddresses"] == [ip]
    assert vmi["spec"]["domain"]["devices"]["interfaces"][0] == {"name": "default", "bridge": {}}
    # the guest's udhcpc took it from the node's dnsmasq (the console's VIRTMESH-ADDRS line), with the node's
    # nameservers a guest can reach and its search domains (RESOLV_CONF: the loopback one is the node's own)
    wait_line(m, BR, rf"VIRTMESH-ADDRS eth0={re.escape(ip)}/24", 180)
    out = run_in_guest(m, BR, "cat /etc/resolv.conf; echo DNS-$((40+2))", "DNS-42", timeout=30)
    assert "search example.test corp.test\r\nnameserver 192.0.2.53\r\nDNS-42" in out, out
    run_in_guest(m, BR, "(while :; do nc -l -p 7000 -e cat; done) </dev/null >/dev/null 2>&1 & echo BRSRV-$((40+2))",
                 "BRSRV-42", timeout=30)
    pf = cli_proc(m, "port-forward", f"vmi/{BR}/{NS}", "0:7000", "0:7999")
    try:
        ports = [int(read_line(pf.stdout, rf"Forwarding from 127\.0\.0\.1:(\d+) -> {p}").group(1)) for p in (7000, 7999)]
        assert served(ports[0], b"over the pod bridge\n") == b"over the pod bridge\n"
        big = os.urandom(200 * 1024)
        assert served(ports[0], big) == big
        assert exchange(ports[1], b"anyone?\n") == b""
    finally:
        err = stop(pf)
    assert f"dialing VM: dial tcp {ip}:7999: connect: connection refused" in err, err

    # The handler dies (kill -9): the new one keeps the allocation and the DHCP server, and a fresh
    # DHCP exchange from the guest gets the same address.
    ipam = os.path.join(m.data_dir, "net", "node01", "ipam.json")
    dhcp_pid = int(open(os.path.join(m.data_dir, "net", "node01", "dnsmasq.pid")).read())
    handler = m.pid_of("handler")
    os.kill(handler, signal.SIGKILL)
    m.wait_for(lambda: m.pid_of("handler") not in (0, handler), 30, "handler restarted")
    out = run_in_guest(m, BR, "ip addr flush dev eth0; udhcpc -q -n -i eth0 -t 5 -T 2 -s /etc/udhcpc.script "
                       ">/dev/null 2>&1 && ip -4 -o addr show dev eth0 | grep -o 'inet [0-9./]*'; echo RELEASE-$((40+2))",
                       "RELEASE-42", timeout=60)
    assert f"inet {ip}/24" in out, out
    assert os.path.exists(f"/proc/{dhcp_pid}") and pod_address(m) == ip

    # The VM goes: its address is released and, the last one gone, the DHCP server stops.
    m.cli("delete", "vm", BR, "-n", NS)
    m.wait_for(lambda: m.get("vmi", BR, NS) is None, 90, "bridge VMI gone")
    m.wait_for(lambda: json.load(open(ipam))["allocations"] == {}, 30, "address released")
    m.wait_for(lambda: not os.path.exists(f"/proc/{dhcp_pid}"), 30, "DHCP server stopped")


def test_ssh_and_scp_through_port_forward(mesh, tmp_path):
    """ssh and scp run the system's client with `virtmesh port-forward --stdio` as ProxyCommand: first
    to a guest port 22 where nothing listens (the reason is shown), then to the guest's dropbear
    (tools/build_guest.py puts it in the initramfs) with a key the test gives root."""
    if not shutil.which("ssh"):
        pytest.skip("no ssh client")
    m = mesh
    guest_address(m)
    opts = ["-t", "-o StrictHostKeyChecking=no", "-t", "-o BatchMode=yes", "--known-hosts", "/dev/null"]
    r = m.cli("ssh", f"root@vmi/{NAME}/{NS}", "-c", "true", *opts, check=False, timeout=90)
    assert r.returncode != 0
    assert "port 22: dialing VM: dial tcp 10.0.2.15:22: connect: connection refused" in r.stderr, r.stderr
    r = m.cli("ssh", "@vmi/x", check=False)
    assert "expected username before '@'" in r.stderr

    found = run_in_guest(m, NAME, "[ -x /usr/sbin/dropbear ] && echo HAS-SSHD-$((1+1)) || echo HAS-SSHD-$((0))",
                         "HAS-SSHD-", timeout=30)
    if "HAS-SSHD-2" not in found:   # a guest built before tools/build_guest.py added dropbear
        if os.environ.get("CI"):
            pytest.fail("the test guest has no /usr/sbin/dropbear: rebuild it (tools/build_guest.py)")
        pytest.skip("the test guest has no /usr/sbin/dropbear: rebuild it (tools/build_guest.py --force)")
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    pub = (tmp_path / "id_ed25519.pub").read_text().strip()
    run_in_guest(m, NAME, f"mkdir -p /root/.ssh && chmod 700 /root/.ssh && echo '{pub}' >/root/.ssh/authorized_keys "
                 "&& chmod 600 /root/.ssh/authorized_keys && mkdir -p /etc/dropbear && dropbear -R -E -p 22 && echo SSHD-$((40+2))", "SSHD-42",
                 timeout=30)
    r = m.cli("ssh", f"root@vmi/{NAME}/{NS}", "-i", str(key), "-c", "echo in-guest-$((6*7)); hostname", *opts,
              check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["in-guest-42", "virtmesh"]
    # A file's bytes through the tunnel: into ssh's stdin, checked by the guest's md5sum.
    payload = os.urandom(64 * 1024).hex()
    r = subprocess.run([sys.executable, "-m", "services.cli", "ssh", f"root@vmi/{NAME}/{NS}", "-i", str(key),
                        "-c", "cat >/tmp/copied && md5sum /tmp/copied", *opts], input=payload, text=True,
                       env=m.env, cwd=ROOT, capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout.split()[0] == hashlib.md5(payload.encode()).hexdigest(), r.stderr

    # scp to and from the guest (OpenSSH's scp speaks SFTP: dropbear runs the guest's /usr/lib/sftp-server)
    found = run_in_guest(m, NAME, "[ -x /usr/lib/sftp-server ] && echo HAS-SFTP-$((1+1)) || echo HAS-SFTP-$((0))",
                         "HAS-SFTP-", timeout=30)
    if "HAS-SFTP-2" not in found:   # a guest built before tools/build_guest.py added sftp-server
        if os.environ.get("CI"):
            pytest.fail("the test guest has no /usr/lib/sftp-server: rebuild it (tools/build_guest.py)")
        pytest.skip("the test guest has no /usr/lib/sftp-server: rebuild it (tools/build_guest.py)")
    up = tmp_path / "up.bin"
    up.write_bytes(os.urandom(300 * 1024))
    auth = ["-i", str(key), *opts]
    r = m.cli("scp", str(up), f"root@vmi/{NAME}/{NS}:/tmp/up.bin", *auth, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    r = m.cli("ssh", f"root@vmi/{NAME}/{NS}", "-c", "md5sum /tmp/up.bin", *auth, check=False, timeout=120)
    assert r.returncode == 0 and r.stdout.split()[0] == hashlib.md5(up.read_bytes()).hexdigest(), r.stderr
    run_in_guest(m, NAME, "mkdir -p /tmp/tree/sub && echo leaf >/tmp/tree/sub/leaf && echo TREE-$((40+2))", "TREE-42",
                 timeout=30)
    r = m.cli("scp", "-r", f"root@vmi/{NAME}/{NS}:/tmp/tree", str(tmp_path / "back"), *auth, check=False, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "back" / "sub" / "leaf").read_text() == "leaf\n"
    r = m.cli("scp", f"root@vmi/{NAME}/{NS}:/tmp/up.bin", str(tmp_path / "down.bin"), *auth, check=False, timeout=120)
    assert r.returncode == 0 and (tmp_path / "down.bin").read_bytes() == up.read_bytes(), r.stderr
    r = m.cli("scp", f"root@vmi/{NAME}/{NS}:/tmp/absent", str(tmp_path / "none"), *auth, check=False, timeout=120)
    assert r.returncode != 0 and "No such file" in r.stderr, r.stderr
    r = m.cli("scp", str(up), str(tmp_path / "local"), check=False)
    assert r.returncode == 1 and "exactly one of source and destination must be a VM path" in r.stderr


def test_logs(mesh):
    m = mesh
    r = m.cli("logs", "vmi", NAME, "-n", NS)
    assert f"launcher for {NS}/{NAME}" in r.stdout
    tail = m.cli("logs", "vmi", NAME, "-n", NS, "--tail", "3").stdout
    assert len(tail.splitlines()) == 3 and r.stdout.endswith(tail)
    for service in ("api", "controller", "handler"):
        out = m.cli("logs", service, "--tail", "2").stdout.splitlines()
        assert len(out) == 2 and all(f" {service}[" in line for line in out), out
    r = m.cli("logs", "vmi", "nope", "-n", NS, check=False)
    assert r.returncode == 1 and 'virtualmachineinstance.kubevirt.io "nope" not found' in r.stderr
    r = m.cli("logs", "scheduler", check=False)
    assert "is not vmi, api, controller or handler" in r.stderr

    # -f: what the launcher logs next (the pause and unpause below) appears
    follow = cli_proc(m, "logs", "vmi", NAME, "-n", NS, "-f", "--tail", "0")
    try:
        time.sleep(1)
        m.cli("pause", "vmi", NAME, "-n", NS)
        m.wait_for(lambda: (m.get("vmi", NAME, NS) or {}).get("status", {}).get("conditions") and any(
            c["type"] == "Paused" for c in m.get("vmi", NAME, NS)["status"]["conditions"]), 30, "Paused")
        # soft-reboot refuses a paused VMI (KubeVirt's text); port-forward too
        r = m.cli("soft-reboot", NAME, "-n", NS, check=False)
        assert r.returncode == 1 and f"Error soft rebooting VirtualMachineInstance {NAME}: VMI is paused" in r.stderr
        r = m.cli("port-forward", "--stdio", f"vmi/{NAME}/{NS}", "7000", input="", check=False)
        assert "VMI is paused" in r.stderr
        m.cli("unpause", "vmi", NAME, "-n", NS)
        read_line(follow.stdout, r"domain e2e_acc: Paused", 30)
        read_line(follow.stdout, r"domain e2e_acc: Running", 30)
    finally:
        stop(follow)


def test_soft_reboot_seen_on_the_console(mesh):
    m = mesh
    uid = m.get("vmi", NAME, NS)["metadata"]["uid"]
    before = serial_log(m, NAME).count("VIRTMESH-READY acc")
    r = m.cli("soft-reboot", NAME, "-n", NS)
    assert r.stdout.strip() == f"VMI {NAME} was scheduled to soft-reboot"
    # the guest sees the power button, powers off, and QEMU resets it instead of stopping: it boots again
    m.wait_for(lambda: serial_log(m, NAME).count("VIRTMESH-READY acc") > before, 240, "the guest booted again")
    log = serial_log(m, NAME)
    assert "VIRTMESH-POWEROFF" in log[log.find("VIRTMESH-READY acc"):]
    vmi = m.get("vmi", NAME, NS)
    assert vmi["metadata"]["uid"] == uid and vmi["status"]["phase"] == "Running"   # the same VMI
    r = m.cli("soft-reboot", "nope", "-n", NS, check=False)
    assert r.returncode == 1 and "Error soft rebooting VirtualMachineInstance nope" in r.stderr


# ---------------------------------------------------------------------- VNC

def rfb_framebuffer(port: int) -> tuple[int, int, bytes]:
    """A minimal RFB 3.8 viewer: no authentication, 32-bit true colour, one raw full-screen update.
    Returns (width, height, RGB bytes)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=30)

    def recv(n):
        buf = b""
        while len(buf) < n:
            chunk = s.recv(n - len(buf))
            assert chunk, f"display closed after {len(buf)} of {n} bytes"
            buf += chunk
        return buf
    with s:
        version = recv(12)
        assert version.startswith(b"RFB 003.")
        s.sendall(b"RFB 003.008\n")
        types = recv(recv(1)[0])
        assert 1 in types, f"security types {list(types)} without None"
        s.sendall(b"\x01")
        assert recv(4) == b"\0\0\0\0"
        s.sendall(b"\x01")                       # ClientInit: shared
        width, height = struct.unpack(">HH", recv(4))
        recv(16)                                 # the server's pixel format
        recv(struct.unpack(">I", recv(4))[0])    # its name
        # SetPixelFormat 32 bpp, depth 24, little endian, true colour, RGB maxima 255, shifts 16/8/0
        s.sendall(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        s.sendall(struct.pack(">BxHi", 2, 1, 0))                     # SetEncodings: raw
        s.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))  # FramebufferUpdateRequest
        fb = bytearray(width * height * 3)
        covered = 0
        while covered < width * height:
            kind = recv(1)[0]
            assert kind == 0, f"unexpected server message {kind}"
            (n,) = struct.unpack(">xH", recv(3))
            for _ in range(n):
                x, y, w, h, enc = struct.unpack(">HHHHi", recv(12))
                assert enc == 0, f"encoding {enc} (asked for raw only)"
                data = recv(w * h * 4)
                for row in range(h):
                    for col in range(w):
                        b, g, r_ = data[(row * w + col) * 4:(row * w + col) * 4 + 3]
                        i = ((y + row) * width + x + col) * 3
                        fb[i:i + 3] = bytes((r_, g, b))
                covered += w * h
    return width, height, bytes(fb)


def png_pixels(path: str) -> tuple[int, int, bytes]:
    """RGB pixels of the 8-bit RGB, non-interlaced PNG libvirt's screenshot writes."""
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert (depth, ctype) == (8, 2), (depth, ctype)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, out, stride = zlib.decompress(idat), bytearray(), width * 3
    prev = bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b, c = prev[i], prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prev = line
    return width, height, bytes(out)


def vnc_proxy(m) -> tuple[subprocess.Popen, int]:
    proc = cli_proc(m, "vnc", NAME, "-n", NS, "--proxy-only")
    return proc, json.loads(read_line(proc.stdout, r"^\{.*\}$").group(0))["port"]


def test_vnc_proxy_shows_the_guest_text_console(mesh, tmp_path):
    m = mesh
    wait_line(m, NAME, r"VIRTMESH-READY acc", 240)
    lines = " ".join(f"VNC-LINE-{i}" for i in range(1, 9))
    run_in_guest(m, NAME, f"clear >/dev/tty0; for l in {lines}; do echo $l-virtmesh-text-console >/dev/tty0; done; "
                 "echo TTY-$((6*7))", "TTY-42", timeout=30)
    if shutil.which("vncsnapshot"):   # Debian's vncsnapshot through the proxy (a JPEG of the screen)
        proc, port = vnc_proxy(m)
        try:
            shot = tmp_path / "screen.jpg"
            r = subprocess.run(["vncsnapshot", "-quiet", f"127.0.0.1::{port}", str(shot)], capture_output=True,
                               timeout=60)
            assert r.returncode == 0, r.stderr
            jpeg = shot.read_bytes()
            sof = jpeg.find(b"\xff\xc0")
            assert jpeg[:2] == b"\xff\xd8" and sof > 0
            height, width = struct.unpack(">HH", jpeg[sof + 5:sof + 9])
            assert (width, height) == (720, 400), (width, height)   # VGA text mode: 80x25 cells of 9x16
        finally:
            stop(proc)
    proc, port = vnc_proxy(m)
    try:
        width, height, pixels = rfb_framebuffer(port)
    finally:
        stop(proc)
    # QEMU's own screendump of the same display, through libvirt
    ref = tmp_path / "screendump.png"
    subprocess.run(["virsh", "-c", "qemu:///system", "screenshot", f"e2e_{NAME}", str(ref)], check=True,
                   capture_output=True)
    rw, rh, ref_pixels = png_pixels(str(ref))
    assert (width, height) == (rw, rh) == (720, 400)
    same = sum(1 for i in range(0, len(pixels), 3) if pixels[i:i + 3] == ref_pixels[i:i + 3])
    assert same >= 0.995 * width * height, f"only {same} of {width * height} pixels match the screendump"
    # Text: the eight lines the guest wrote, each a row of 16-pixel cells with lit pixels, in the top rows
    lit_rows = [y // 16 for y in range(height) if any(pixels[(y * width + x) * 3] > 96 for x in range(width))]
    assert len(set(lit_rows)) >= 8, sorted(set(lit_rows))
    # the row glyphs of "VNC-LINE-1" and "VNC-LINE-2" differ only in the digit's cell (col 9)
    def cells(row):   # the 9x16 glyph cells of a text row
        return [b"".join(pixels[((row * 16 + y) * width + c * 9) * 3:((row * 16 + y) * width + c * 9 + 9) * 3]
                         for y in range(16)) for c in range(40)]
    first, second = (cells(r) for r in sorted(set(lit_rows))[:2])
    assert [i for i in range(40) if first[i] != second[i]] == [9]

    r = m.cli("vnc", "nope", "-n", NS, "--proxy-only", check=False)
    assert r.returncode == 1 and "can't access VMI nope" in r.stderr and "not found" in r.stderr
