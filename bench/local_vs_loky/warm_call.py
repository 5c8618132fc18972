"""A warm Parallel call on the local scheduler against loky, in one run.

    .venv/bin/python bench/local_vs_loky/warm_call.py [--repeats 3] [--calls 20] [--json OUT]

What a second Parallel call costs: 4 trivial tasks with n_jobs=2, after a first call
has started loky's workers (or the local scheduler's fork server). Each repeat times
one first (cold) call then `--calls` warm calls of each backend, loky then local,
interleaved; a repeat's figure is the median of its warm calls, and the result the
median of the repeats. numpy is
imported first, as by any scikit-learn user (the fork server preloads it). Issue 18's
target: local <= 0.1 s (loky: 0.011 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy  # noqa: F401  (what the fork server preloads for a scikit-learn user)
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor

TARGET_S = 0.1


def trivial(i):
    return i * 2


def timed_calls(config: dict, calls: int) -> tuple[float, list[float]]:
    """The first call's seconds (loky's workers or the fork server may be started by an
    earlier repeat already), then each warm call's."""
    seconds = []
    with parallel_config(**config):
        started = time.perf_counter()
        Parallel()(delayed(trivial)(i) for i in range(4))  # warms it up
        first = time.perf_counter() - started
        for _ in range(calls):
            started = time.perf_counter()
            out = Parallel()(delayed(trivial)(i) for i in range(4))
            seconds.append(time.perf_counter() - started)
            assert out == [0, 2, 4, 6], out
    return first, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    register_htcondor("WARNING")
    shared = tempfile.mkdtemp(prefix="jhtc-bench-warm-")
    configs = {
        "loky": {"backend": "loky", "n_jobs": 2},
        "local": {"backend": "htcondor", "scheduler": "local", "n_jobs": 2, "request_cpus": 1,
                  "shared_data_dir": shared},
    }
    medians: dict[str, list[float]] = {name: [] for name in configs}
    cold: dict[str, list[float]] = {name: [] for name in configs}
    for repeat in range(args.repeats):
        for name, config in configs.items():
            first, seconds = timed_calls(config, args.calls)
            cold[name].append(first)
            medians[name].append(statistics.median(seconds))
            print(f"repeat {repeat + 1}: {name:5s} {medians[name][-1]:.3f} s", flush=True)
    median = {name: statistics.median(values) for name, values in medians.items()}
    result = {
        "tasks": 4, "n_jobs": 2, "calls_per_repeat": args.calls, "repeats": args.repeats,
        "repeat_medians_s": medians, "median_s": median, "cold_s": cold,
        "ratio_local_over_loky": median["local"] / median["loky"],
        "target_s": TARGET_S, "met": median["local"] <= TARGET_S,
        "load_average": os.getloadavg(),
    }
    print(f"warm call of 4 trivial tasks, n_jobs=2: loky {median['loky']:.3f} s, local "
          f"{median['local']:.3f} s (medians of {args.repeats}; target local <= {TARGET_S} s; "
          f"load average {os.getloadavg()[0]:.1f})")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
