"""Turns on one GPU for the bench workers that share it (TRITUNE_GPU_LOCK, set by the conductor when a GPU has
several bench workers: TRITUNE_WORKERS_PER_GPU).

A worker holds the lock while it runs anything on the GPU (building inputs, first launch, check, the timed
replays) and lets it go only with the GPU idle (`sync` first), around host-only work such as capturing a CUDA graph.
So the GPU runs one worker's kernels at a time and every time is measured alone, while another worker's host work
overlaps it. An flock: the OS releases it when its holder dies, so a crashed worker never blocks the others.
Without a path every call is a no-op (one worker per GPU)."""

import contextlib
import fcntl
import os


class GpuLock:
    def __init__(self, path: str | None, sync=lambda: None):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600) if path else None
        self.sync = sync
        self.held = False

    def __enter__(self):
        if self.fd is not None and not self.held:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.held = True
        return self

    def __exit__(self, *exc):
        self.release()
        return False

    def release(self) -> None:
        if self.fd is not None and self.held:
            try:
                self.sync()
            finally:
                self.held = False
                fcntl.flock(self.fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def released(self):
        """Host-only work inside a held lock: the GPU idle and free for another worker meanwhile."""
        was = self.held
        self.release()
        try:
            yield
        finally:
            if was:
                self.__enter__()
