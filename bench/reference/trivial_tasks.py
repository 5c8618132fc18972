"""The reference implementation (PyPI `joblib-htcondor`) on trivial tasks.

    testbed/pool run -- build/refvenv/bin/python bench/reference/trivial_tasks.py \
        --tasks 100 --poll-interval 5 [--json OUT]

Runs inside the testbed pool with the reference's own venv (bench/reference/setup
makes it; never the project's .venv, whose package has the same import name).
Measures, in this submitting process, what bench/submission/ measures for ours:
the makespan of N trivial tasks through joblib.Parallel(n_jobs=-1) (the wall time
of the Parallel call: bench/report.py's one rule; the reference has no automatic
batching, so one job per task at every setting), the CPU seconds (user+system,
all threads) and the peak RSS. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def trivial(x: int) -> int:
    return x


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--poll-interval", type=float, default=5,
                        help="the reference's poll_interval in seconds (default 5, its own; it "
                        "takes floats, and its watcher sleeps 0.1 s between checks, so 0.1 is "
                        "its shortest that changes anything)")
    parser.add_argument("--case", default=None,
                        help="the case name printed (default: reference-poll<INTERVAL>)")
    parser.add_argument("--json", help="also write the JSON object to this file")
    args = parser.parse_args(argv)

    import joblib
    import joblib_htcondor
    from joblib import Parallel, delayed, parallel_config

    if not hasattr(joblib_htcondor, "register_htcondor") or hasattr(joblib_htcondor, "HTCondorBackend"):
        print("error: this is not the reference package (run with build/refvenv/bin/python)",
              file=sys.stderr)
        return 2
    joblib_htcondor.register_htcondor("WARNING")
    base = Path(os.environ.get("JHTC_TESTBED_SHARED", tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="reference-bench-", dir=base) as tmp:
        # The checkout is read-only in the pool: the reference's logs (initial_dir/logs)
        # and task files go to the pool user's shared directory.
        load = os.getloadavg()
        cpu, started = cpu_seconds(), time.monotonic()
        with parallel_config(backend="htcondor", n_jobs=-1, request_cpus=1,
                             request_memory="128MB", request_disk="10MB",
                             poll_interval=args.poll_interval, initial_dir=tmp,
                             shared_data_dir=str(Path(tmp) / "shared")):
            results = Parallel()(delayed(trivial)(i) for i in range(args.tasks))
        wall = time.monotonic() - started
    if results != list(range(args.tasks)):
        print("error: wrong results from the reference", file=sys.stderr)
        return 1
    figures = {
        "case": args.case or f"reference-poll{args.poll_interval:g}", "tasks": args.tasks,
        "poll_interval_s": args.poll_interval, "wall_s": round(wall, 2),
        "cpu_s": round(cpu_seconds() - cpu, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "reference_version": getattr(joblib_htcondor, "__version__", "?"),
        "joblib_version": joblib.__version__,
        "load_average": [round(x, 2) for x in load],
    }
    print(json.dumps(figures), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
