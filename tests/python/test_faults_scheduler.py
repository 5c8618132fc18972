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
