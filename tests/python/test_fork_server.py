"""The local scheduler's fork server: one per process, shared by every Parallel call
and recursion level, isolated like loky's workers (docs/architecture.md)."""

from __future__ import annotations

import os
import random
import signal
import sys

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError, _job_description, register_htcondor

register_htcondor()

pytestmark = pytest.mark.timeout(300)


def local_config(shared, **overrides):
    params = dict(backend="htcondor", scheduler="local", n_jobs=2, shared_data_dir=str(shared),
                  max_retries=0)
    params.update(overrides)
    return parallel_config(**params)


def parent_pid(_=None):
    return os.getppid()


def parents_of_nested_tasks(_):
    return os.getppid(), Parallel(n_jobs=2)(delayed(parent_pid)(i) for i in range(2))


def exit_abruptly(how):
    if how == "exit":
        os._exit(3)
    os.kill(os.getpid(), signal.SIGKILL)


def draws(_):
    return float(np.random.random_sample()), random.random()


def mark_module_state(_):
    previous = getattr(random, "_jhtc_mark", None)
    random._jhtc_mark = os.getpid()
    return previous


def test_every_parallel_call_forks_from_one_server(tmp_path):
    with local_config(tmp_path):
        first = Parallel(batch_size=1)(delayed(parent_pid)(i) for i in range(4))
        second = Parallel(batch_size=1)(delayed(parent_pid)(i) for i in range(4))
    assert len(set(first)) == 1 and first[0] != os.getpid(), "jobs are children of a zygote"
    assert set(second) == set(first), "the second call started a server of its own"


def test_nested_batches_fork_from_the_same_server(tmp_path):
    with local_config(tmp_path, max_recursion_level=1):
        outer = Parallel(batch_size=1)(delayed(parents_of_nested_tasks)(i) for i in range(2))
    zygote = outer[0][0]
    assert zygote != os.getpid()
    for parent, inner in outer:
        assert parent == zygote
        assert inner == [zygote, zygote], "a nested batch started its own server"


def test_without_fork_server_each_job_is_a_child_of_the_caller(tmp_path):
    with local_config(tmp_path, fork_server=False):
        parents = Parallel(batch_size=1)(delayed(parent_pid)(i) for i in range(2))
    assert parents == [os.getpid(), os.getpid()]


def test_the_server_imports_a_preloaded_module_once_per_process(tmp_path, monkeypatch):
    # The marker records every process that imports it; the caller is one of them.
    record = tmp_path / "imports"
    (tmp_path / "jhtc_import_marker.py").write_text(
        f"import os\nwith open({str(record)!r}, 'a') as f:\n    f.write(f'{{os.getpid()}}\\n')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(_job_description, "PRELOADED",
                        (*_job_description.PRELOADED, "jhtc_import_marker"))
    import jhtc_import_marker  # noqa: F401

    try:
        with local_config(tmp_path / "shared"):
            for _ in range(3):
                Parallel(batch_size=1)(delayed(parent_pid)(i) for i in range(2))
    finally:
        sys.modules.pop("jhtc_import_marker", None)
    importers = record.read_text().split()
    assert importers[0] == str(os.getpid())
    assert len(importers) == 2, f"imported by {importers[1:]} besides the caller"


def test_a_task_that_dies_does_not_take_the_server_down(tmp_path):
    with local_config(tmp_path):
        before = Parallel(batch_size=1)(delayed(parent_pid)(i) for i in range(2))
        for how in ("exit", "kill"):
            with pytest.raises(JobFailedError):
                Parallel(batch_size=1)(delayed(exit_abruptly)(how) for _ in range(2))
        after = Parallel(batch_size=1)(delayed(parent_pid)(i) for i in range(2))
    assert after == before, "the server was replaced after a task died"


def test_random_generators_differ_between_tasks_and_calls(tmp_path):
    np.random.seed(0)  # the caller's state must not be what the tasks draw from
    random.seed(0)
    with local_config(tmp_path):
        first = Parallel(batch_size=1)(delayed(draws)(i) for i in range(4))
        second = Parallel(batch_size=1)(delayed(draws)(i) for i in range(4))
    numpy_draws = [d[0] for d in first + second]
    python_draws = [d[1] for d in first + second]
    assert len(set(numpy_draws)) == 8, numpy_draws
    assert len(set(python_draws)) == 8, python_draws


def test_module_state_a_task_sets_does_not_reach_later_tasks(tmp_path):
    with local_config(tmp_path):
        first = Parallel(batch_size=1)(delayed(mark_module_state)(i) for i in range(3))
        second = Parallel(batch_size=1)(delayed(mark_module_state)(i) for i in range(3))
    assert first == [None] * 3 and second == [None] * 3


def test_the_server_preloads_the_submodules_the_caller_imported(monkeypatch):
    # A job lacking sklearn.svm would import it again in every fork.
    import sklearn.svm  # noqa: F401

    names = _job_description.modules_to_preload().split(",")
    assert "sklearn" in names and "sklearn.svm" in names
    assert not [n for n in names if any(p.startswith("_") for p in n.split("."))]
    monkeypatch.setattr(_job_description, "PRELOAD_MAX_CHARS", 10)
    bounded = _job_description.modules_to_preload().split(",")
    assert "sklearn" in bounded and "sklearn.svm" not in bounded, "the bound keeps the packages"
