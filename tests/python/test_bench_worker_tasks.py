"""The raw-worker benchmark case's own checks, without a pool: its task files run
through the worker as an HTCondor job would run them, and its result check reads
what the worker writes (a TaskResult since session 7; the bench still checked the
old tuple and failed every run of that case until session 8)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "submission"
sys.path.insert(0, str(BENCH))
import submission_bench  # noqa: E402


def run_worker(shared: Path, batch: str, task: Path) -> None:
    env = {**os.environ, "JOBLIB_HTCONDOR_SHARED_DIR": str(shared),
           "JOBLIB_HTCONDOR_BATCH": batch, "PYTHONPATH": str(BENCH)}
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.worker", str(task)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_raw_worker_case_reads_what_the_worker_writes(tmp_path):
    shared, batch = tmp_path / "w", "raw-worker"
    codec, tasks = submission_bench.write_worker_tasks(shared, batch, 2)
    for i in range(2):
        run_worker(shared, batch, tasks / f"{i}.task")
    submission_bench.check_worker_results(codec, tasks, 2)


def test_the_raw_worker_case_fails_on_a_wrong_value(tmp_path):
    from joblib_htcondor._task import TaskCalls

    shared, batch = tmp_path / "w", "raw-worker"
    codec, tasks = submission_bench.write_worker_tasks(shared, batch, 1)
    codec.dump({"func": TaskCalls([(submission_bench.trivial, (5,), {})], None),
                "context_func": None}, tasks / "0.task")  # task 0 now returns [5]
    run_worker(shared, batch, tasks / "0.task")
    with pytest.raises(AssertionError, match=r"task 0: .*value=\[5\]"):
        submission_bench.check_worker_results(codec, tasks, 1)
