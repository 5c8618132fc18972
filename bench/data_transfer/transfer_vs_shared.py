"""HTCondor file transfer (transfer="htcondor") against the shared filesystem, in one
run on the multi-node testbed (testbed/pool up --nodes 3: the nodes mount the shared
directory through sshfs, so both modes work there), rounds interleaved:

    testbed/pool run -- .venv/bin/python bench/data_transfer/transfer_vs_shared.py \
        [--rounds 2] [--megabytes 16] [--tasks 8]

Two workloads: the spec's first julearn example (iris, 3 folds; every buffer in-band)
and ``--tasks`` tasks each reading one shared ``--megabytes`` array (one blob). For each
run: the wall time and, from condor_history, the bytes HTCondor sent to each job and
received from it (the job ad's BytesRecvd, BytesSent). Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

import numpy as np
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor


def last_cluster() -> int:
    out = subprocess.run(["condor_history", "-limit", "1", "-af", "ClusterId"],
                         capture_output=True, text=True, check=True).stdout.split()
    queued = subprocess.run(["condor_q", "-allusers", "-af", "ClusterId"],
                            capture_output=True, text=True, check=True).stdout.split()
    return max([int(v) for v in out + queued], default=0)


def bytes_per_job(floor: int) -> list:
    """(bytes to the job, bytes back) of each finished job above ``floor``: the job ad's
    BytesRecvd (what the job received) and BytesSent (what it sent back)."""
    out = subprocess.run(
        ["condor_history", "-constraint",
         f'ClusterId > {floor} && regexp("^jhtc-", JobBatchName)',
         "-af", "BytesRecvd", "BytesSent"], capture_output=True, text=True, check=True).stdout
    return [tuple(float(v) for v in line.split()) for line in out.splitlines() if line.strip()]


def column_sum(array) -> float:
    return float(array.sum())


def julearn_spec_example():
    from julearn import run_cross_validation
    from julearn.pipeline import PipelineCreator
    from sklearn.datasets import load_iris
    from sklearn.model_selection import StratifiedKFold

    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "target"]
    creator = PipelineCreator(problem_type="classification")
    creator.add("zscore")
    creator.add("svm")
    return lambda: run_cross_validation(
        X=list(frame.columns[:4]), y="target", X_types={"continuous": [".*_.*"]},
        data=frame, model=creator, cv=StratifiedKFold(3, shuffle=True, random_state=0))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--megabytes", type=float, default=16)
    parser.add_argument("--tasks", type=int, default=8)
    parser.add_argument("--dir", default=os.environ.get("JHTC_TESTBED_SHARED", "."))
    args = parser.parse_args()
    register_htcondor("WARNING")
    array = np.random.default_rng(0).random(int(args.megabytes * 2**20 / 8))
    workloads = {
        "julearn spec example (iris)": julearn_spec_example(),
        f"{args.tasks} tasks x one {args.megabytes:g} MB array":
            lambda: Parallel(batch_size=1)(delayed(column_sum)(array) for _ in range(args.tasks)),
    }
    rows = {}
    for _ in range(args.rounds):
        for name, work in workloads.items():
            for mode in ("shared_filesystem", "htcondor"):
                with tempfile.TemporaryDirectory(dir=args.dir) as shared:
                    floor = last_cluster()
                    started = time.monotonic()
                    with parallel_config(backend="htcondor", n_jobs=-1, request_cpus=1,
                                         request_mem="1Gb", shared_data_dir=shared,
                                         transfer=mode):
                        work()
                    wall = time.monotonic() - started
                    time.sleep(2)  # the history file is written as the jobs leave the queue
                    jobs = bytes_per_job(floor)
                row = rows.setdefault((name, mode), {"wall": [], "sent": [], "recvd": []})
                row["wall"].append(wall)
                row["sent"] += [s for s, _ in jobs]
                row["recvd"] += [r for _, r in jobs]
    print("| workload | mode | wall (s, median of rounds) | jobs | bytes to a job (median) "
          "| bytes back (median) |")
    print("|---|---|---:|---:|---:|---:|")
    for (name, mode), row in rows.items():
        print(f"| {name} | {mode} | {statistics.median(row['wall']):.1f} "
              f"| {len(row['sent']) // args.rounds} | {statistics.median(row['sent'] or [0]):,.0f} "
              f"| {statistics.median(row['recvd'] or [0]):,.0f} |")


if __name__ == "__main__":
    main()
