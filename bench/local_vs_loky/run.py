"""Local scheduler against loky: the same julearn cross-validation, in one run.

    .venv/bin/python bench/local_vs_loky/run.py [--workers 2] [--repeats 3] [--json OUT]

The workload is the specification's main job made bigger: julearn's
run_cross_validation of zscore + SVM with a hyperparameter grid (GridSearchCV
inside every outer fold), on synthetic data sized so that every joblib task (one
outer fold: a whole grid search) takes well over 100 ms. The outer folds are the
parallel tasks; nested calls run sequentially in both backends, so both do the
same work with the same number of workers.

Each repeat runs loky then local (loky's first repeat includes starting its
workers, as a user's first call would; later repeats reuse them, as loky does).
The makespan ratio is median(local) / median(loky); issue 18's target is <= 1.1.
The scores of the two backends must be equal, or the run fails.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

import numpy as np
import pandas as pd
from joblib import parallel_config
from julearn import run_cross_validation
from julearn.pipeline import PipelineCreator
from sklearn.datasets import make_classification
from sklearn.model_selection import KFold, RepeatedKFold

from joblib_htcondor import register_htcondor


def make_workload(n_samples: int, n_features: int):
    X, y = make_classification(n_samples=n_samples, n_features=n_features, n_informative=8,
                               random_state=0)
    columns = [f"f{i}" for i in range(n_features)]
    data = pd.DataFrame(X, columns=columns)
    data["target"] = y
    creator = PipelineCreator(problem_type="classification")
    creator.add("zscore")
    creator.add("svm", C=[0.1, 1, 10], gamma=[0.001, 0.01, 0.1])
    return data, columns, creator


def cross_validate_once(data, columns, creator, outer_splits: int, outer_repeats: int):
    outer = RepeatedKFold(n_splits=outer_splits, n_repeats=outer_repeats, random_state=1)
    return run_cross_validation(
        X=columns, y="target", X_types={"continuous": columns}, data=data, model=creator,
        cv=outer, search_params={"kind": "grid", "cv": KFold(3)},
    )


def timed(backend_config: dict, workload) -> tuple[float, np.ndarray]:
    with parallel_config(**backend_config):
        started = time.perf_counter()
        scores = cross_validate_once(*workload)
        return time.perf_counter() - started, scores["test_score"].to_numpy()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=400)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--outer-splits", type=int, default=5)
    parser.add_argument("--outer-repeats", type=int, default=2)
    parser.add_argument("--batch-size", default="auto",
                        help="batch_size of the local backend ('auto' or an int)")
    parser.add_argument("--json", help="write the figures to this file")
    args = parser.parse_args(argv)

    register_htcondor("WARNING")
    data, columns, creator = make_workload(args.samples, args.features)
    workload = (data, columns, creator, args.outer_splits, args.outer_repeats)
    shared = tempfile.mkdtemp(prefix="jhtc-bench-local-")
    batch_size = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    configs = {
        "loky": {"backend": "loky", "n_jobs": args.workers},
        "local": {"backend": "htcondor", "scheduler": "local", "n_jobs": args.workers,
                  "request_cpus": 1, "shared_data_dir": shared, "batch_size": batch_size},
    }
    # One task alone, sequentially: the size of a task.
    single = (data, columns, creator, 2, 1)
    started = time.perf_counter()
    cross_validate_once(*single)
    task_seconds = (time.perf_counter() - started) / 2

    times: dict[str, list[float]] = {name: [] for name in configs}
    reference = None
    for repeat in range(args.repeats):
        for name, config in configs.items():
            seconds, scores = timed(config, workload)
            times[name].append(seconds)
            if reference is None:
                reference = scores
            elif not np.allclose(scores, reference):
                print(f"error: {name} scores differ from loky's: {scores} vs {reference}",
                      file=sys.stderr)
                return 1
            print(f"repeat {repeat + 1}: {name:5s} {seconds:7.2f} s", flush=True)

    tasks = args.outer_splits * args.outer_repeats
    median = {name: statistics.median(values) for name, values in times.items()}
    ratio = median["local"] / median["loky"]
    result = {
        "workers": args.workers, "tasks": tasks, "task_seconds_sequential": task_seconds,
        "batch_size": args.batch_size, "seconds": times, "median_seconds": median,
        "ratio_local_over_loky": ratio, "target_ratio": 1.1, "met": ratio <= 1.1,
    }
    print(f"{tasks} tasks of about {task_seconds * 1000:.0f} ms each, {args.workers} workers: "
          f"loky {median['loky']:.2f} s, local {median['local']:.2f} s (medians of "
          f"{args.repeats}); makespan ratio local/loky = {ratio:.2f} (target <= 1.1)")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
