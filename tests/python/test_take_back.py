"""A nested batch's parent takes back a task whose job has not started (see
_inline_runner): an outcome that arrives while the job's removal is tried waits
in the task's record until the runner says whether the job was removed. Checked
here with the local scheduler; the runner's thread is idle (run_inline_after is
far away) and the test plays its part."""

from __future__ import annotations

import os
import time

import pytest
from joblib_htcondor._batch import Batch
from joblib_htcondor._params import parse_params

pytestmark = pytest.mark.timeout(120)


class WaitForFile:
    """A nullary call that returns ``value`` once ``path`` exists (as BatchedCalls)."""

    def __init__(self, path: str, value):
        self.path, self.value = path, value

    def __call__(self):
        while not os.path.exists(self.path):
            time.sleep(0.01)
        return self.value

    def __len__(self):
        return 1


@pytest.fixture
def batch(tmp_path, monkeypatch):
    monkeypatch.setattr(Batch, "_runs_inline", lambda self: True)
    params = parse_params({"scheduler": "local", "shared_data_dir": str(tmp_path / "shared")})
    batch = Batch(params, 1, "", 2)
    yield batch
    batch.close()


def wait_until(condition) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert time.monotonic() < deadline, "the job's outcome never arrived"
        time.sleep(0.02)


def test_an_outcome_arriving_during_a_removal_waits_for_the_runner(batch, tmp_path):
    go = tmp_path / "go"
    future = batch.submit(WaitForFile(str(go), "from the job"), None)
    task_id, call = batch.next_to_take_back(0.0)
    assert task_id == future.task_id and call.value == "from the job"
    go.touch()  # the job finishes while its removal is being tried
    wait_until(lambda: batch._pending.get(future.task_id).arrived is not None)
    assert not future.done()  # held: the runner has not decided
    assert batch.end_take_back(future.task_id, removed=False) is None
    assert future.get(timeout=30) == "from the job"
    assert len(batch._pending) == 0


def test_a_task_taken_back_is_the_runners_and_its_jobs_outcome_is_dropped(batch, tmp_path):
    go = tmp_path / "go"
    future = batch.submit(WaitForFile(str(go), "from the job"), None)
    assert batch.next_to_take_back(0.0)[0] == future.task_id
    taken = batch.end_take_back(future.task_id, removed=True)
    assert taken is future
    assert batch.next_to_take_back(0.0) is None  # resolved: not offered again
    go.touch()  # the job was not really removed here: its outcome comes, and is dropped
    wait_until(lambda: len(batch._pending) == 0)
    assert not future.done()
    future._complete("run by the parent")
    assert future.get() == "run by the parent"


def test_a_started_job_waits_again_before_it_is_offered_again(batch, tmp_path):
    go = tmp_path / "go"
    future = batch.submit(WaitForFile(str(go), 1), None)
    batch.next_to_take_back(0.0)
    assert batch.end_take_back(future.task_id, removed=False) is None
    assert batch.next_to_take_back(3600.0) is None  # its wait starts again
    assert batch.next_to_take_back(0.0)[0] == future.task_id
    batch.end_take_back(future.task_id, removed=False)
    go.touch()
    assert future.get(timeout=60) == 1
