"""Helpers of the integration tests that run joblib through the testbed pool:
the pool's address, condor_history queries, and job counts from an event log."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from conftest import parse_condor_event_log

# Event codes: 000 submitted, 005 terminated, 009 aborted.
SUBMITTED, TERMINATED, ABORTED = 0, 5, 9


def condor(*args: str, timeout: float = 120) -> str:
    """Runs an HTCondor tool; a non-zero exit fails the test with its output."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def pool_address() -> str:
    """The testbed collector, as the spec's ``pool=`` parameter takes it."""
    return condor("condor_config_val", "COLLECTOR_HOST").strip()


def batch_names_since(cluster_floor: int, prefix: str = "jhtc-") -> dict:
    """JobBatchName -> number of jobs, for finished jobs of clusters above
    ``cluster_floor`` whose batch name starts with ``prefix``."""
    out = condor("condor_history", "-constraint",
                 f"ClusterId > {cluster_floor} && "
                 f'substr(JobBatchName, 0, {len(prefix)}) =?= "{prefix}"',
                 "-af", "JobBatchName")
    counts: dict = {}
    for name in out.split():
        counts[name] = counts.get(name, 0) + 1
    return counts


def last_cluster() -> int:
    """The highest cluster id the schedd has handed out so far (queue or history)."""
    ids = [int(v) for v in condor("condor_q", "-allusers", "-af", "ClusterId").split()]
    # History lists jobs by the time they left, not by id: a job removed last (a
    # test's bystander) may be older than jobs that left just before it.
    ids += [int(v) for v in condor("condor_history", "-limit", "200", "-af", "ClusterId").split()]
    return max(ids, default=0)


def wait_for_history(cluster_floor: int, expected_jobs: int, prefix: str = "jhtc-",
                     timeout: float = 60) -> dict:
    """batch_names_since() once it holds ``expected_jobs`` jobs (history lags the queue)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = batch_names_since(cluster_floor, prefix)
        if sum(counts.values()) >= expected_jobs or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)


def most_jobs_in_scheduler(event_log: Path) -> int:
    """The most jobs of this log that were at once idle, running or held: submitted
    (000) and not yet terminated (005) or aborted (009), replayed in log order."""
    active, most = set(), 0
    for event in parse_condor_event_log(event_log.read_text()):
        job = (event.cluster, event.proc)
        if event.code == SUBMITTED:
            active.add(job)
        elif event.code in (TERMINATED, ABORTED):
            active.discard(job)
        most = max(most, len(active))
    return most


def event_logs(log_dir_prefix: Path) -> dict:
    """batch_id -> its event log, for every batch that kept its logs under log_dir_prefix."""
    return {path.parent.name: path for path in sorted(log_dir_prefix.glob("*/condor.log"))}
