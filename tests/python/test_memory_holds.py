"""Memory on the real pool: HTCondor's own policy (the testbed's
``use policy : Hold_If_Memory_Exceeded``) holds a job that uses more memory than it
asked for; the backend retries it asking for more, up to ``max_request_mem``, and the
journal and the monitor show the holds and the peak memory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError, register_htcondor
from test_faults_support import files_under, jobs_of, pool_config

register_htcondor()

pytestmark = [pytest.mark.htcondor, pytest.mark.timeout(300)]


def use_memory(megabytes: int, seconds: float) -> int:
    """Touches ``megabytes`` of memory and holds it long enough for the pool to see it
    (the procd measures every PROCD_MAX_SNAPSHOT_INTERVAL = 2 s on the testbed, the
    starter reports every STARTER_UPDATE_INTERVAL = 2 s; holds came 5 s after growth)."""
    block = bytearray(megabytes * 2**20)
    for at in range(0, len(block), 4096):
        block[at] = 1
    time.sleep(seconds)
    return len(block) // 2**20


def journal_events(shared) -> list[dict]:
    events = []
    for path in sorted((shared / "journal").glob("*/*.jsonl")):
        events += [json.loads(line) for line in path.read_text().splitlines()]
    return events


def held_by_the_pool(shared) -> list[tuple[int, int]]:
    """(HoldReasonCode, HoldReasonSubCode) of every hold (012 event) in the batches'
    event logs."""
    codes = []
    for log in (shared / "logs").rglob("condor.log"):
        for event in log.read_text().split("\n...\n"):
            if event.lstrip().startswith("012 "):
                codes += [tuple(int(n) for n in line.split()[1::2])
                          for line in event.splitlines() if line.strip().startswith("Code ")]
    return codes


def test_a_task_needing_600_mb_succeeds_after_escalated_retries(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    config = pool_config(shared, max_retries=0, request_mem="256Mb", memory_retry_factor=2,
                         max_request_mem="2Gb", export_metadata=True,
                         log_dir_prefix=str(shared / "logs"))
    started = time.monotonic()
    with parallel_config(backend="htcondor", **config):
        result = Parallel(n_jobs=2)(delayed(use_memory)(600, 15) for _ in range(1))
    print(f"[figure] 600 MB task with request_mem=256Mb: done in "
          f"{time.monotonic() - started:.1f} s")
    assert result == [600]  # and max_retries=0 was not spent on the memory holds

    # HTCondor's policy held the jobs (code 21, subcode 102), not a condor_hold (code 1).
    assert held_by_the_pool(shared) == [(21, 102), (21, 102)]
    events = journal_events(shared)
    retried = [e["context"] for e in events if e["name"] == "task_retried"]
    assert [(r["hold_code"], r["hold_subcode"], r["request_memory_mb"]) for r in retried] == \
        [(21, 102, 512), (21, 102, 1024)]
    assert all(r["usage"]["memory_mb"] > 256 for r in retried), retried
    done = [e["context"] for e in events if e["name"] == "task_done"]
    assert len(done) == 1
    assert done[0]["usage"]["memory_mb"] >= 600, done
    assert done[0]["usage"]["request_memory_mb"] == 1024, done
    assert done[0]["usage"]["alloc_memory_mb"] >= 1024, done
    assert done[0]["usage"]["wall_s"] >= 15, done
    started_event = next(e["context"] for e in events if e["name"] == "batch_started")
    assert started_event["request_memory_mb"] == 256

    summary = subprocess.run([sys.executable, "-m", "joblib_htcondor.ui", "--summary",
                              "--path", str(shared)], capture_output=True, text=True, timeout=60)
    assert summary.returncode == 0, summary.stderr
    print(summary.stdout)
    usage_row = next(line for line in summary.stdout.splitlines()
                     if line.startswith("L0") and "MB" in line)
    peak, _median, request = (int(n) for n in re.findall(r"(\d+) MB", usage_row))
    assert peak >= 600 and request == 256, usage_row
    assert usage_row.split()[-1] == "2", usage_row  # Mem holds
    assert "Hint: L0: 2 job(s) held for exceeding request_mem" in summary.stdout
    assert jobs_of(shared) == []


def test_a_task_above_the_ceiling_fails_naming_its_peak_and_the_ceiling(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    config = pool_config(shared, max_retries=3, request_mem="256Mb", memory_retry_factor=2,
                         max_request_mem="512Mb")
    with pytest.raises(JobFailedError) as failure, parallel_config(backend="htcondor", **config):
        Parallel(n_jobs=2)(delayed(use_memory)(700, 30) for _ in range(1))
    message = str(failure.value)
    print(f"[figure] above the ceiling: {message}")
    assert "HoldReasonCode 21, HoldReasonSubCode 102" in message
    peak = int(re.search(r"it used (\d+) MB at its peak", message).group(1))
    assert peak > 512, message
    assert "max_request_mem (the most a memory retry may ask for) is 512 MB" in message
    assert failure.value.attempts == 2  # 256 MB, then 512 MB: max_retries untouched
    assert jobs_of(shared) == []
    assert files_under(shared) == []
