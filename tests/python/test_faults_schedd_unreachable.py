"""The scheduler stops answering while jobs need removing, on the real pool.

A job is held (by HTCondor's own on_exit_hold policy) while every ``condor_rm``
fails the way a schedd that does not answer makes it fail: ``ERROR: Failed to
connect to local queue manager``, exit 1 (a stand-in condor_rm first on the
caller's PATH; condor_submit and condor_q stay real). Before issue 14 the engine's
tracking thread threw out of the removal and the process died (``terminate called
after throwing an instance of 'jhtc::SchedulerError'``, exit 134).

Also: a hostile lineage planted in an owner file removes nothing, on the real
schedd, while a bystander job of the same user survives.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from owner_records import make_batch, read_record
from test_faults_support import batch_dirs, condor, jobs_of, wait_until

SCHEDD_DOWN = "ERROR: Failed to connect to local queue manager"

CALLER = textwrap.dedent("""
    import json, sys, time
    from joblib import Parallel, delayed, parallel_config
    from joblib_htcondor import SchedulerError, register_htcondor
    register_htcondor()
    started = time.monotonic()
    with parallel_config(backend="htcondor", scheduler="htcondor", shared_data_dir=sys.argv[1],
                         poll_interval=0.2, max_retries=1,
                         extra_directives={"on_exit_hold": "true"}):
        try:
            Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2))
            outcome = {"error": None}
        except SchedulerError as error:
            outcome = {"error": "SchedulerError", "message": str(error)}
        except BaseException as error:
            outcome = {"error": type(error).__name__, "message": str(error)}
    outcome["elapsed"] = time.monotonic() - started
    print("OUTCOME " + json.dumps(outcome), flush=True)
""")


def failing_condor_rm(where: Path) -> Path:
    bin_dir = where / "failing-bin"
    bin_dir.mkdir()
    tool = bin_dir / "condor_rm"
    tool.write_text(f"#!/bin/sh\necho\necho '{SCHEDD_DOWN}' >&2\nexit 1\n")
    tool.chmod(0o755)
    return bin_dir


@pytest.mark.htcondor
@pytest.mark.timeout(300)
def test_held_job_while_condor_rm_cannot_reach_the_schedd_raises_in_a_live_caller(
        testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    bin_dir = failing_condor_rm(testbed_shared_dir)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    done = subprocess.run([sys.executable, "-c", CALLER, str(shared)], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, (
        f"the caller died (exit {done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("OUTCOME "))
    outcome = json.loads(line.removeprefix("OUTCOME "))
    print(f"[figure] held job, condor_rm failing: SchedulerError reached the caller "
          f"{outcome['elapsed']:.1f} s after the Parallel call started")
    assert outcome["error"] == "SchedulerError", outcome
    assert "condor_rm exited with 1 (5 attempts" in outcome["message"], outcome
    assert SCHEDD_DOWN in outcome["message"], outcome
    # What is left: the held jobs, the batch directory, emptied, and its owner
    # record, marked abandoned; the log says how to remove them.
    left = jobs_of(shared)
    assert left and all(job["status"] == 5 for job in left), left
    (name,) = batch_dirs(shared)
    assert list((shared / "batches" / name).iterdir()) == []
    assert read_record(shared, name).owner.abandoned
    assert "joblib_htcondor.cleanup --path" in done.stderr
    # The cleanup command, with the real condor_rm, removes what was left.
    started = time.monotonic()
    cleanup = subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path",
                              str(shared)], capture_output=True, text=True, timeout=120)
    assert cleanup.returncode == 0, cleanup.stderr
    assert json.loads(cleanup.stdout)["job_sets_removed"] == 1
    wait_until(lambda: jobs_of(shared) == [], 60, "the held jobs removed by the cleanup")
    print(f"[figure] cleanup command removed the leftover jobs in "
          f"{time.monotonic() - started:.1f} s")
    assert batch_dirs(shared) == []


def submit_bystander(where: Path) -> str:
    """A job of the same user outside any lineage of ours, idle for a while."""
    sub = where / "bystander.sub"
    sub.write_text(textwrap.dedent(f"""
        executable = /bin/sleep
        arguments = 300
        +JhtcLineage = "bystander"
        log = {where}/bystander.log
        queue
    """))
    out = condor("condor_submit", "-terse", str(sub))
    return out.split()[0]


@pytest.mark.htcondor
@pytest.mark.timeout(120)
def test_planted_hostile_lineage_removes_no_job_of_the_user(testbed_shared_dir):
    from joblib_htcondor._recovery import recover

    shared = testbed_shared_dir / "data"
    job_id = submit_bystander(testbed_shared_dir)
    try:
        dead = subprocess.Popen(["true"])
        dead.wait()
        make_batch(shared, "planted", 'x" || true || "', scheduler="htcondor", pid=dead.pid)
        summary = recover(shared)
        assert summary["batches"] == ["planted"] and summary["job_sets_removed"] == 0
        status = condor("condor_q", job_id, "-af", "JobStatus").strip()
        assert status in ("1", "2"), f"the bystander {job_id} is gone (status {status!r})"
    finally:
        condor("condor_rm", job_id, check=False)


@pytest.mark.htcondor
@pytest.mark.timeout(120)
@pytest.mark.parametrize("key", ["getenv", "Environment", "+UserLog", "MY.JhtcLineage", "error"])
def test_extra_directive_that_would_break_the_job_is_refused_naming_it(testbed_shared_dir, key):
    from joblib import Parallel, delayed, parallel_config

    shared = testbed_shared_dir / "data"
    with parallel_config(backend="htcondor", scheduler="htcondor", shared_data_dir=str(shared),
                         extra_directives={key: '"x"'}):
        with pytest.raises(ValueError,
                           match=re.escape(f'extra_directives: "{key}" is set by the driver')):
            Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2))
    assert jobs_of(shared) == []
