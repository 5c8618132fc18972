"""Data-transfer benchmark: bytes written to the shared dir and serialization time,
content store (ours) vs one full copy per task (the copying design) vs the reference
implementation's own task files (PyPI joblib-htcondor, run in its venv).

    python bench/data_transfer/run.py [--megabytes 200] [--tasks 100] [--dir DIR] \
        [--refvenv build/refvenv] [--json OUT]

Run with the package importable (installed, or PYTHONPATH pointing at a staged build).
The reference part needs the venv of bench/reference/setup; without it, it is left out.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
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


def measure_reference(refvenv: str, megabytes: int, n_tasks: int, base) -> dict:
    """The reference's DelayedSubmission.dump, in its own venv (same import name as ours)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference.py")
    argv = [os.path.join(refvenv, "bin", "python"), script,
            "--site-packages", sysconfig.get_paths()["purelib"],
            "--megabytes", str(megabytes), "--tasks", str(n_tasks)]
    if base:
        argv += ["--dir", base]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


class _Reference:  # a name for the table, like the modules ours and copying
    NAME = "reference 0.2.3 (DelayedSubmission.dump)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--dir", default=None, help="where to put the shared dirs (a real FS)")
    parser.add_argument("--refvenv", default=os.path.join(os.path.dirname(__file__), "..", "..",
                                                          "build", "refvenv"))
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    X, y = workload.make_dataset(args.megabytes)
    dataset = X.nbytes + y.nbytes
    print(f"dataset: X {X.shape} {X.dtype}, {dataset / 2**20:.1f} MiB; {args.tasks} tasks")
    results = {impl: measure(impl, X, y, args.tasks, args.dir) for impl in (ours, copying)}
    if os.path.exists(os.path.join(args.refvenv, "bin", "python")):
        del X, y  # the reference's process makes its own copy of the dataset
        results[_Reference] = measure_reference(args.refvenv, args.megabytes, args.tasks, args.dir)
    else:
        print(f"reference: no venv at {args.refvenv} (bench/reference/setup makes it), left out")
    print(f"{'':42} {'written MiB':>12} {'x dataset':>10} {'serialize s':>12} "
          f"{'load 1 task s':>14}")
    for impl, r in results.items():
        print(f"{impl.NAME:42} {r['written'] / 2**20:12.1f} {r['written'] / dataset:10.3f} "
              f"{r['serialize_s']:12.2f} {r['load_s']:14.3f}")
    a = results[ours]
    for other in (copying, _Reference):
        if other in results:
            b = results[other]
            assert abs(a["score"] - b["score"]) < 1e-12, "every design must compute the same thing"
            print(f"ratio {other.NAME} / ours: bytes {b['written'] / a['written']:.1f}x, "
                  f"serialize time {b['serialize_s'] / a['serialize_s']:.1f}x")
    print(f"ours on disk after the run: {a['on_disk'] / 2**20:.1f} MiB "
          f"({a['on_disk'] / dataset:.3f} x dataset)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if args.json:
        keys = {ours: "ours", copying: "copying", _Reference: "reference"}
        with open(args.json, "w") as stream:
            json.dump({"dataset_bytes": dataset, "tasks": args.tasks, "designs": {
                keys[impl]: {k: v for k, v in r.items() if k != "score"} | {"name": impl.NAME}
                for impl, r in results.items()}}, stream, indent=1)


if __name__ == "__main__":
    main()
