"""The htcondor backend on the real testbed pool (4 slots): batch names in
condor_history, the throttle as the event log shows it, recursion, and 1000
tiny tasks in joblib's automatic batching.

Run with ``testbed/pool run -- .venv/bin/python -m pytest -m htcondor
tests/python/test_htcondor_backend.py``.
"""

from __future__ import annotations

import time

import joblib_htcondor
import pytest
from joblib import Parallel, delayed, parallel_config
from pool_helpers import (
    event_logs,
    last_cluster,
    most_jobs_in_scheduler,
    pool_address,
    wait_for_history,
)
from pool_tasks import slow_square, tiny
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.svm import SVC

joblib_htcondor.register_htcondor("WARNING")


def htcondor_config(shared, **params):
    return parallel_config(backend="htcondor", n_jobs=-1, pool=pool_address(),
                           shared_data_dir=str(shared / "data"), **params)


@pytest.mark.htcondor
@pytest.mark.timeout(300)
def test_jobs_appear_in_condor_history_under_their_batch_name(testbed_shared_dir):
    floor = last_cluster()
    with htcondor_config(testbed_shared_dir, batch_size=1):
        results = Parallel()(delayed(slow_square)(i) for i in range(6))
    assert results == [i * i for i in range(6)]
    counts = wait_for_history(floor, 6, prefix="jhtc-L0-")
    assert len(counts) == 1, counts  # one Parallel call, one batch
    (name, jobs), = counts.items()
    assert jobs == 6
    assert name.startswith("jhtc-L0-") and "-L0-" in name[len("jhtc-L0-"):]


@pytest.mark.htcondor
@pytest.mark.timeout(300)
def test_throttle_two_never_has_more_than_two_jobs_in_the_scheduler(testbed_shared_dir):
    logs = testbed_shared_dir / "logs"
    with htcondor_config(testbed_shared_dir, throttle=2, batch_size=1, log_dir_prefix=str(logs)):
        results = Parallel()(delayed(slow_square)(i) for i in range(10))
    assert results == [i * i for i in range(10)]
    (event_log,) = event_logs(logs).values()
    # equality, not <=: the pool has 4 slots, so a throttle that works reaches 2
    assert most_jobs_in_scheduler(event_log) == 2


@pytest.mark.htcondor
@pytest.mark.timeout(600)
def test_recursion_runs_inner_folds_as_level_one_jobs_with_equal_results(testbed_shared_dir):
    X, y = load_iris(return_X_y=True)
    search = GridSearchCV(SVC(), {"C": [0.1, 1.0]}, cv=2)
    outer = KFold(2, shuffle=True, random_state=0)
    expected = cross_validate(search, X, y, cv=outer)["test_score"]
    floor = last_cluster()
    logs = testbed_shared_dir / "logs"
    # throttle=[2, 4] fits the 4-slot pool: 2 waiting parents leave 2 slots to children
    with htcondor_config(testbed_shared_dir, max_recursion_level=1, throttle=[2, 4],
                         log_dir_prefix=str(logs)):
        got = cross_validate(search, X, y, cv=outer)["test_score"]
    assert list(got) == list(expected)
    counts = wait_for_history(floor, 2 + 2 * 4, prefix="jhtc-L")
    level1 = {name: n for name, n in counts.items() if name.startswith("jhtc-L1-")}
    assert len(level1) == 2, counts  # one inner batch per outer fold
    assert sum(level1.values()) >= 2 * 4  # 2 candidates x 2 inner folds each, batched or not
    for batch_id, log in event_logs(logs).items():
        assert most_jobs_in_scheduler(log) <= (2 if "-L0-" in batch_id else 4), batch_id


@pytest.mark.htcondor
@pytest.mark.timeout(900)
def test_tiny_tasks_are_grouped_unless_batch_size_is_one(testbed_shared_dir):
    # Also the tier's test of many tasks through one Parallel call (the benchmarks'
    # scale case goes to 100,000 on the same pool).
    floor = last_cluster()
    started = time.monotonic()
    with htcondor_config(testbed_shared_dir):
        assert Parallel()(delayed(tiny)(i) for i in range(1000)) == [i + 1 for i in range(1000)]
    took = time.monotonic() - started
    first = wait_for_history(floor, 1, prefix="jhtc-L0-")
    grouped = sum(first.values())
    print(f"1000 trivial tasks through Parallel: {took:.1f} s in {grouped} jobs")
    # joblib grows batches until one job runs MIN_IDEAL_BATCH_DURATION (2 s)
    assert grouped < 200, grouped

    floor = last_cluster()
    with htcondor_config(testbed_shared_dir, batch_size=1):
        assert Parallel()(delayed(tiny)(i) for i in range(12)) == [i + 1 for i in range(12)]
    # a job of the first call may reach the history late, above the new floor
    counts = wait_for_history(floor, 12, prefix="jhtc-L0-")
    assert [n for name, n in counts.items() if name not in first] == [12], counts


def test_parallel_with_one_job_makes_no_batch(tmp_path):
    # joblib runs n_jobs=1 sequentially and never calls terminate(): a batch made
    # by configure() would leak its engine threads (a worker aborted at exit).
    from joblib_htcondor._backend import HTCondorBackend

    backend = HTCondorBackend(scheduler="local", shared_data_dir=str(tmp_path))
    assert backend.configure(n_jobs=1) == 1
    assert backend._batch is None
    with parallel_config(backend="htcondor", scheduler="local", shared_data_dir=str(tmp_path)):
        assert Parallel(n_jobs=1)(delayed(tiny)(i) for i in range(3)) == [1, 2, 3]
    batches = tmp_path / "batches"
    assert not batches.exists() or not any(batches.iterdir())
