"""Crash recovery on the real pool: SIGKILL of the submitting process, then cleanup
by the command or by the next run once the killed run's resume_grace passed, and
resume=True reusing finished tasks and adopting the jobs that still run.

The computation: four tasks; 0 and 1 finish at once, 2 and 3 wait while a gate
file exists. Each run of a task appends its number to a counter file, which
proves what ran again.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from joblib import Parallel, delayed
from joblib_htcondor._recovery import recover
from owner_records import owner_path, read_record
from test_faults_support import (
    batch_dirs,
    condor,
    gated_square,
    jobs_of,
    shared_constraint,
    wait_until,
    write_driver,
)


def crash_mid_run(base, shared, resume, resume_grace=1800):
    """Starts the gated run and SIGKILLs it once tasks 0 and 1 are done and 2, 3 run."""
    (base / "gate").write_text("")
    script = write_driver(base / "driver.py", shared, "gated", resume=resume,
                          resume_grace=resume_grace)
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


def job_history(shared, want: int) -> dict:
    """``job id -> (JhtcTask, JobStatus)`` of every job of the runs in ``shared`` that
    left the queue; waits until ``want`` are there (the schedd writes the history
    as jobs leave). condor_history failing, or a line that is not a job, fails."""
    def rows():
        out = condor("condor_history", "-constraint", shared_constraint(shared),
                     "-af", "ClusterId", "ProcId", "JhtcTask", "JobStatus")
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) != 4 or not all(p.isdigit() for p in parts):
                pytest.fail(f"condor_history printed a line that is not a job: {line!r}\n{out}")
            found[f"{parts[0]}.{parts[1]}"] = (parts[2], int(parts[3]))
        return found if len(found) >= want else None
    return wait_until(rows, 60, f"{want} jobs in condor_history")


def owner_pid(batch_dir) -> int:
    """The pid the batch's owner record names (0: no record yet)."""
    record = read_record(batch_dir.parent.parent, batch_dir.name)
    return record.owner.pid if record is not None else 0


def slow_job_lookup(base) -> dict:
    """The environment of a rerun whose condor_q answers the adoption's question
    (the one asking for JhtcTask) 3 s late, as under load: the adopted jobs, let go
    meanwhile, end while the rerun looks for them."""
    wrappers = base / "bin"
    wrappers.mkdir()
    real = shutil.which("condor_q")
    (wrappers / "condor_q").write_text(
        f'#!/bin/sh\ncase "$*" in *JhtcTask*) sleep 3;; esac\nexec {real} "$@"\n')
    (wrappers / "condor_q").chmod(0o755)
    return dict(os.environ, PATH=f"{wrappers}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.htcondor
@pytest.mark.timeout(300)
@pytest.mark.parametrize("lookup", ["prompt", "slow"])
def test_rerun_with_resume_adopts_the_running_jobs_of_a_killed_run(testbed_shared_dir, lookup):
    """"slow": the jobs end between the rerun's two questions to the scheduler (queue,
    history); asked in the other order they were in neither answer and were run again."""
    base, shared = testbed_shared_dir, testbed_shared_dir / "data"
    orphans = {job["id"]: job["task"] for job in crash_mid_run(base, shared, resume=True)}
    assert sorted(orphans.values()) == ["2", "3"], orphans
    killed = shared / "batches" / batch_dirs(shared)[0]
    first = (base / "counter").read_text().split()
    env = slow_job_lookup(base) if lookup == "slow" else None
    started = time.monotonic()
    script = write_driver(base / "driver.py", shared, "gated", resume=True)
    rerun = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
    try:
        # The rerun makes itself the owner of the killed batch before it adopts the jobs.
        wait_until(lambda: owner_pid(killed) == rerun.pid, 60,
                   "the rerun taking over the killed run's batch")
        adopted_after = time.monotonic() - started
        queued = {j["id"] for j in jobs_of(shared)}
        assert set(orphans) <= queued, (orphans, queued)  # adopted, not removed
        (base / "gate").unlink()  # now the adopted jobs may finish
        output, _ = rerun.communicate(timeout=120)
    finally:
        rerun.kill()
    elapsed = time.monotonic() - started
    assert rerun.returncode == 0, output
    sequential = Parallel(n_jobs=1)(delayed(gated_square)(i, str(base / "seq"), "/nonexistent")
                                    for i in range(4))
    assert f"RESULT {sequential}" in output, output
    by_task = ", ".join(job for job, _ in sorted(orphans.items(), key=lambda item: int(item[1])))
    adopted = f"adopted 2 job(s) of the killed run {killed.name} ({by_task})"  # its INFO log
    assert adopted in output, output
    # Every job the two runs ever had: the first run's four. The orphans completed
    # (JobStatus 4) in the jobs the killed run started; the rerun submitted none.
    history = job_history(shared, 4)
    assert len(history) == 4, history
    assert {job: history[job] for job in orphans} == {
        job: (task, 4) for job, task in orphans.items()}, history
    runs = (base / "counter").read_text().split()
    second = runs[len(first):]
    print(f"[figure] resume adopts ({lookup} lookup): jobs {sorted(orphans)} taken over "
          f"{adopted_after:.1f} s after the rerun started; first run ran {sorted(first)}, "
          f"rerun ran {sorted(second)}; rerun done in {elapsed:.1f} s")
    assert second == [], runs  # 0 and 1 from the results cache, 2 and 3 adopted
    assert jobs_of(shared) == []
    assert batch_dirs(shared) == []


@pytest.mark.htcondor
@pytest.mark.timeout(240)
def test_a_killed_run_not_resumed_within_its_grace_is_cleaned_up_by_the_next_run(
        testbed_shared_dir):
    base, shared = testbed_shared_dir, testbed_shared_dir / "data"
    orphans = {job["id"] for job in crash_mid_run(base, shared, resume=True, resume_grace=3)}
    owner = owner_path(shared, batch_dirs(shared)[0])
    wait_until(lambda: time.time() - owner.stat().st_mtime > 3, 30, "the grace of 3 s passed")
    started = time.monotonic()
    # What the start of the next run in this directory does (any run, resuming or not).
    summary = recover(shared)
    gone = wait_until(lambda: not orphans & {j["id"] for j in jobs_of(shared)}
                      and time.monotonic(), 60, "the orphans out of the queue")
    history = job_history(shared, 4)
    print(f"[figure] resume grace 3 s: orphans removed {gone - started:.1f} s after the next "
          f"run's cleanup started; {summary}")
    assert summary["batches_removed"] == 1 and summary["job_sets_removed"] == 1, summary
    assert {history[job][1] for job in orphans} == {3}, history  # removed, not completed
    assert batch_dirs(shared) == []


@pytest.mark.htcondor
@pytest.mark.timeout(300)
def test_resume_reuses_a_job_that_ended_after_the_kill_and_resubmits_one_that_was_held(
        testbed_shared_dir):
    """Between the kill and the rerun task 2's job finishes and task 3's is held: the
    rerun takes 2's result from the killed run's files (its job replayed from the
    event log), and submits 3 again (an adopted job is not retried by the engine)."""
    base, shared = testbed_shared_dir, testbed_shared_dir / "data"
    orphans = {job["task"]: job["id"] for job in crash_mid_run(base, shared, resume=True)}
    condor("condor_hold", "-reason", "held by the test", orphans["3"])
    wait_until(lambda: any(j["id"] == orphans["3"] and j["status"] == 5
                           for j in jobs_of(shared)), 60, "task 3's job held")
    (base / "gate").unlink()
    wait_until(lambda: orphans["2"] not in {j["id"] for j in jobs_of(shared)}, 60,
               "task 2's job finished while nobody watched")
    script = write_driver(base / "driver.py", shared, "gated", resume=True)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "RESULT [0, 1, 4, 9]" in done.stdout, done.stdout
    history = job_history(shared, 5)
    runs = (base / "counter").read_text().split()
    print(f"[figure] resume after the kill: history {sorted(history.items())}, runs {runs}")
    assert history[orphans["2"]] == ("2", 4), history  # its end replayed, result reused
    assert history[orphans["3"]] == ("3", 3), history  # held: removed by the rerun
    assert len(history) == 5, history  # four of the first run, one new job for task 3
    assert sorted(runs) == ["0", "1", "2", "3", "3"], runs  # only task 3 ran twice
    assert jobs_of(shared) == []
    assert batch_dirs(shared) == []
