"""Which files are fsynced: everything on HTCondor, nothing of a local batch.

A file the local scheduler writes is read only on this machine by the caller's own
children, so a crash that loses it also killed its readers (include/jhtc/durability.hpp);
an fsync there only costs time (3 to 150 ms each on a loaded machine, ~26 per call of 4
tasks before issue 18). The counter ``_core.fsync_calls()`` counts this process's fsyncs
of store, task, result and owner files.
"""

from __future__ import annotations

import functools
import operator
import os

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import _core, register_htcondor, worker
from joblib_htcondor._job_description import durable_files
from joblib_htcondor._serialization import TaskCodec
from joblib_htcondor._task import result_path_for

register_htcondor()

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def shared(tmp_path):
    return tmp_path / "shared"


def durable_files_setting(_):
    return os.environ.get("JOBLIB_HTCONDOR_DURABLE_FILES")


def fsyncs_during(action) -> int:
    before = _core.fsync_calls()
    action()
    return _core.fsync_calls() - before


def test_only_the_local_scheduler_writes_without_fsync():
    assert durable_files("htcondor") is True
    assert durable_files("local") is False


def test_a_warm_local_call_makes_no_fsync_in_the_caller(shared):
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2,
                         shared_data_dir=str(shared)):
        assert Parallel()(delayed(abs)(-i) for i in range(4)) == [0, 1, 2, 3]  # creates the key
        made = fsyncs_during(lambda: Parallel()(delayed(abs)(-i) for i in range(4)))
    assert made == 0


def test_local_workers_are_told_to_write_without_fsync(shared):
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2,
                         shared_data_dir=str(shared)):
        settings = Parallel()(delayed(durable_files_setting)(i) for i in range(2))
    assert settings == ["0", "0"]


def test_codec_fsyncs_task_files_by_default_and_not_when_told(shared):
    durable = TaskCodec(shared, "batch-durable")
    assert fsyncs_during(lambda: durable.dump([1, 2], shared / "0.task")) == 2
    local = TaskCodec(shared, "batch-local", durable=False)
    assert fsyncs_during(lambda: local.dump([1, 2], shared / "1.task")) == 0
    assert local.load(shared / "1.task") == [1, 2]  # still signed and verified


def test_a_new_batch_owner_record_is_fsynced_only_when_durable(shared):
    TaskCodec(shared, "warm-up")  # creates the store and the key (always durable)
    assert fsyncs_during(lambda: TaskCodec(shared, "batch-a")) == 2
    assert fsyncs_during(lambda: TaskCodec(shared, "batch-b", durable=False)) == 0


@pytest.mark.parametrize(("setting", "fsyncs"), [("0", 0), ("1", 2), (None, 2)])
def test_worker_result_is_fsynced_unless_the_batch_says_not(shared, monkeypatch, setting,
                                                            fsyncs):
    caller = TaskCodec(shared, "batch-1")
    task = shared / "0.task"
    caller.dump({"func": functools.partial(operator.mul, 6, 7), "context_func": None}, task)
    monkeypatch.setenv("JOBLIB_HTCONDOR_SHARED_DIR", str(shared))
    monkeypatch.setenv("JOBLIB_HTCONDOR_BATCH", "batch-1")
    if setting is None:
        monkeypatch.delenv("JOBLIB_HTCONDOR_DURABLE_FILES", raising=False)
    else:
        monkeypatch.setenv("JOBLIB_HTCONDOR_DURABLE_FILES", setting)
    # the worker opens the caller's batch (no owner record: it is owned) and writes the result
    assert fsyncs_during(lambda: worker.run(str(task))) == fsyncs
    result = caller.load(result_path_for(str(task)), delete=True)
    assert (result.ok, result.value) == (True, 42)
