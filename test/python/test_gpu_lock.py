"""kernels/gpu_lock.py: bench workers sharing a GPU never hold it together; host work in `released()` overlaps."""

import fcntl
import multiprocessing as mp
import os
import time

from kernels.gpu_lock import GpuLock


def _hold(path, out, hold_s, host_s, who=0):
    lock = GpuLock(path)
    for _ in range(3):
        with lock:
            t0 = time.monotonic()
            time.sleep(hold_s)  # "GPU" work
            out.put((t0, time.monotonic(), who))
            with lock.released():
                time.sleep(host_s)  # host-only work, lock let go
            t1 = time.monotonic()
            time.sleep(hold_s)
            out.put((t1, time.monotonic(), who))


def test_two_processes_never_hold_the_lock_together_and_overlap_host_work(tmp_path):
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    path = str(tmp_path / "gpu0.lock")
    procs = [ctx.Process(target=_hold, args=(path, out, 0.05, 0.1, who)) for who in range(2)]
    for p in procs:
        p.start()
    spans = sorted(out.get(timeout=30) for _ in range(12))
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    for (a0, a1, _), (b0, b1, _) in zip(spans, spans[1:]):
        assert b0 >= a1 - 1e-3, f"held together: {a0:.3f}-{a1:.3f} and {b0:.3f}-{b1:.3f}"
    # while one let the lock go for its host work, the other held it: their holds interleave
    order = [who for _, _, who in spans]
    assert any(order[i] == order[i + 2] != order[i + 1] for i in range(len(order) - 2)), order


def _hold_forever(path, holding):
    with GpuLock(path):
        holding.set()
        time.sleep(60)


def test_a_dead_holder_frees_the_lock(tmp_path):
    path = str(tmp_path / "gpu0.lock")
    ctx = mp.get_context("spawn")
    holding = ctx.Event()
    p = ctx.Process(target=_hold_forever, args=(path, holding))
    p.start()
    assert holding.wait(30)
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        raise AssertionError("the lock was free while the other process held it")
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    p.kill()
    p.join()
    t0 = time.monotonic()
    with GpuLock(path):
        pass
    assert time.monotonic() - t0 < 5.0


def test_without_a_path_it_is_a_no_op():
    lock = GpuLock(None)
    with lock:
        with lock.released():
            pass
    assert not lock.held
