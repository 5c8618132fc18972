"""A process forked while it has a batch running (a multiprocessing worker, a
plain os.fork) inherits a copy of the batch. The copy belongs to the parent: when
the child is told to stop, or drops its copy, the parent's jobs keep running and
its files stay. joblib's test_nested_loop[multiprocessing-htcondor] found this:
multiprocessing's terminate() sent SIGTERM to its workers, whose inherited
handler removed the jobs and files of the parent's batch."""

from __future__ import annotations

import logging
import multiprocessing
import os
import time

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import _signals, register_htcondor

register_htcondor()

pytestmark = pytest.mark.timeout(120)


def sleep_then_return(i, seconds):
    time.sleep(seconds)
    return i


def identity(x):
    return x


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


def test_sigterm_to_a_multiprocessing_worker_leaves_the_parents_batch(tmp_path, caplog):
    gen, batch = running_generator(tmp_path / "shared")
    pool = multiprocessing.get_context("fork").Pool(2)
    try:
        assert pool.map(identity, [1, 2]) == [1, 2]
    finally:
        pool.terminate()  # SIGTERM to the workers, each with a copy of the batch
        pool.join()
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
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert not batch.inherited_through_fork()
    assert batch.dir.is_dir(), "the parent's batch directory was deleted by a child"
    assert list(gen) == [1, 2]
