"""throttle_scope: "batch" (default) caps each parent's batch, "level" caps a
recursion level across every parent of one run, counted by the schedd itself."""

from __future__ import annotations

import threading
import time

import joblib_htcondor
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor._params import parse_params
from pool_helpers import condor, last_cluster, pool_address

joblib_htcondor.register_htcondor("WARNING")


def test_throttle_scope_defaults_to_batch():
    assert parse_params({}).throttle_scope == "batch"
    assert parse_params({"throttle_scope": "level"}).throttle_scope == "level"


@pytest.mark.parametrize("bad", ["run", "Level", "", None, 1])
def test_a_bad_throttle_scope_is_a_value_error_naming_it_and_the_accepted_values(bad):
    with pytest.raises(ValueError, match=r"throttle_scope must be one of \('batch', 'level'\)"):
        parse_params({"throttle_scope": bad})


def sleepy(x: int) -> int:
    time.sleep(2.0)
    return x


def parent(i: int) -> list:
    """A level-0 job that runs 4 children through the nested (level-1) backend."""
    return Parallel(batch_size=1)(delayed(sleepy)(10 * i + j) for j in range(4))


class LevelSampler:
    """Counts, every 0.3 s, the level-1 jobs above a cluster id that are idle,
    running or held, as the schedd reports them. A failed condor_q stops the sampling
    and fails the test when the ``with`` block ends (a sampler thread cannot fail it)."""

    def __init__(self, cluster_floor: int):
        self.constraint = (f"ClusterId > {cluster_floor} && JhtcLevel =?= 1 && "
                           "(JobStatus == 1 || JobStatus == 2 || JobStatus == 5)")
        self.samples: list = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            while not self._stop.is_set():
                out = condor("condor_q", "-constraint", self.constraint, "-af", "ProcId")
                self.samples.append(len(out.split()))
                self._stop.wait(0.3)
        except BaseException as error:  # pytest.fail raises a BaseException
            self.error = error

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error


@pytest.mark.htcondor
@pytest.mark.timeout(600)
def test_level_scope_caps_a_level_across_all_parents_of_the_run(testbed_shared_dir):
    floor = last_cluster()
    # 2 parents + a level cap of 2 fit the 4-slot pool; scope "batch" would allow 2 x 2
    with parallel_config(backend="htcondor", n_jobs=-1, pool=pool_address(), batch_size=1,
                         shared_data_dir=str(testbed_shared_dir / "data"),
                         max_recursion_level=1, throttle=[2, 2], throttle_scope="level"):
        with LevelSampler(floor) as sampler:
            results = Parallel()(delayed(parent)(i) for i in range(2))
    assert results == [[10 * i + j for j in range(4)] for i in range(2)]
    assert max(sampler.samples) == 2, sampler.samples  # reached, never exceeded
