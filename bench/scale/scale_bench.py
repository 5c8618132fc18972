"""N trivial tasks through joblib.Parallel (automatic batching) on the testbed pool:
what the submitting process pays as N grows (issue 18, point 3).

    testbed/pool run -- .venv/bin/python bench/scale/scale_bench.py --tasks 10000

Prints one JSON object: the makespan (wall time of the Parallel call, the rule of
bench/report.py), CPU seconds (user+system, all threads) and peak RSS of this
process, the same per task, the jobs HTCondor ran, the size of the run's journal
(export_metadata=True) and how long the monitor takes to summarise it from scratch
(`python -m joblib_htcondor.ui --path SHARED --summary`, median of 3: an upper
bound of one refresh, which reads only what was appended).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib_htcondor
from joblib import Parallel, delayed, parallel_config


def trivial(x: int) -> int:
    return x


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pool() -> str:
    return subprocess.run(["condor_config_val", "COLLECTOR_HOST"], capture_output=True,
                          text=True, check=True).stdout.strip()


def tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def monitor_summary_s(shared: Path) -> tuple[float, str]:
    times, text = [], ""
    for _ in range(3):
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "joblib_htcondor.ui", "--path", str(shared),
                               "--summary"], capture_output=True, text=True, timeout=600)
        times.append(time.monotonic() - started)
        if done.returncode != 0:
            raise RuntimeError(f"the monitor's --summary failed: {done.stderr.strip()[-300:]}")
        text = done.stdout
    return statistics.median(times), text


def jobs_in(log_dirs) -> int:
    """Jobs that terminated, from the batches' event logs (005 events)."""
    count = 0
    for log in log_dirs:
        with open(log, "rb") as stream:
            count += sum(1 for line in stream if line.startswith(b"005 ("))
    return count


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    args = parser.parse_args(argv)
    if args.tasks < 1:
        parser.error(f"--tasks: {args.tasks} is not a positive number of tasks")
    joblib_htcondor.register_htcondor("WARNING")
    base = Path(os.environ.get("JHTC_TESTBED_SHARED", tempfile.gettempdir()))
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="scale-bench-", dir=base) as tmp:
        shared, logs = Path(tmp) / "shared", Path(tmp) / "logs"
        cpu, started = cpu_seconds(), time.monotonic()
        with parallel_config(backend="htcondor", n_jobs=-1, pool=pool(),
                             shared_data_dir=str(shared), export_metadata=True,
                             log_dir_prefix=str(logs)):
            results = Parallel()(delayed(trivial)(i) for i in range(args.tasks))
        wall, cpu = time.monotonic() - started, cpu_seconds() - cpu
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if results != list(range(args.tasks)):
            print("error: wrong results", file=sys.stderr)
            return 1
        del results
        summary_s, summary = monitor_summary_s(shared)
        journal = shared / "journal"
        figures = {
            "case": "scale-auto", "tasks": args.tasks, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss, 1),
            "cpu_ms_per_task": round(cpu * 1000 / args.tasks, 3),
            "jobs": jobs_in(logs.glob("*/condor.log")),
            "journal_bytes": tree_bytes(journal), "journal_lines": sum(
                p.read_bytes().count(b"\n") for p in journal.rglob("*") if p.is_file()),
            "monitor_summary_s": round(summary_s, 3),
            "monitor_first_line": summary.strip().splitlines()[0] if summary.strip() else "",
            "load_average": [round(x, 2) for x in load],
        }
    print(json.dumps(figures), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
