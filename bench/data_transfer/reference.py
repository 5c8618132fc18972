"""The reference implementation's own task files (PyPI joblib-htcondor 0.2.3).

    build/refvenv/bin/python bench/data_transfer/reference.py --site-packages DIR \
        [--megabytes 200] [--tasks 100] [--dir DIR]

The reference wraps what joblib hands its backend in a ``DelayedSubmission`` and
writes it with ``DelayedSubmission.dump`` (cloudpickle under a flufl lock), one
``task-<n>.pickle`` per task, from its watcher thread (backend.py ``_watcher``);
the file goes when the task's result has been read. This runs that very code, so
it must run with the reference's venv (both packages import as joblib_htcondor);
``--site-packages`` (the project venv's) is appended to sys.path for numpy and
scikit-learn only, which the reference's venv does not have. Prints one JSON
object with the same fields as run.py's other designs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time


def measure(megabytes: int, n_tasks: int, base) -> dict:
    import workload
    from joblib_htcondor.delayed_submission import DelayedSubmission

    X, y = workload.make_dataset(megabytes)  # noqa: N806 (scikit-learn's name)
    shared = tempfile.mkdtemp(prefix="reference-", dir=base)
    try:
        written = 0
        first = os.path.join(shared, "task-0.pickle")
        start = time.perf_counter()
        for i, task in enumerate(workload.make_tasks(X, y, n_tasks)):
            path = os.path.join(shared, f"task-{i}.pickle")
            # joblib hands the reference a BatchedCalls; with its batch_size=1 that
            # is one call: the same bytes as (func, task) give or take a few dozen.
            if not DelayedSubmission(workload.fit_and_score, task).dump(path):
                raise RuntimeError(f"the reference could not write {path}")
            written += os.path.getsize(path)
            if i > 0:
                os.unlink(path)  # all of them would fill the disk (100 x 200 MB)
        serialize_s = time.perf_counter() - start
        start = time.perf_counter()
        loaded = DelayedSubmission.load(first)
        load_s = time.perf_counter() - start
        loaded.run()
        return {"written": written, "task_file_bytes": os.path.getsize(first),
                "serialize_s": serialize_s, "load_s": load_s, "score": loaded.result(),
                "dataset_bytes": X.nbytes + y.nbytes}
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site-packages", required=True)
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--dir", default=None)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.path.append(args.site_packages)  # after the reference's own packages
    import joblib_htcondor

    ours = hasattr(joblib_htcondor, "HTCondorBackend")
    if ours or not hasattr(joblib_htcondor, "register_htcondor"):
        sys.exit("error: this is not the reference package (run with build/refvenv/bin/python)")
    figures = measure(args.megabytes, args.tasks, args.dir)
    figures["reference_version"] = getattr(joblib_htcondor, "__version__", "?")
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()
