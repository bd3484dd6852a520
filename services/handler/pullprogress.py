"""How far a registry image's pull has come, for the VMI that waits for it (handler/images.py).

skopeo prints no byte counts when its output is not a terminal, so the figure is read where the
bytes land: containers/image's OCI destination writes each blob into the layout directory as
`oci-put-blob*` and renames it into the shared blob directory once whole. Done = the blobs new in
the shared directory + those being written; blobs the cache already held are not downloaded and not
counted. There is no total: only the manifest has the sizes, and reading it before the copy would
be a second manifest GET per pull (registries such as Docker Hub count those against pull limits).
"""
from __future__ import annotations

import os
import threading
from collections.abc import Callable

POLL_SECONDS = 0.5
TEMP_PREFIX = "oci-put-blob"


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


class Watch:
    """A thread reporting (done, None) every POLL_SECONDS, and once more at the end, while skopeo
    copies into `layout` with `blobs` as its shared blob directory (`had`: the blobs there before)."""

    def __init__(self, blobs: str, layout: str, had: set[str], report: Callable[[int, int | None], None]):
        self.sha = os.path.join(blobs, "sha256")
        self.layout, self.had, self.report = layout, had, report
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pull-progress", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()
        if exc[0] is None:
            self.report(self.figure(), None)   # the end of a pull quicker than one poll, too

    def figure(self) -> int:
        try:
            whole = sum(_size(os.path.join(self.sha, n)) for n in set(os.listdir(self.sha)) - self.had)
        except OSError:   # made by skopeo
            whole = 0
        try:
            partial = sum(_size(os.path.join(self.layout, n)) for n in os.listdir(self.layout)
                          if n.startswith(TEMP_PREFIX))
        except OSError:
            partial = 0
        return whole + partial

    def _run(self) -> None:
        while not self.done.wait(POLL_SECONDS):
            self.report(self.figure(), None)
