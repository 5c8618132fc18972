"""Crash recovery on the real pool: SIGKILL of the submitting process, then cleanup
by the command or by the next run, and resume=True reusing finished tasks.

The computation: four tasks; 0 and 1 finish at once, 2 and 3 wait while a gate
file exists. Each run of a task appends its number to a counter file, which
proves what ran again.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from test_faults_support import batch_dirs, condor, jobs_of, wait_until, write_driver


def crash_mid_run(base, shared, resume):
    """Starts the gated run and SIGKILLs it once tasks 0 and 1 are done and 2, 3 run."""
    (base / "gate").write_text("")
    script = write_driver(base / "driver.py", shared, "gated", resume=resume)
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        def progressed():
            counter = base / "counter"
            ran = counter.read_text().split() if counter.exists() else []
            cached = len(list((shared / "results").glob("*.result"))) if resume else 2
            return {"2", "3"} <= set(ran) and cached >= 2
        wait_until(progressed, 120, "tasks 0, 1 finished and 2, 3 running")
        driver.send_signal(signal.SIGKILL)
        driver.wait(30)
    finally:
        driver.kill()
    orphans = jobs_of(shared)
    assert orphans, "the killed run should have left its running jobs in the queue"
    assert batch_dirs(shared), "the killed run should have left its batch directory"
    return orphans


@pytest.mark.htcondor
@pytest.mark.timeout(240)
def test_cleanup_command_removes_the_jobs_and_files_of_a_killed_run(testbed_shared_dir):
    base, shared = testbed_shared_dir, testbed_shared_dir / "data"
    orphans = crash_mid_run(base, shared, resume=False)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path", str(shared)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    gone = wait_until(lambda: jobs_of(shared) == [] and time.monotonic(), 60,
                      "the orphaned jobs out of the queue")
    print(f"[figure] cleanup command: {len(orphans)} orphaned jobs, queue empty "
          f"{gone - started:.1f} s after the command started; {summary}")
    assert summary["batches_removed"] == 1 and summary["job_sets_removed"] == 1
    assert batch_dirs(shared) == []
    assert not list((shared / "store" / "refs").glob("*")) if (shared / "store").exists() else True


@pytest.mark.htcondor
@pytest.mark.timeout(300)
def test_rerun_with_resume_removes_orphans_and_reuses_finished_results(testbed_shared_dir):
    base, shared = testbed_shared_dir, testbed_shared_dir / "data"
    orphans = {job["id"] for job in crash_mid_run(base, shared, resume=True)}
    first = (base / "counter").read_text().split()
    started = time.monotonic()
    script = write_driver(base / "driver.py", shared, "gated", resume=True)
    rerun = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        # The orphans still wait at the gate: only the rerun's recovery can end them.
        wait_until(lambda: not orphans & {j["id"] for j in jobs_of(shared)}, 60,
                   "the killed run's jobs removed by the rerun")
        removed_after = time.monotonic() - started
        history = condor("condor_history", *sorted(orphans), "-af", "JobStatus")
        (base / "gate").unlink()  # now the rerun's tasks 2 and 3 may finish
        output, _ = rerun.communicate(timeout=120)
    finally:
        rerun.kill()
    elapsed = time.monotonic() - started
    assert rerun.returncode == 0, output
    assert "RESULT [0, 1, 4, 9]" in output
    assert history.split() == ["3"] * len(orphans), history  # 3: removed, not completed
    assert jobs_of(shared) == []
    runs = (base / "counter").read_text().split()
    second = runs[len(first):]
    print(f"[figure] resume: orphans removed {removed_after:.1f} s after the rerun started; "
          f"first run ran {sorted(first)}, rerun ran {sorted(second)}, done in {elapsed:.1f} s")
    assert sorted(second) == ["2", "3"], runs  # 0 and 1 came from the results cache
    assert runs.count("0") == 1 and runs.count("1") == 1
    assert batch_dirs(shared) == []
