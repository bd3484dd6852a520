"""Shared fixtures: an in-process api server (fast tests) and a real `virtmesh up` (integration)."""
from __future__ import annotations

import os
import shutil

import grpc
import pytest

from services.api import store
from services.api.resources import Resources, ResourcesServicer
from services.api.subresources import Subresources
from services.common import authz, grpcserver, proto

from harness import Mesh, short_tmpdir


@pytest.fixture
async def api_server():
    """The api service in this event loop, on a unix socket, over a real SQLite file."""
    d = short_tmpdir("vmapi-")
    db = store.Store(os.path.join(d, "store.db"))
    resources = Resources(db)
    server = grpcserver.Server(["virtmesh.v1.Resources", "virtmesh.v1.Subresources"], authz.mesh_policy())
    server.add(proto.api_grpc.add_ResourcesServicer_to_server, ResourcesServicer(resources))
    server.add(proto.api_grpc.add_SubresourcesServicer_to_server, Subresources(resources))
    target = server.listen_unix(os.path.join(d, "api.sock"))
    await server.start()
    channel = grpc.aio.insecure_channel(target)

    class Handle:
        pass

    h = Handle()
    h.target, h.dir, h.db, h.resources, h.channel = target, d, db, resources, channel
    h.stub = proto.api_grpc.ResourcesStub(channel)
    h.sub = proto.api_grpc.SubresourcesStub(channel)
    yield h
    await channel.close()
    await server.server.stop(0)
    db.close()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def mesh():
    d = short_tmpdir("vmesh-")
    m = Mesh(d, "test:///default")
    yield m
    m.stop()
    shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------- markers by kind (pyproject.toml lists them)

_TESTS = os.path.dirname(os.path.abspath(__file__))
_BY_DIRECTORY = {"e2e": "e2e", "cluster": "cluster", "integration": "integration"}


def pytest_collection_modifyitems(items):
    """unit / integration / e2e / cluster from where a test lives and what it starts: a module that
    runs `virtmesh up` (harness.Mesh) or a test using a mesh fixture is integration at least."""
    for item in items:
        if item.get_closest_marker("e2e") or item.get_closest_marker("cluster"):
            continue   # marked by its module
        top = os.path.relpath(str(item.fspath), _TESTS).split(os.sep)[0]
        kind = _BY_DIRECTORY.get(top)
        if kind is None:
            starts_mesh = "Mesh" in vars(item.module) or any("mesh" in f for f in item.fixturenames)
            kind = "integration" if starts_mesh else "unit"
        item.add_marker(getattr(pytest.mark, kind))
