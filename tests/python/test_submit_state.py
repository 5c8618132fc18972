"""What the submitting process keeps per task stays bounded by the tasks in flight:
an ended task's paths are dropped when its outcome is in, not when the batch ends
(at 100,000 tasks they were the bulk of the submit side's memory). The driver's job
tables are checked in C++ (htcondor_driver_test, htcondor_driver_pool_test)."""

import time

import pytest
from joblib_htcondor._batch import Batch
from joblib_htcondor._params import parse_params

pytestmark = pytest.mark.timeout(120)


class Call:
    """A picklable nullary call, as joblib hands BatchedCalls to the backend."""

    def __init__(self, x):
        self.x = x

    def __call__(self):
        return [self.x]

    def __len__(self):  # the number of calls, as BatchedCalls says it
        return 1


def held_per_task(batch) -> dict:
    return {"codec files": len(batch.codec._files), "pending tasks": len(batch._pending)}


def test_ended_tasks_leave_nothing_behind_before_the_batch_ends(tmp_path):
    params = parse_params({"scheduler": "local", "shared_data_dir": str(tmp_path),
                           "batch_size": 1})
    batch = Batch(params, 0, "", 4)
    try:
        futures = [batch.submit(Call(i), None) for i in range(12)]
        assert any(held_per_task(batch).values()), "the control: tasks in flight are held"
        assert [f.get(timeout=60) for f in futures] == [[i] for i in range(12)]
        # The collector completes a future, then removes the task's file: wait for the last.
        deadline = time.monotonic() + 30
        while any(held_per_task(batch).values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held_per_task(batch) == dict.fromkeys(held_per_task(batch), 0)
        assert batch.codec.bytes_held == 0  # no task file left, no blob referenced
    finally:
        batch.close()
