"""A process forked while it has a batch running (a multiprocessing worker, a
plain os.fork) inherits a copy of the batch. The copy belongs to the parent: when
the child is told to stop, or drops its copy, the parent's jobs keep running and
its files stay. joblib's test_nested_loop[multiprocessing-htcondor] found this:
multiprocessing's terminate() sent SIGTERM to its workers, whose inherited
handler removed the jobs and files of the parent's batch. The children here are
plain forks: a multiprocessing pool adds its own queues and threads, and joblib's
suite covers it (scripts/test-joblib-suite)."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import _signals, register_htcondor

register_htcondor()

pytestmark = pytest.mark.timeout(120)


def sleep_then_return(i, seconds):
    time.sleep(seconds)
    return i


def running_generator(shared):
    """A Parallel call left half-consumed: its batch is live, its jobs running."""
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2,
                         shared_data_dir=str(shared), max_retries=0):
        gen = Parallel(return_as="generator")(
            delayed(sleep_then_return)(i, s) for i, s in enumerate([0, 3, 3]))
        assert next(gen) == 0
    batches = _signals.live_batches()
    assert len(batches) == 1, "the half-consumed call's batch is registered"
    return gen, batches[0]


def wait_for_child(pid: int, timeout: float = 60) -> int:
    """The child's exit code (negative: the signal that ended it); a child still
    alive after ``timeout`` is killed and fails the test (a hang, not a slow child)."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail(f"the forked child did not end within {timeout:.0f} s")
        time.sleep(0.05)


def test_sigterm_to_a_forked_child_leaves_the_parents_batch(tmp_path, caplog):
    """As multiprocessing's terminate() does to its workers: the child's handler has
    no batch of its own to remove, and dies of the signal as a process without ours."""
    gen, batch = running_generator(tmp_path / "shared")
    pid = os.fork()
    if pid == 0:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
        finally:
            os._exit(5)  # only reached if the signal did not end the child
    assert wait_for_child(pid) == -signal.SIGTERM
    assert batch.dir.is_dir(), "the parent's batch directory was deleted by a child"
    with caplog.at_level(logging.WARNING, logger="joblib_htcondor"):
        assert list(gen) == [1, 2]
    assert not [r for r in caplog.records if "removed the jobs" in r.getMessage()]


def test_a_child_closing_its_copy_leaves_the_parents_batch(tmp_path):
    gen, batch = running_generator(tmp_path / "shared")
    pid = os.fork()
    if pid == 0:  # the child: joblib's generator close ends the batch... the child's copy
        code = 0
        try:
            gen.close()
            code = 0 if batch.inherited_through_fork() else 3
        except BaseException:
            code = 2
        os._exit(code)
    assert wait_for_child(pid) == 0
    assert not batch.inherited_through_fork()
    assert batch.dir.is_dir(), "the parent's batch directory was deleted by a child"
    assert list(gen) == [1, 2]


def test_a_forked_child_gets_back_the_handlers_ours_replaced(tmp_path):
    """Ours runs only where a batch of that process needs it: a forked child (a pool
    worker) stops on SIGTERM as it would without us, whatever it is doing then."""
    gen, _ = running_generator(tmp_path / "shared")
    assert signal.getsignal(signal.SIGTERM) is _signals._handle
    pid = os.fork()
    if pid == 0:
        os._exit(0 if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL else 7)
    assert wait_for_child(pid) == 0, "the child kept the parent's SIGTERM handler"
    assert list(gen) == [1, 2]


def fork_a_child_that_swallows_keyboard_interrupt(_):
    """A task that forks a child, as a multiprocessing pool does, whose code swallows
    KeyboardInterrupt (as Python code in a finalizer or a broad except may), then
    stops it with SIGTERM, as Pool.terminate() does. Returns how the child ended."""
    pid = os.fork()
    if pid == 0:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                time.sleep(0.05)
            except KeyboardInterrupt:
                pass  # a worker's handler raises this; swallowed, the child lives on
        os._exit(3)
    time.sleep(0.2)
    os.kill(pid, signal.SIGTERM)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_process_a_task_forks_dies_of_sigterm_not_of_the_workers_handler(tmp_path):
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2,
                         shared_data_dir=str(tmp_path / "shared")):
        ended = Parallel()(delayed(fork_a_child_that_swallows_keyboard_interrupt)(i)
                           for i in range(2))
    assert ended == [-signal.SIGTERM, -signal.SIGTERM], ended


def test_the_heartbeat_thread_leaves_sigterm_to_the_main_thread(tmp_path):
    """The heartbeat thread outlives batches; a SIGTERM the kernel gave it would leave
    a main thread blocked in a C wait without running the handler (a pool worker that
    had run a batch ignored its pool's terminate())."""
    import threading

    from joblib_htcondor._serialization import TaskCodec

    codec = TaskCodec(tmp_path / "shared", "hb-test")
    assert codec.owner
    deadline = time.monotonic() + 10
    while True:
        heartbeat = [t for t in threading.enumerate() if t.name == "joblib_htcondor-heartbeat"]
        status = (f"/proc/self/task/{heartbeat[0].native_id}/status" if heartbeat else None)
        blocked = 0
        if status and os.path.exists(status):
            line = next(x for x in open(status) if x.startswith("SigBlk:"))
            blocked = int(line.split()[1], 16)
        if blocked & (1 << (signal.SIGTERM - 1)) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    codec.release()
    assert heartbeat, "no heartbeat thread"
    assert blocked & (1 << (signal.SIGTERM - 1)), f"SigBlk {blocked:#x}: SIGTERM not blocked"
    assert blocked & (1 << (signal.SIGINT - 1)), f"SigBlk {blocked:#x}: SIGINT not blocked"
