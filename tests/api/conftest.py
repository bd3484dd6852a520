"""Fixtures the api's unit tests share."""
from __future__ import annotations

import pytest

from services.api import store
from services.api.resources import Resources
from services.common import hostpaths


@pytest.fixture
def resources(tmp_path, monkeypatch):
    """The api's resource layer over a fresh SQLite store, with no feature gates from the environment."""
    monkeypatch.delenv(hostpaths.ENV_FEATURE_GATES, raising=False)
    db = store.Store(str(tmp_path / "store.db"))
    yield Resources(db)
    db.close()
