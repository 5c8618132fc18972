"""max_shared_disk: the bytes a batch holds in the shared directory stay within the
budget; a task that can never fit fails alone, naming the parameter and the figures.

Observed from the workers: each task counts the task files present in its batch's
directory when it starts. Task files are written only when the budget admits them
and deleted when their task ends, so that count is bounded by the budget."""

import glob
import os
import time

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import SharedDiskBudgetError, register_htcondor

register_htcondor()

pytestmark = pytest.mark.timeout(300)

# In-band payload (bytes stay in the pickle): a task file of about 300 KB.
PAYLOAD = os.urandom(300 * 1024)


def count_task_files(payload, pause):
    """The task files of this batch on disk while this task runs."""
    tasks_dir = os.path.join(os.environ["JOBLIB_HTCONDOR_SHARED_DIR"], "batches",
                             os.environ["JOBLIB_HTCONDOR_BATCH"], "tasks")
    seen = len(glob.glob(os.path.join(tasks_dir, "*.task")))
    time.sleep(pause)
    return seen, len(payload)


def run(shared, n_tasks, pause=0.3, payload=PAYLOAD, **params):
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=4, batch_size=1,
                         shared_data_dir=str(shared), poll_interval=0.05, **params):
        return Parallel()(delayed(count_task_files)(payload, pause) for _ in range(n_tasks))


def test_without_a_budget_task_files_pile_up(tmp_path):
    # The control: the bound checked below is one the run would otherwise break.
    results = run(tmp_path / "shared", 12)
    assert max(seen for seen, _ in results) > 3


def test_task_files_stay_within_the_budget(tmp_path):
    results = run(tmp_path / "shared", 12, max_shared_disk="1MB")
    assert [size for _, size in results] == [len(PAYLOAD)] * 12
    # 1 MiB holds three files of ~300 KiB (plus the pickle and the signature).
    assert max(seen for seen, _ in results) <= 3
    assert not list((tmp_path / "shared" / "batches").iterdir())


def test_a_task_larger_than_the_budget_fails_naming_the_parameter(tmp_path):
    shared = tmp_path / "shared"
    with pytest.raises(SharedDiskBudgetError, match=r"2\.00 MiB.*max_shared_disk.*1\.00 MiB"):
        run(shared, 1, max_shared_disk="1MB", pause=0, payload=os.urandom(2 * 2**20))
    assert not list((shared / "batches").iterdir()), "the refused run left files behind"


def sum_of(data, start):
    return float(data[start:start + 10].sum())


def test_shared_data_counts_once_against_the_budget(tmp_path):
    # 8 MB of data used by every task: with a 12 MB budget, all 20 tasks fit
    # because the blob is counted (and stored) once, not once per task.
    data = np.arange(1_000_000, dtype=np.float64)
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2, batch_size=1,
                         shared_data_dir=str(tmp_path / "shared"), max_shared_disk="12MB"):
        results = Parallel()(delayed(sum_of)(data, i) for i in range(20))
    assert results == [float(data[i:i + 10].sum()) for i in range(20)]


def test_data_that_exceeds_the_budget_fails_before_any_job_runs(tmp_path):
    data = np.arange(1_000_000, dtype=np.float64)  # 8 MB in one blob
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2, batch_size=1,
                         shared_data_dir=str(tmp_path / "shared"), max_shared_disk="4MB"):
        with pytest.raises(SharedDiskBudgetError, match="max_shared_disk") as raised:
            Parallel()(delayed(sum_of)(data, i) for i in range(4))
    assert "8000000 bytes" in str(raised.value) or "7.63 MiB" in str(raised.value)
    assert not list((tmp_path / "shared" / "store" / "sha256").glob("*/*")), \
        "the refused data was written to the store"


@pytest.mark.htcondor
def test_budget_holds_back_jobs_on_the_real_pool(testbed_shared_dir):
    from pool_helpers import event_logs, most_jobs_in_scheduler, pool_address

    logs = testbed_shared_dir / "logs"
    with parallel_config(backend="htcondor", n_jobs=4, throttle=4, batch_size=1,
                         pool=pool_address(), shared_data_dir=str(testbed_shared_dir / "data"),
                         log_dir_prefix=str(logs), max_shared_disk="1MB"):
        results = Parallel()(delayed(count_task_files)(PAYLOAD, 1.0) for _ in range(8))
    assert [size for _, size in results] == [len(PAYLOAD)] * 8
    assert max(seen for seen, _ in results) <= 3
    (event_log,) = event_logs(logs).values()
    # The throttle allows 4 and the pool has 4 slots: 3 is the budget's doing.
    assert most_jobs_in_scheduler(event_log) == 3


def break_the_store(payload):
    """Replaces the store's blob directory by a file: later blob writes fail."""
    blobs = os.path.join(os.environ["JOBLIB_HTCONDOR_SHARED_DIR"], "store", "sha256")
    import shutil

    shutil.rmtree(blobs, ignore_errors=True)
    with open(blobs, "w") as stream:
        stream.write("not a directory")
    return len(payload)


def length_of(data):
    return len(data)


def test_a_waiting_task_that_cannot_be_written_fails_with_the_path(tmp_path):
    # Task 0 (1.5 MiB in-band) fills the 2 MiB budget; task 1's new 1 MiB array waits,
    # and is written by the collector once task 0 is gone: into the broken store.
    shared = tmp_path / "shared"
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2, batch_size=1,
                         shared_data_dir=str(shared), max_shared_disk="2MB"):
        with pytest.raises(OSError, match=r"cannot write the task file .*1\.task"):
            Parallel()([delayed(break_the_store)(os.urandom(3 * 2**19)),
                        delayed(length_of)(np.ones(2**17))])
    assert not list((shared / "batches").iterdir())
