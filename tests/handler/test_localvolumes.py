"""File-backed claim images (handler/localvolumes.py) with real qemu-img."""
from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import subprocess
import threading

import pytest

from services.common import hostpaths, manifest, proto
from services.handler import localvolumes


@pytest.fixture(autouse=True)
def operator_allows_tmp_path(tmp_path, monkeypatch):
    """file:// import sources under tmp_path: the operator allows that directory (and only it)."""
    monkeypatch.setenv(hostpaths.ENV_HOST_PATHS, str(tmp_path))
    monkeypatch.delenv(hostpaths.ENV_IMPORT_ALLOW_INTERNAL, raising=False)


def pvc(size="16Mi", uid="u1"):
    return manifest.parse({"metadata": {"name": "c", "namespace": "ns", "uid": uid},
                           "spec": {"resources": {"requests": {"storage": size}}}}, proto.kv.PersistentVolumeClaim)


def info(path):
    return json.loads(subprocess.run(["qemu-img", "info", "--output=json", path], capture_output=True, text=True,
                                     check=True).stdout)


def test_blank_raw_is_sparse_and_kept(tmp_path):
    root = str(tmp_path)
    localvolumes.provision(root, pvc())
    path = localvolumes.image_path(root, pvc())
    assert path == os.path.join(root, "ns", "c-u1", "disk.img")
    assert os.path.getsize(path) == 16 << 20 and os.stat(path).st_blocks == 0
    with open(path, "r+b") as f:
        f.write(b"data")
    localvolumes.provision(root, pvc())          # idempotent: an existing image is never recreated
    assert open(path, "rb").read(4) == b"data"
    localvolumes.remove(root, pvc())
    assert not os.path.exists(os.path.dirname(path))


def test_blank_qcow2(tmp_path):
    localvolumes.provision(str(tmp_path), pvc(), fmt="qcow2")
    i = info(localvolumes.image_path(str(tmp_path), pvc()))
    assert (i["format"], i["virtual-size"]) == ("qcow2", 16 << 20)


def test_import_converts_and_grows_to_the_claim(tmp_path):
    src = tmp_path / "src.img"
    src.write_bytes(b"BOOT" + bytes((1 << 20) - 4))
    root = str(tmp_path / "vols")
    localvolumes.provision(root, pvc(), source_url=f"file://{src}")
    path = localvolumes.image_path(root, pvc())
    assert open(path, "rb").read(4) == b"BOOT" and info(path)["virtual-size"] == 16 << 20
    localvolumes.provision(root, pvc(uid="u2"), fmt="qcow2", clone_from=path)
    assert info(localvolumes.image_path(root, pvc(uid="u2")))["format"] == "qcow2"


def test_bad_sources_name_the_problem(tmp_path):
    with pytest.raises(localvolumes.LocalVolumeError, match="no such file on this node"):
        localvolumes.provision(str(tmp_path), pvc(), source_url=f"file://{tmp_path}/nowhere.img")
    with pytest.raises(localvolumes.LocalVolumeError, match='spec.source.http.url: Invalid value: "ftp://x/y.img": the scheme must be http, https or file'):
        localvolumes.provision(str(tmp_path), pvc(), source_url="ftp://x/y.img")
    with pytest.raises(localvolumes.LocalVolumeError, match="disk format 'vmdk'"):
        localvolumes.provision(str(tmp_path), pvc(), fmt="vmdk")
    assert not os.path.exists(localvolumes.image_path(str(tmp_path), pvc()))   # nothing half-made


# ---------------------------------------------------------------- importer confinement (issue 13)

@contextlib.contextmanager
def http_server(address, handler):
    srv = http.server.ThreadingHTTPServer((address, 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


class _Serve(http.server.BaseHTTPRequestHandler):
    redirect = ""

    def do_GET(self):
        if self.redirect:
            self.send_response(302)
            self.send_header("Location", self.redirect)
            self.end_headers()
            return
        body = b"SECRET" + bytes(1024)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _public_address() -> str:
    """A non-loopback address of this machine (a UDP connect sends nothing), or ""."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
    except OSError:
        return ""
    return "" if hostpaths.forbidden_address(addr) else addr


@pytest.mark.parametrize("url", ["file:///etc/shadow", "/etc/shadow", "file://{tmp}/../../etc/shadow",
                                 "file://{tmp}/link/shadow"])
def test_import_never_reads_files_outside_the_allowed_directories(tmp_path, url):
    os.symlink("/etc", tmp_path / "link")
    with pytest.raises(localvolumes.LocalVolumeError, match="^spec.source.http.url: "):
        localvolumes.provision(str(tmp_path / "vols"), pvc(), source_url=url.format(tmp=tmp_path))
    assert not os.path.exists(localvolumes.image_path(str(tmp_path / "vols"), pvc()))


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/x", "http://[::1]/", "http://169.254.169.254/latest",
                                 "http://localhost:1/x", "http://0.0.0.0:1/x", "http://127.1:1/x"])
def test_import_never_fetches_from_the_nodes_own_network(tmp_path, url):
    with pytest.raises(localvolumes.LocalVolumeError, match="^spec.source.http.url: Forbidden: "):
        localvolumes.provision(str(tmp_path), pvc(), source_url=url)


def test_a_name_resolving_to_loopback_is_refused_at_connect_time(tmp_path, monkeypatch):
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):   # one public and one loopback address: refused all the same
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.7", 80)),
                    (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))]
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    with pytest.raises(localvolumes.LocalVolumeError, match=r"^spec.source.http.url: Forbidden: .*127\.0\.0\.1"):
        localvolumes.provision(str(tmp_path), pvc(), source_url="http://rebind.example/disk.img")


def test_a_local_server_is_imported_from_only_when_the_operator_allows_it(tmp_path, monkeypatch):
    with http_server("127.0.0.1", _Serve) as port:
        url = f"http://127.0.0.1:{port}/disk.img"
        with pytest.raises(localvolumes.LocalVolumeError, match="^spec.source.http.url: Forbidden: "):
            localvolumes.provision(str(tmp_path), pvc(), source_url=url)
        monkeypatch.setenv(hostpaths.ENV_IMPORT_ALLOW_INTERNAL, "1")
        localvolumes.provision(str(tmp_path), pvc(), source_url=url)
    assert open(localvolumes.image_path(str(tmp_path), pvc()), "rb").read(6) == b"SECRET"


def test_a_redirect_to_loopback_is_refused(tmp_path):
    public = _public_address()
    if not public:
        pytest.skip("this machine has no non-loopback address")
    with http_server("127.0.0.1", _Serve) as inner:
        redirector = type("R", (_Serve,), {"redirect": f"http://127.0.0.1:{inner}/secret"})
        with http_server(public, redirector) as outer:
            with pytest.raises(localvolumes.LocalVolumeError, match="^spec.source.http.url: Forbidden: "):
                localvolumes.provision(str(tmp_path), pvc(), source_url=f"http://{public}:{outer}/disk.img")
    assert not os.path.exists(localvolumes.image_path(str(tmp_path), pvc()))


# ---------------------------------------------------------------- import progress (issue 18, item 6)

class _Big(_Serve):
    size = 3 * localvolumes.CHUNK + 5
    length = True

    def do_GET(self):
        self.send_response(200)
        if self.length:
            self.send_header("Content-Length", str(self.size))
        self.end_headers()
        self.wfile.write(bytes(self.size))


@pytest.mark.parametrize("length", [True, False])
def test_an_import_reports_its_bytes(tmp_path, monkeypatch, length):
    monkeypatch.setenv(hostpaths.ENV_IMPORT_ALLOW_INTERNAL, "1")
    heard = []
    with http_server("127.0.0.1", type("B", (_Big,), {"length": length})) as port:
        localvolumes.provision(str(tmp_path), pvc(), source_url=f"http://127.0.0.1:{port}/disk.img",
                               progress=lambda done, total: heard.append((done, total)))
    total = _Big.size if length else None
    assert heard[-1] == (_Big.size, total)
    assert [d for d, _ in heard] == sorted(d for d, _ in heard) and len(heard) >= 4
    assert all(t == total for _, t in heard)


def test_the_import_report_writes_the_claim_rarely_and_hands_back_the_newest(monkeypatch):
    """ImportReport: a thousand chunks heard in half a second make one or two claim writes, each
    on top of the previous one; close() returns the claim as last written."""
    import asyncio

    from services.common import progress
    from services.handler import claims

    monkeypatch.setattr(progress, "MIN_INTERVAL_SECONDS", 0.1)

    class Api:   # records the writes; each bumps resourceVersion as a store would
        def __init__(self):
            self.writes = []

        async def update(self, obj):
            assert obj.metadata.resourceVersion == str(len(self.writes))
            out = proto.copy(obj)
            out.metadata.resourceVersion = str(len(self.writes) + 1)
            self.writes.append(out.metadata.annotations[claims.IMPORT_PROGRESS])
            return out

    async def run():
        api, claim = Api(), pvc()
        claim.metadata.resourceVersion = "0"
        report = claims.ImportReport(api, claim, "ns/c")
        for i in range(1, 1001):
            report.heard(i * 1000, 1000 * 1000)
            if i % 100 == 0:
                await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        last = await report.close()
        return api.writes, last
    writes, last = asyncio.run(run())
    assert 1 <= len(writes) <= 12, writes
    assert writes[-1] == "1000000/1000000"
    assert last.metadata.annotations[claims.IMPORT_PROGRESS] == writes[-1]
    assert last.metadata.resourceVersion == str(len(writes))
