"""The worker protocol: a worker writes a TaskResult (its value and run time, or
the exception with its traceback); a result file in any other shape is refused
with IncompatibleResultError, never read as something else."""

from __future__ import annotations

import functools
import operator

import pytest
from joblib_htcondor import IncompatibleResultError, worker
from joblib_htcondor._serialization import TaskCodec
from joblib_htcondor._task import result_path_for
from joblib_htcondor._task_result import TaskResult, read_task_result


@pytest.fixture
def batch(tmp_path, monkeypatch):
    """A caller's codec, and the environment a worker of its batch runs in."""
    shared = tmp_path / "shared"
    codec = TaskCodec(shared, "batch-1")
    monkeypatch.setenv("JOBLIB_HTCONDOR_SHARED_DIR", str(shared))
    monkeypatch.setenv("JOBLIB_HTCONDOR_BATCH", "batch-1")
    return shared, codec


def run_task(shared, codec, func) -> TaskResult:
    task = shared / "0.task"
    codec.dump({"func": func, "context_func": None}, task)
    assert worker.run(str(task)) == 0
    return read_task_result(codec, result_path_for(str(task)), attempt=0)


def test_a_task_that_returns_gives_its_value_and_run_time(batch):
    result = run_task(*batch, functools.partial(operator.mul, 6, 7))
    assert result.ok and result.value == 42 and result.error is None
    assert isinstance(result.run_time, float) and result.run_time >= 0


def test_a_task_that_raises_gives_the_exception_and_its_traceback(batch):
    result = run_task(*batch, functools.partial(operator.truediv, 1, 0))
    assert not result.ok and isinstance(result.error, ZeroDivisionError)
    assert "ZeroDivisionError" in result.traceback and result.run_time is None


@pytest.mark.parametrize("legacy", [("ok", 42, 0.1), ("error", ValueError("x"), "Traceback")])
def test_a_result_file_of_an_older_worker_is_refused_naming_the_file(batch, legacy):
    shared, codec = batch
    path = str(shared / "0.result")
    codec.dump(legacy, path)  # what a worker before TaskResult wrote: a positional tuple
    with pytest.raises(IncompatibleResultError, match=r"0\.result.*holds a tuple, not a "
                                                      r"TaskResult.*python_path"):
        read_task_result(codec, path, attempt=0)
