"""request_gpus on the real pool, which has no GPU: the job stays idle, and after
max_idle_unmatched the call fails with condor_q -better-analyze's words instead of
waiting forever."""

from __future__ import annotations

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError, register_htcondor
from test_faults_support import files_under, jobs_of, pool_config

register_htcondor()


@pytest.mark.htcondor
@pytest.mark.timeout(240)
def test_a_gpu_request_the_pool_cannot_match_fails_with_the_reason(testbed_shared_dir):
    shared = testbed_shared_dir / "data"
    config = pool_config(shared, request_gpus=1, max_idle_unmatched=20)
    with pytest.raises(JobFailedError) as failure, parallel_config(backend="htcondor", **config):
        Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2))
    message = str(failure.value)
    print(f"[figure] unmatched: {message}")
    assert "matched no machine of the pool for 20 s" in message
    assert "no slot meets TARGET.GPUs >= RequestGPUs" in message
    assert "No machines matched the jobs's constraints" in message
    assert failure.value.attempts == 1  # no retry: the same request matches nothing
    assert jobs_of(shared) == []
    assert files_under(shared) == []
