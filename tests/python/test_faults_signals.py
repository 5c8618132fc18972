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


def hanging_condor_rm(base) -> tuple:
    """A condor_rm first on PATH that marks its start and then never answers (a
    schedd stuck behind a dead NFS mount, say)."""
    bin_dir = base / "hanging-bin"
    bin_dir.mkdir()
    started = base / "condor_rm.started"
    tool = bin_dir / "condor_rm"
    tool.write_text(f"#!/bin/sh\ntouch {started}\nexec sleep 600\n")
    tool.chmod(0o755)
    return bin_dir, started


def start_driver_with_path(base, shared, bin_dir):
    import os

    script = write_driver(base / "driver.py", shared, "nested")
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    return subprocess.Popen([sys.executable, str(script)], preexec_fn=default_sigint, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def remove_leftovers(shared) -> None:
    """The driver is dead: the cleanup command (real condor_rm) removes what it left."""
    subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path", str(shared)],
                   capture_output=True, text=True, timeout=120)
    wait_until(lambda: jobs_of(shared) == [], 60, "the leftover jobs removed")


@pytest.mark.htcondor
@pytest.mark.timeout(180)
def test_sigint_while_condor_rm_hangs_ends_within_the_abort_bound(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    bin_dir, rm_started = hanging_condor_rm(testbed_shared_dir)
    driver = start_driver_with_path(testbed_shared_dir, shared, bin_dir)
    try:
        wait_for_tree(shared)
        sent = time.monotonic()
        driver.send_signal(signal.SIGINT)
        try:
            code = driver.wait(60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the driver did not exit within 60 s of SIGINT:\n"
                        f"{stacks_then_kill(driver)}")
        exited = time.monotonic() - sent
        output = driver.stdout.read()
    finally:
        driver.kill()
        remove_leftovers(shared)
    print(f"[figure] SIGINT with a condor_rm that never answers: exited {code} after "
          f"{exited:.1f} s (abort bound: one condor_rm, 10 s timeout)")
    assert rm_started.exists(), "the handler never tried condor_rm"
    assert code in (-signal.SIGINT, 130, 1), output
    assert "RESULT" not in output
    assert "joblib_htcondor.cleanup --path" in output, output


@pytest.mark.htcondor
@pytest.mark.timeout(180)
def test_second_sigint_exits_at_once_naming_what_is_left_and_the_cleanup_command(
        testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    bin_dir, rm_started = hanging_condor_rm(testbed_shared_dir)
    driver = start_driver_with_path(testbed_shared_dir, shared, bin_dir)
    try:
        wait_for_tree(shared)
        batches = batch_dirs(shared)
        driver.send_signal(signal.SIGINT)
        wait_until(rm_started.exists, 30, "the first SIGINT's condor_rm running")
        sent = time.monotonic()
        driver.send_signal(signal.SIGINT)
        try:
            code = driver.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the second SIGINT did not end the driver:\n{stacks_then_kill(driver)}")
        exited = time.monotonic() - sent
        output = driver.stdout.read()
    finally:
        driver.kill()
        remove_leftovers(shared)
    print(f"[figure] second SIGINT: exited {code} {exited:.2f} s after it")
    assert code == 128 + signal.SIGINT, output
    assert "SIGINT again: exiting now" in output, output
    top = [b for b in batches if "-L0-" in b]
    assert top and all(b in output for b in top), (top, output)
    assert f"joblib_htcondor.cleanup --path {shared}" in output, output
