"""An exclusive, crash-safe write lock: the kernel drops a flock when its holder dies, even on SIGKILL."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import NewsragError


class IndexLockedError(NewsragError, RuntimeError):
    """Another process is writing to the same index."""


@contextmanager
def write_lock(path: Path, wait: bool = False, poll_s: float = 0.5) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not wait:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise IndexLockedError(
                        f"Another `rag index` (pid {holder}) is writing to this index. "
                        "Wait for it to finish, or run again with --wait."
                    ) from None
                time.sleep(poll_s)
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
