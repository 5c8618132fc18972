"""Faults of single jobs on the real pool: held, killed, evicted.

Each test injects the fault with HTCondor's own tools (or kill -9) while a Parallel
call runs, and asserts what the caller sees, how soon, and that nothing is left in
the queue or in the shared directory afterwards.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
from joblib_htcondor import JobFailedError
from test_faults_support import (
    Run,
    condor,
    files_under,
    jobs_of,
    pool_config,
    runs_of,
    tasks,
    wait_until,
)

HOLD_REASON = "jhtc-fault-test: held on purpose"


@pytest.mark.htcondor
@pytest.mark.timeout(120)
def test_held_jobs_are_retried_then_fail_with_the_hold_reason_code_and_job_id(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    run = Run(tasks(2, 60, str(testbed_shared_dir / "marks")), **pool_config(shared, max_retries=1))
    held: set = set()
    while run.elapsed is None and run.started + 90 > time.monotonic():
        for job in jobs_of(shared, "JobStatus != 5"):
            if job["id"] not in held:
                condor("condor_hold", "-reason", HOLD_REASON, job["id"], check=False)
                held.add(job["id"])
        time.sleep(0.2)
    run.join(30)
    print(f"[figure] held: caller saw JobFailedError {run.elapsed:.1f} s after the start; "
          f"{len(held)} jobs held")
    assert isinstance(run.error, JobFailedError), repr(run.error)
    message = str(run.error)
    assert HOLD_REASON in message
    assert "HoldReasonCode 1" in message  # 1: held by a user (condor_hold)
    assert run.error.attempts == 2
    assert run.error.job_id in held
    assert f"job {run.error.job_id}" in message
    assert jobs_of(shared) == []
    assert files_under(shared) == []


@pytest.mark.htcondor
@pytest.mark.timeout(120)
def test_killed_workers_are_retried_then_fail_with_the_signal_and_stderr_tail(testbed_shared_dir):
    marks = testbed_shared_dir / "marks"
    shared = testbed_shared_dir / "data"
    run = Run(tasks(1, 60, str(marks)), **pool_config(shared, max_retries=1))
    killed: set = set()
    while run.elapsed is None and run.started + 90 > time.monotonic():
        for pids in runs_of(str(marks)).values() if marks.exists() else ():
            for pid in set(pids) - killed:
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
        time.sleep(0.1)
    run.join(30)
    print(f"[figure] kill -9: caller saw JobFailedError {run.elapsed:.1f} s after the start; "
          f"{len(killed)} workers killed")
    assert isinstance(run.error, JobFailedError), repr(run.error)
    assert "killed by signal 9" in str(run.error)
    assert run.error.attempts == 2 and len(killed) == 2
    assert "task 0 started in pid" in run.error.stderr_tail
    assert jobs_of(shared) == []
    assert files_under(shared) == []


@pytest.mark.htcondor
@pytest.mark.timeout(120)
def test_evicted_jobs_run_again_and_no_task_is_lost(testbed_shared_dir):
    marks = testbed_shared_dir / "marks"
    shared = testbed_shared_dir / "data"
    run = Run(tasks(4, 8, str(marks)), **pool_config(shared, max_retries=0))
    # Every task is evicted once after it started; max_retries=0 proves that an
    # eviction is not a failure the engine retries but the same job running again.
    wait_until(lambda: marks.exists() and len(runs_of(str(marks))) == 4, 60,
               "all four tasks started")
    running = wait_until(lambda: [j["id"] for j in jobs_of(shared, "JobStatus == 2")], 30,
                         "running jobs")
    condor("condor_vacate_job", *running)
    run.join(90)
    assert run.error is None, repr(run.error)
    assert run.result == [i * i for i in range(4)]
    runs = runs_of(str(marks))
    rerun = [task for task, pids in runs.items() if len(pids) >= 2]
    print(f"[figure] eviction: {len(running)} jobs vacated, {len(rerun)} tasks ran twice, "
          f"all results after {run.elapsed:.1f} s")
    assert len(rerun) == len(running)
    assert jobs_of(shared) == []
    assert files_under(shared) == []
