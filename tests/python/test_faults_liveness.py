"""Liveness of a batch whose pid means nothing here, on the real pool.

A nested batch runs inside a job. Seen from the submitting host, a batch in
another PID namespace (a container, a starter with PID namespaces) has a pid that
does not exist here. The testbed's jobs cannot get a namespace of their own (no
user namespaces in its chroot), so the test gives the real, live nested batch the
owner records such a batch would have: its pid replaced by a pid that does not
exist here, its PID-namespace inode by another one; its heartbeat stays live.
A new top-level batch in the same shared directory then runs its dead-run cleanup.
Before issue 14 that cleanup judged the nested batch dead by its pid: it removed
its jobs and deleted its files.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from joblib import Parallel, delayed, parallel_config
from test_faults_support import (
    batch_dirs,
    jobs_of,
    stacks_then_kill,
    wait_until,
    write_driver,
)


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def as_if_in_another_pid_namespace(shared: Path, batch_id: str) -> None:
    """Rewrites the identity line of a live batch's owner record as a batch in
    another PID namespace would have written it (the mtime, the heartbeat, kept)."""
    store_owner = shared / "store" / "refs" / batch_id / "owner"
    mtime = store_owner.stat().st_mtime
    first, rest = store_owner.read_text().split("\n", 1)
    host, _, ticks, boot_id, pidns = first.split()
    store_owner.write_text(f"{host} {dead_pid()} {ticks} {boot_id} {int(pidns) + 1}\n{rest}")
    os.utime(store_owner, (mtime, mtime))


@pytest.mark.htcondor
@pytest.mark.timeout(240)
def test_nested_batch_in_another_pid_namespace_survives_a_new_runs_cleanup(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    script = write_driver(testbed_shared_dir / "driver.py", shared, "nested")
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        nested_jobs = wait_until(lambda: [j for j in jobs_of(shared) if "/" in j["lineage"]],
                                 90, "a nested job in the queue")
        nested = wait_until(lambda: [b for b in batch_dirs(shared) if "-L1-" in b and (
            shared / "store" / "refs" / b / "owner").exists()], 30, "the nested batch's records")
        (nested_id,) = nested
        as_if_in_another_pid_namespace(shared, nested_id)
        # A new top-level batch in the same shared directory: its start cleans up
        # (the same recover() whatever the scheduler; local needs no free slot).
        with parallel_config(backend="htcondor", scheduler="local",
                             shared_data_dir=str(shared)):
            assert Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2)) == [0, 1]
        assert nested_id in batch_dirs(shared), "the live nested batch's files were deleted"
        assert (shared / "store" / "refs" / nested_id / "owner").exists()
        still = {j["id"] for j in jobs_of(shared)}
        assert {j["id"] for j in nested_jobs} <= still, (nested_jobs, still)
        assert driver.poll() is None, driver.communicate()[0]
    except BaseException:
        print(stacks_then_kill(driver))
        raise
    finally:
        driver.kill()
        driver.wait(30)
    subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path", str(shared)],
                   capture_output=True, text=True, timeout=120)
    wait_until(lambda: jobs_of(shared) == [], 60, "the killed run's jobs removed")
