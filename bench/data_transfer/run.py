"""Data-transfer benchmark: bytes written to the shared dir and serialization time,
content store (ours) vs one full copy per task (the reference design).

    python bench/data_transfer/run.py [--megabytes 200] [--tasks 100] [--dir DIR]

Run with the package importable (installed, or PYTHONPATH pointing at a staged build).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import copying  # noqa: E402
import ours  # noqa: E402
import workload  # noqa: E402


def du(path: str) -> int:
    return sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(path) for f in files)


def measure(impl, X, y, n_tasks: int, base: str) -> dict:
    shared = tempfile.mkdtemp(prefix=impl.__name__ + "-", dir=base)
    try:
        start = time.perf_counter()
        written = impl.write_tasks(workload.make_tasks(X, y, n_tasks), shared)
        serialize_s = time.perf_counter() - start
        on_disk = du(shared)
        start = time.perf_counter()
        task = impl.load_task(shared, 0)
        load_s = time.perf_counter() - start
        score = workload.fit_and_score(task)
        return {"written": written, "on_disk": on_disk, "serialize_s": serialize_s,
                "load_s": load_s, "score": score}
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--dir", default=None, help="where to put the shared dirs (a real FS)")
    args = parser.parse_args()
    X, y = workload.make_dataset(args.megabytes)
    dataset = X.nbytes + y.nbytes
    print(f"dataset: X {X.shape} {X.dtype}, {dataset / 2**20:.1f} MiB; {args.tasks} tasks")
    results = {impl: measure(impl, X, y, args.tasks, args.dir) for impl in (ours, copying)}
    print(f"{'':32} {'written MiB':>12} {'x dataset':>10} {'serialize s':>12} "
          f"{'load 1 task s':>14}")
    for impl, r in results.items():
        print(f"{impl.NAME:32} {r['written'] / 2**20:12.1f} {r['written'] / dataset:10.3f} "
              f"{r['serialize_s']:12.2f} {r['load_s']:14.3f}")
    a, b = results[ours], results[copying]
    assert abs(a["score"] - b["score"]) < 1e-12, "both designs must compute the same thing"
    print(f"ratio copying/ours: bytes {b['written'] / a['written']:.1f}x, "
          f"serialize time {b['serialize_s'] / a['serialize_s']:.1f}x")
    print(f"ours on disk after the run: {a['on_disk'] / 2**20:.1f} MiB "
          f"({a['on_disk'] / dataset:.3f} x dataset)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
