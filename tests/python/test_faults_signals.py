"""Signals to the submitting process, on the real pool: SIGTERM, SIGINT, condor_rm.

The submitting process runs a nested computation (two outer jobs, each waiting
for one job of its own). The signal must take every job of the tree out of the
queue and the run's directories off the disk, and the process must then end the
way its parent expects (killed by SIGTERM; KeyboardInterrupt for SIGINT).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from test_faults_support import (
    batch_dirs,
    condor,
    default_sigint,
    jobs_of,
    stacks_then_kill,
    wait_until,
    write_driver,
)


def start_driver(base, shared):
    script = write_driver(base / "driver.py", shared, "nested")
    return subprocess.Popen([sys.executable, str(script)], preexec_fn=default_sigint,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_for_tree(shared, timeout=90):
    """Until a job of level 1 (lineage with a '/') is in the queue."""
    return wait_until(lambda: [j for j in jobs_of(shared) if "/" in j["lineage"]], timeout,
                      "a nested job in the queue")


@pytest.mark.htcondor
@pytest.mark.timeout(180)
@pytest.mark.parametrize("signum, expected", [(signal.SIGTERM, (-signal.SIGTERM,)),
                                              (signal.SIGINT, (-signal.SIGINT, 130, 1))])
def test_signal_removes_every_job_of_the_tree_and_the_files(testbed_shared_dir, signum, expected):
    shared = testbed_shared_dir / "data"
    driver = start_driver(testbed_shared_dir, shared)
    try:
        wait_for_tree(shared)
        before = jobs_of(shared)
        sent = time.monotonic()
        driver.send_signal(signum)
        try:
            code = driver.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the driver did not exit within 60 s of {signum!r}:\n"
                        f"{stacks_then_kill(driver)}")
        exited = time.monotonic() - sent
        gone = wait_until(lambda: jobs_of(shared) == [] and time.monotonic(), 60,
                          "every job of the run out of the queue")
    finally:
        driver.kill()
    output = driver.stdout.read()
    print(f"[figure] {signum.name}: {len(before)} jobs queued; process exited {code} after "
          f"{exited:.1f} s; queue empty {gone - sent:.1f} s after the signal")
    assert code in expected, output
    assert "RESULT" not in output
    assert batch_dirs(shared) == [], output


SUBMIT = """
universe = vanilla
executable = {python}
arguments = "{script}"
getenv = True
output = {base}/driver.out
error = {base}/driver.err
log = {base}/driver.log
queue
"""


@pytest.mark.htcondor
@pytest.mark.timeout(180)
def test_condor_rm_of_a_submitting_job_removes_its_children(testbed_shared_dir):
    base, shared = testbed_shared_dir, testbed_shared_dir / "data"
    script = write_driver(base / "driver.py", shared, "nested")
    (base / "driver.sub").write_text(SUBMIT.format(python=sys.executable, script=script,
                                                   base=base))
    cluster = condor("condor_submit", "-terse", str(base / "driver.sub")).split(".")[0]
    try:
        wait_for_tree(shared, timeout=120)
        before = jobs_of(shared)
        sent = time.monotonic()
        condor("condor_rm", cluster)
        gone = wait_until(lambda: jobs_of(shared) == [] and time.monotonic(), 60,
                          "the children of the removed job out of the queue")
    finally:
        condor("condor_rm", cluster, check=False)
    wait_until(lambda: batch_dirs(shared) == [], 30, "the run's batch directories removed")
    print(f"[figure] condor_rm of the submitting job: {len(before)} child jobs gone "
          f"{gone - sent:.1f} s later")
    err = (base / "driver.err").read_text() if (base / "driver.err").exists() else ""
    assert "RESULT" not in ((base / "driver.out").read_text()
                            if (base / "driver.out").exists() else ""), err
