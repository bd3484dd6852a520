"""One log format for every service: `time level service: message`."""
from __future__ import annotations

import logging
import os


def setup(service: str, level: str | None = None) -> None:
    logging.basicConfig(
        level=(level or os.environ.get("VIRTMESH_LOG_LEVEL", "INFO")).upper(),
        format=f"%(asctime)s %(levelname)s {service}[%(process)d] %(name)s: %(message)s",
    )
