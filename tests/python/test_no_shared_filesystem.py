"""A pool whose execute nodes do not mount the shared directory
(``testbed/pool up --nodes 2 --no-shared-on-nodes``): a run in the default mode,
transfer="shared_filesystem", must fail there, quickly and saying why and naming
transfer="htcondor" (tests/python/test_file_transfer.py), instead of leaving the
user with HTCondor's bare "No such file or directory"."""

from __future__ import annotations

import os

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError, register_htcondor

register_htcondor()

pytestmark = [
    pytest.mark.htcondor,
    pytest.mark.multinode,
    pytest.mark.timeout(300),
    pytest.mark.skipif(os.environ.get("JHTC_TESTBED_SHARED_ON_NODES") != "no",
                       reason="needs execute nodes without the shared directory: "
                       "testbed/pool up --nodes 2 --no-shared-on-nodes"),
]


def test_a_pool_without_a_shared_filesystem_fails_naming_shared_data_dir(testbed_shared_dir):
    with parallel_config(backend="htcondor", n_jobs=2, shared_data_dir=str(testbed_shared_dir),
                         request_mem="100MB"):
        with pytest.raises(JobFailedError) as raised:
            Parallel()(delayed(abs)(-i) for i in range(2))
    message = str(raised.value)
    assert "No such file or directory" in message  # HTCondor's own reason stays
    assert str(testbed_shared_dir) in message
    assert "shared_data_dir must be on a filesystem" in message
    assert "file-transfer mode" in message
    assert 'transfer="htcondor"' in message
