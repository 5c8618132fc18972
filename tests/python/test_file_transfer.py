"""transfer="htcondor": HTCondor's file transfer moves each job's files, for pools
without a shared filesystem (docs/data-transfer.md, "No shared filesystem").

The pool tests run on execute nodes that do not mount the shared directory
(``testbed/pool up --nodes 2 --no-shared-on-nodes``): what a job reads, HTCondor
must have brought to its scratch directory, and its result must come back the
same way. The parameter tests need no pool.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError, _core, register_htcondor
from pool_helpers import condor, last_cluster
from sklearn.datasets import load_iris
from sklearn.model_selection import StratifiedKFold
from test_spec_examples import SPEC_BLOCKS, run, scores_of, simple_creator

register_htcondor()



def on_nodes_without_shared_dir(test):
    for mark in (pytest.mark.htcondor, pytest.mark.multinode,
                 pytest.mark.skipif(os.environ.get("JHTC_TESTBED_SHARED_ON_NODES") != "no",
                                    reason="needs execute nodes without the shared directory: "
                                    "testbed/pool up --nodes 2 --no-shared-on-nodes")):
        test = mark(test)
    return test


# --- parameters (no pool) ---------------------------------------------------------

@pytest.mark.parametrize("bad", ["HTCondor", "shared", True, None])
def test_a_bad_transfer_value_names_the_parameter_and_what_is_accepted(bad):
    with pytest.raises(ValueError) as raised:
        with parallel_config(backend="htcondor", transfer=bad):
            pass
    message = str(raised.value)
    assert message.startswith("transfer must be one of ('shared_filesystem', 'htcondor')")
    assert repr(bad) in message


def test_recursion_is_refused_in_file_transfer_mode_naming_the_mode():
    with pytest.raises(ValueError) as raised:
        with parallel_config(backend="htcondor", transfer="htcondor", max_recursion_level=1):
            pass
    message = str(raised.value)
    assert 'max_recursion_level must be 0 with transfer="htcondor", not 1' in message
    assert 'transfer="shared_filesystem"' in message


def test_the_local_scheduler_and_initial_dir_are_refused_in_file_transfer_mode():
    with pytest.raises(ValueError, match='transfer="htcondor" needs scheduler="htcondor"'):
        with parallel_config(backend="htcondor", transfer="htcondor", scheduler="local"):
            pass
    with pytest.raises(ValueError, match='initial_dir must not be set with transfer="htcondor"'):
        with parallel_config(backend="htcondor", transfer="htcondor", initial_dir="/tmp"):
            pass


def test_a_job_of_a_transfer_batch_cannot_start_htcondor_batches(monkeypatch):
    monkeypatch.setenv("JOBLIB_HTCONDOR_TRANSFER", "htcondor")  # as the worker's environment
    with pytest.raises(ValueError, match="cannot start htcondor batches of its own"):
        with parallel_config(backend="htcondor"):
            pass


# --- on the pool ------------------------------------------------------------------

def jobs_of(shared_dir, floor: int, *attributes: str) -> list:
    """``attributes`` of every finished job above ``floor`` whose initialdir is
    ``shared_dir`` (this test's runs), from condor_history; a tool failing fails."""
    constraint = f'ClusterId > {floor} && Iwd == "{shared_dir}"'
    out = condor("condor_history", "-constraint", constraint, "-af:t", *attributes)
    rows = [line.split("\t") for line in out.splitlines() if line.strip()]
    assert all(len(row) == len(attributes) for row in rows), out
    return rows


@pytest.fixture(scope="module")
def iris():  # as test_spec_examples' fixture
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "target"]
    return list(frame.columns[:4]), "target", frame, StratifiedKFold(3, shuffle=True,
                                                                      random_state=0)


@on_nodes_without_shared_dir
@pytest.mark.timeout(600)
def test_spec_example_gives_the_sequential_scores_without_a_shared_filesystem(
        iris, testbed_shared_dir):
    """The spec's first block, on nodes that see none of the data. (Its recursive
    blocks need max_recursion_level=1, refused in this mode: see above.)"""
    expected = scores_of(run(iris, simple_creator()))
    floor = last_cluster()
    shared = testbed_shared_dir / "data"
    with parallel_config(backend="htcondor", transfer="htcondor", shared_data_dir=str(shared),
                         **dict(SPEC_BLOCKS)["massively parallelizing"]):
        scores = run(iris, simple_creator())
    pd.testing.assert_frame_equal(scores_of(scores), expected)
    # BytesRecvd: what the job received (its inputs); BytesSent: what it sent back
    jobs = jobs_of(shared, floor, "ShouldTransferFiles", "TransferInput", "TransferOutput",
                   "BytesRecvd", "BytesSent")
    assert len(jobs) >= 3, jobs  # at least the outer folds ran as jobs
    for should, inputs, outputs, to_job, back in jobs:
        assert should == "YES"
        # the task file's directory, which then holds only the result (see the last test)
        assert outputs.startswith("batches/") and outputs.endswith("/tasks"), outputs
        assert inputs.split(",")[0].startswith(".keys/"), inputs
        print(f"job: {float(to_job):.0f} bytes to the node, {float(back):.0f} back")


def double(array, other):
    return array * 2 + other[:1]


@on_nodes_without_shared_dir
@pytest.mark.timeout(300)
def test_a_grouped_job_gets_each_blob_once_and_large_results_come_back(testbed_shared_dir):
    """Four calls per job, each with its own copy of one array (the same content,
    so one blob) and one shared array: each job's TransferInput (the job ad, as
    HTCondor ran it) lists the key, the task file and the two blobs, once each."""
    shared = testbed_shared_dir / "data"
    x = np.arange(40_000, dtype=np.float64)  # 320 kB: out of band, a blob
    y = np.ones(20_000)
    floor = last_cluster()
    with parallel_config(backend="htcondor", transfer="htcondor", shared_data_dir=str(shared),
                         n_jobs=2, request_mem="500MB"):
        # pre_dispatch="all": joblib then groups the 8 calls 4 and 4 (see its dispatch)
        results = Parallel(batch_size=4, pre_dispatch="all")(
            delayed(double)(x.copy(), y) for _ in range(8))
    for result in results:  # 320 kB each: in the result file, not a blob left on the node
        np.testing.assert_array_equal(result, x * 2 + 1)
    jobs = jobs_of(shared, floor, "TransferInput", "JhtcTask")
    assert len(jobs) == 2, jobs  # 8 calls in groups of 4
    x_blob = _core.sha256_digest(x).removeprefix("sha256-")
    y_blob = _core.sha256_digest(y).removeprefix("sha256-")
    for inputs, task in jobs:
        entries = inputs.split(",")
        assert len(entries) == len(set(entries)) == 4, inputs
        assert sum(e.endswith("/" + x_blob) for e in entries) == 1, inputs
        assert sum(e.endswith("/" + y_blob) for e in entries) == 1, inputs
        assert "batches/" in inputs and inputs.count(".task") == 1, inputs
        assert any(e.endswith(f"/{task}.task") for e in entries), inputs


def exit_without_result(_):
    os._exit(3)  # the worker dies: no result file in the scratch directory


@on_nodes_without_shared_dir
@pytest.mark.timeout(300)
def test_a_job_that_dies_without_its_result_fails_with_its_exit_code_not_a_hold(
        testbed_shared_dir):
    """What comes back is the result's directory, which exists on the node whatever
    the worker did: a worker that died is an exit, which the engine retries
    (max_retries; 0 here to keep the test short) and reports with its code, not a
    failed output transfer (HTCondor 23 would hold the job and keep its slot for the
    40-minute job lease)."""
    floor = last_cluster()
    shared = testbed_shared_dir / "data"
    with parallel_config(backend="htcondor", transfer="htcondor", shared_data_dir=str(shared),
                         n_jobs=2, max_retries=0, request_mem="500MB"):
        with pytest.raises(JobFailedError) as raised:
            Parallel()(delayed(exit_without_result)(i) for i in range(1))
    message = str(raised.value)
    assert "the worker exited with code 3" in message, message
    assert raised.value.attempts == 1, message
    # the job ended as an exit, never held for a failed transfer
    assert jobs_of(shared, floor, "ExitCode", "ifThenElse(isUndefined(NumHolds), 0, NumHolds)") \
        == [["3", "0"]]
