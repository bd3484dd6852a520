"""Fixtures the api's unit tests share."""
from __future__ import annotations

import pytest

from services.api import store
from services.api.resources import Resources
from services.common import hostpaths, proto


@pytest.fixture
def resources(tmp_path, monkeypatch):
    """The api's resource layer over a fresh SQLite store, with no feature gates from the environment."""
    monkeypatch.delenv(hostpaths.ENV_FEATURE_GATES, raising=False)
    db = store.Store(str(tmp_path / "store.db"))
    yield Resources(db)
    db.close()


@pytest.fixture
def status_writes_between(api_server):
    """status_writes_between(kind, times): another writer (the controller on a VM, a handler on a VMI)
    writes the object's status right after each of the next `times` reads of it by a subresource, so
    the verb's write carries a stale resourceVersion. Returns the status reasons written, in order."""
    real_get = api_server.resources.get

    def arrange(kind, times: int) -> list[str]:
        written: list[str] = []

        def get(k, namespace, name):
            obj = real_get(k, namespace, name)
            if k == kind and len(written) < times:
                other = proto.copy(obj)
                inner = proto.inner(other)
                written.append(f"other-writer-{len(written)}")
                if kind == proto.VM:
                    inner.status.printableStatus = written[-1]
                else:
                    inner.status.reason = written[-1]
                api_server.resources.update(other, status_only=True)
            return obj
        api_server.resources.get = get
        return written
    return arrange
