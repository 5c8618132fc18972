"""The shared directory on the real pool: tampered task files, an unwritable
directory, a full filesystem. Each must fail clearly, naming the path, with the
run's jobs removed and nothing half-written left to be unpickled."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError
from test_faults_support import (
    Run,
    batch_dirs,
    files_under,
    jobs_of,
    pool_config,
    runs_of,
    sleep_and_mark,
    wait_until,
    with_array,
)


@pytest.mark.htcondor
@pytest.mark.timeout(120)
def test_tampered_task_file_is_refused_before_unpickling(testbed_shared_dir):
    marks = testbed_shared_dir / "marks"
    shared = testbed_shared_dir / "data"
    # throttle 1: task 1's file waits on disk while task 0 runs; we tamper with it.
    run = Run([delayed(sleep_and_mark)(i, 6 if i == 0 else 0, str(marks)) for i in range(2)],
              n_jobs=2, **pool_config(shared, throttle=1, max_retries=0))
    task_file = wait_until(lambda: next(iter(shared.glob("batches/*/tasks/1.task")), None), 60,
                           "task 1's file")
    raw = bytearray(task_file.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one flipped bit of the pickle
    task_file.write_bytes(bytes(raw))
    run.join(90)
    print(f"[figure] tampered task file: JobFailedError after {run.elapsed:.1f} s")
    assert isinstance(run.error, JobFailedError), repr(run.error)
    assert "IntegrityError" in run.error.stderr_tail
    assert "1.task" in run.error.stderr_tail and "HMAC" in run.error.stderr_tail
    assert 1 not in runs_of(str(marks)), "the tampered task ran: it was unpickled"
    assert jobs_of(shared) == [] and batch_dirs(shared) == []


def tasks_dir_made_read_only(shared: Path, n: int):
    """Yields n tasks; before the third, makes the batch's tasks directory read-only."""
    for i in range(n):
        if i == 2:
            for tasks_dir in shared.glob("batches/*/tasks"):
                tasks_dir.chmod(0o500)
        yield delayed(sleep_and_mark)(i, 30, str(shared.parent / "marks"))


@pytest.mark.htcondor
@pytest.mark.timeout(120)
# the collector thread completes every future: an error that kills it is a hang waiting
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_unwritable_shared_dir_fails_naming_the_path_and_removes_the_jobs(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    started = time.monotonic()
    with pytest.raises(OSError) as caught:
        with parallel_config(backend="htcondor", **pool_config(shared)):
            Parallel(n_jobs=2, batch_size=1, pre_dispatch="all")(
                tasks_dir_made_read_only(shared, 4))
    elapsed = time.monotonic() - started
    message = str(caught.value)
    print(f"[figure] read-only tasks dir: {type(caught.value).__name__} after {elapsed:.1f} s: "
          f"{message[:160]}")
    assert "2.task" in message and str(shared) in message and "Permission denied" in message
    wait_until(lambda: jobs_of(shared) == [], 30, "the run's jobs removed")
    assert batch_dirs(shared) == []


@pytest.mark.htcondor
@pytest.mark.timeout(120)
def test_full_filesystem_fails_naming_the_path_and_leaves_nothing_half_written(
        testbed_shared_dir):
    small = os.environ.get("JHTC_FAULTS_SMALL_FS")
    if not small or not os.path.ismount(small):
        pytest.skip("needs JHTC_FAULTS_SMALL_FS: a small filesystem mounted in the pool "
                    "(see docs/failures.md)")
    shared = Path(small) / f"data-{os.getpid()}"
    filler = Path(small) / f"filler-{os.getpid()}"
    try:
        stat = os.statvfs(small)
        with open(filler, "wb") as stream:  # leave about 3 MB free
            stream.write(b"\0" * max(0, stat.f_bavail * stat.f_frsize - 3 * 2**20))
        data = [np.full(2**18, i, dtype=np.float64) for i in range(4)]  # 2 MB each, distinct
        started = time.monotonic()
        with pytest.raises(OSError) as caught:
            with parallel_config(backend="htcondor", **pool_config(shared)):
                Parallel(n_jobs=2, batch_size=1)(delayed(with_array)(i, data[i])
                                                 for i in range(4))
        elapsed = time.monotonic() - started
        message = str(caught.value)
        print(f"[figure] full filesystem: OSError after {elapsed:.1f} s: {message[:200]}")
        assert "No space left on device" in message and str(shared) in message
        wait_until(lambda: jobs_of(shared) == [], 30, "the run's jobs removed")
        assert batch_dirs(shared) == []
        left = [p for p in files_under(shared)]
        temps = [str(p) for p in shared.rglob("*tmp*")]
        assert left == [] and temps == [], (left, temps)
    finally:
        filler.unlink(missing_ok=True)
        import shutil

        shutil.rmtree(shared, ignore_errors=True)
