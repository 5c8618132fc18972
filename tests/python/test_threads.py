"""Each job's numerical thread pools are capped: at joblib's inner_max_num_threads,
else at the job's request_cpus, on the local scheduler and on HTCondor alike.
threadpoolctl, inside the job, reports what the libraries really use."""

from __future__ import annotations

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor

register_htcondor()


def thread_limits() -> dict:
    """What threadpoolctl sees in the job: the largest num_threads per API."""
    import os

    import numpy  # noqa: F401  (loads its BLAS, which threadpoolctl then inspects)
    from threadpoolctl import threadpool_info

    limits: dict = {}
    for pool in threadpool_info():
        limits[pool["user_api"]] = max(limits.get(pool["user_api"], 0), pool["num_threads"])
    limits["OMP_NUM_THREADS"] = os.environ.get("OMP_NUM_THREADS")
    return limits


def run_in_jobs(shared, **config) -> list[dict]:
    with parallel_config(backend="htcondor", shared_data_dir=str(shared), poll_interval=0.1,
                         **config):
        return Parallel(n_jobs=2)(delayed(thread_limits)() for _ in range(2))


def blas_threads(limits: dict) -> int:
    assert "blas" in limits, f"threadpoolctl found no BLAS in the job: {limits}"
    return limits["blas"]


SCHEDULERS = ["local", pytest.param("htcondor", marks=pytest.mark.htcondor)]


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_inner_max_num_threads_caps_every_jobs_thread_pools(tmp_path, scheduler, request):
    shared = tmp_path if scheduler == "local" else request.getfixturevalue("testbed_shared_dir")
    results = run_in_jobs(shared, scheduler=scheduler, inner_max_num_threads=1, request_cpus=2)
    for limits in results:
        assert blas_threads(limits) == 1, limits
        assert limits["OMP_NUM_THREADS"] == "1"


@pytest.mark.parametrize("scheduler", SCHEDULERS)
def test_without_inner_max_num_threads_jobs_use_their_request_cpus(tmp_path, scheduler, request):
    # One CPU asked for: without the cap OpenBLAS would start one thread per core.
    shared = tmp_path if scheduler == "local" else request.getfixturevalue("testbed_shared_dir")
    results = run_in_jobs(shared, scheduler=scheduler, request_cpus=1)
    for limits in results:
        assert blas_threads(limits) == 1, limits
        assert limits["OMP_NUM_THREADS"] == "1"


def test_the_cap_is_request_cpus_rounded_up():
    from joblib_htcondor._job_description import thread_cap
    from joblib_htcondor._params import parse_params
    params = parse_params({"request_cpus": [2, 1.5]})
    assert [thread_cap(params, level, None) for level in (0, 1)] == [2, 2]
    assert thread_cap(params, 0, 3) == 3


def test_a_bad_inner_max_num_threads_names_it(tmp_path):
    with pytest.raises(ValueError, match="inner_max_num_threads must be a positive int"):
        run_in_jobs(tmp_path, scheduler="local", inner_max_num_threads=0)
