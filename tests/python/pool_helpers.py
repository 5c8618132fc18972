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


def finished_jobs_since(cluster_floor: int, shared_data_dir: Path, prefix: str = "jhtc-",
                        timeout: float = 60) -> list:
    """Every job of clusters above ``cluster_floor`` whose batch name starts with ``prefix``
    and whose task file lies under ``shared_data_dir`` (so only this test's runs), read from
    condor_history once none of them is left in the queue: dicts with "id", "level"
    (JhtcLevel), "batch_name" and "lineage" (JhtcLineage). A tool failing, a line that is
    not one job, or jobs still queued after ``timeout`` fail the test."""
    constraint = (f"ClusterId > {cluster_floor} && "
                  f'substr(JobBatchName, 0, {len(prefix)}) =?= "{prefix}" && '
                  f'regexp("{shared_data_dir}/", Arguments)')
    deadline = time.monotonic() + timeout
    while queued := condor("condor_q", "-constraint", constraint, "-af", "ClusterId").split():
        if time.monotonic() > deadline:
            pytest.fail(f"{len(queued)} jobs still in the queue after {timeout:.0f} s")
        time.sleep(0.5)
    out = condor("condor_history", "-constraint", constraint, "-af:,", "ClusterId", "ProcId",
                 "JhtcLevel", "JobBatchName", "JhtcLineage")
    jobs = []
    for line in out.splitlines():
        parts = [part.strip() for part in line.split(",")]  # -af:, joins with ", "
        if len(parts) != 5 or not all(p.isdigit() for p in parts[:3]):
            pytest.fail(f"condor_history printed a line that is not a job: {line!r}\n{out}")
        jobs.append({"id": f"{parts[0]}.{parts[1]}", "level": int(parts[2]),
                     "batch_name": parts[3], "lineage": parts[4]})
    return jobs


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
