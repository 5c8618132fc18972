"""The scheduler itself misbehaves, on a side pool of 2 slots (testbed/pool with
JHTC_TESTBED_DIR and JHTC_TESTBED_PORT, JHTC_FAULTS_SIDE_POOL=1): the schedd
restarts mid-run; nested parents hold every slot.

These tests restart daemons or fill the pool on purpose, so they never run on
the shared pool (skipped without JHTC_FAULTS_SIDE_POOL).
"""

from __future__ import annotations

import os
import time

import pytest
from conftest import parse_condor_event_log
from joblib import delayed
from test_faults_support import (
    Run,
    batch_dirs,
    condor,
    jobs_of,
    pid_and_inner_pids,
    pool_config,
    runs_of,
    tasks,
    wait_until,
)

side_pool = pytest.mark.skipif(os.environ.get("JHTC_FAULTS_SIDE_POOL") != "1",
                               reason="restarts or fills the pool: run on a side pool with "
                                      "JHTC_FAULTS_SIDE_POOL=1 (see docs/failures.md)")


def slots() -> int:
    # TotalCpus: the machine's CPUs, however its partitionable slot is carved up now
    return max(int(float(c)) for c in condor("condor_status", "-af", "TotalCpus").split())


@pytest.mark.htcondor
@side_pool
@pytest.mark.timeout(240)
def test_schedd_restart_mid_run_and_the_run_completes(testbed_shared_dir):
    marks = testbed_shared_dir / "marks"
    shared = testbed_shared_dir / "data"
    run = Run(tasks(4, 10, str(marks)), **pool_config(shared, max_retries=2))
    wait_until(lambda: marks.exists() and len(runs_of(str(marks))) >= 2, 90, "two tasks started")
    restarted = time.monotonic()
    condor("condor_restart", "-schedd")
    run.join(200)
    print(f"[figure] schedd restart: run done {run.elapsed:.1f} s after its start, "
          f"{time.monotonic() - restarted:.1f} s after the restart; runs per task "
          f"{ {t: len(p) for t, p in sorted(runs_of(str(marks)).items())} }")
    assert run.error is None, repr(run.error)
    assert run.result == [i * i for i in range(4)]
    wait_until(lambda: jobs_of(shared) == [], 30, "an empty queue")
    assert batch_dirs(shared) == []


@pytest.mark.htcondor
@side_pool
@pytest.mark.timeout(240)
def test_parents_holding_every_slot_run_their_children_themselves(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    n_slots = slots()
    assert n_slots < 4, "the point is a pool smaller than the outer throttle"
    run = Run([delayed(pid_and_inner_pids)(i, 1) for i in range(4)],
              **pool_config(shared, throttle=[4, 4], max_recursion_level=1,
                            run_inline_after=5))
    run.join(220)
    assert run.error is None, repr(run.error)
    inline = sum(inner.count(outer) for outer, inner in run.result)
    print(f"[figure] {n_slots} slots, throttle [4, 4], 4 parents x 2 children: done in "
          f"{run.elapsed:.1f} s; {inline} of 8 children ran inside their parent")
    assert len(run.result) == 4 and inline >= 1
    wait_until(lambda: jobs_of(shared) == [], 30, "an empty queue")
    assert batch_dirs(shared) == []


STOPPABLE_CALLER = """
import sys
sys.path.insert(0, {tests!r})
from joblib import Parallel, parallel_config
import test_faults_support as s
with parallel_config(backend="htcondor", scheduler="htcondor", shared_data_dir={shared!r},
                     poll_interval=0.2, max_retries=2, log_dir_prefix={logs!r}):
    print("RESULT", Parallel(n_jobs=2, batch_size=1)(s.tasks(2, 8, {marks!r})), flush=True)
"""


@pytest.mark.htcondor
@side_pool
@pytest.mark.timeout(300)
def test_schedd_stopped_while_a_held_job_needs_removing_and_the_run_completes(
        testbed_shared_dir):
    """A job is held while the schedd is off (condor_off -schedd; the caller is
    stopped with SIGSTOP meanwhile, so that it reads the hold only then): its
    condor_rm fails with "Failed to connect to local queue manager" and is retried
    with backoff until the schedd is back (condor_on after 5 s); the task runs
    again and the run ends with the right results."""
    import signal
    import subprocess
    import sys
    from pathlib import Path

    marks = testbed_shared_dir / "marks"
    shared = testbed_shared_dir / "data"
    script = testbed_shared_dir / "caller.py"
    logs = testbed_shared_dir / "logs"  # kept: the event log says when the job left
    script.write_text(STOPPABLE_CALLER.format(tests=str(Path(__file__).resolve().parent),
                                              shared=str(shared), marks=str(marks),
                                              logs=str(logs)))
    caller = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        job = wait_until(lambda: next((j for j in jobs_of(shared, "JobStatus == 2")
                                       if int(j["task"]) in runs_of(str(marks))), None),
                         90, "a job running its task")
        caller.send_signal(signal.SIGSTOP)
        condor("condor_hold", "-reason", "jhtc-fault-test: held, then the schedd stops",
               job["id"])
        condor("condor_off", "-schedd")
        stopped = time.monotonic()
        # condor_off only asks the master: wait until the schedd really stopped answering.
        wait_until(lambda: subprocess.run(["condor_q", "-totals"], capture_output=True,
                                          timeout=60).returncode != 0, 60, "the schedd down")
        caller.send_signal(signal.SIGCONT)
        try:
            time.sleep(5)
        finally:
            back = time.time()
            condor("condor_on", "-schedd")
        output, _ = caller.communicate(timeout=240)
    finally:
        caller.kill()
    print(f"[figure] schedd off for 5 s while a held job needed removing: run done "
          f"{time.monotonic() - stopped:.1f} s after condor_off; runs per task "
          f"{ {t: len(p) for t, p in sorted(runs_of(str(marks)).items())} }")
    assert caller.returncode == 0, output
    assert "RESULT [0, 1]" in output, output
    assert len(runs_of(str(marks))[int(job["task"])]) == 2, "the held task ran again"
    wait_until(lambda: jobs_of(shared) == [], 60, "an empty queue")
    assert batch_dirs(shared) == []
    cluster, proc = (int(x) for x in job["id"].split("."))
    (log,) = logs.glob("*/condor.log")
    (aborted,) = [e for e in parse_condor_event_log(log.read_text())
                  if e.code == 9 and (e.cluster, e.proc) == (cluster, proc)]
    when = time.mktime(time.strptime(" ".join(aborted.header.split()[2:4]),
                                     "%Y-%m-%d %H:%M:%S"))
    print(f"[figure] the held job {job['id']} was removed {when - back:.0f} s after condor_on")
    assert "retrying the task in a new job" in aborted.text
    assert when >= int(back), "removed before the schedd was back: no retry was needed"
