"""Every code block of the specification (docs: joblib_parallel.rst) that uses
backend="htcondor", run as written on the testbed pool with iris, and compared
with the same call run sequentially.

Deviations from the text, all site-specific or forced by julearn:
- ``pool`` is the testbed's collector and ``shared_data_dir`` a testbed directory
  (the spec itself says both are site-specific);
- ``request_mem="1Gb"`` instead of "4Gb": the testbed machine has 4 GB in all, so
  4 GB jobs would run one at a time, and a parent holding all of it would starve
  its children (docs/recursion.md);
- ``problem_type="classification"`` is dropped from run_cross_validation: every
  published julearn refuses it when ``model`` is a PipelineCreator ("Problem type
  should be set in the PipelineCreator");
- the model is zscore + svm without a grid, except in the "recursive parallelization"
  block: there an SVM grid ``C=[0.1, 1]`` (the example's has 6 points) makes an inner
  grid search whose folds must run as level-1 jobs (one grid per block keeps the tier's
  time down; the stacking test covers recursion with the last block's settings).

Beyond the scores, each test reads condor_history and asserts the level every job ran at
(``JhtcLevel``, its batch name and lineage): the outer folds as level-0 jobs, and, with
``max_recursion_level=1``, every outer fold's inner grid search as a level-1 batch below it.
"""

from __future__ import annotations

import pandas as pd
import pytest
from joblib import parallel_config
from joblib_htcondor import register_htcondor
from julearn import run_cross_validation
from julearn.pipeline import PipelineCreator
from pool_helpers import finished_jobs_since, last_cluster, pool_address
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

REQUEST_MEM = "1Gb"


@pytest.fixture(scope="module")
def iris():
    frame = load_iris(as_frame=True).frame
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width", "target"]
    X = list(frame.columns[:4])
    return X, "target", frame, StratifiedKFold(3, shuffle=True, random_state=0)


# The simple pipeline applies to "continuous" (julearn's default type); the
# stacking example's sub-pipelines apply to "sepal" and "petal".
SIMPLE_TYPES = {"continuous": [".*_.*"]}
STACKING_TYPES = {"sepal": ["sepal_.*"], "petal": ["petal_.*"]}


def simple_creator():
    creator = PipelineCreator(problem_type="classification")
    creator.add("zscore")
    creator.add("svm")
    return creator


def grid_creator():
    creator = PipelineCreator(problem_type="classification")
    creator.add("zscore")
    creator.add("svm", C=[0.1, 1])  # a hyperparameter grid: an inner GridSearchCV
    return creator


OUTER_FOLDS = 3  # the iris fixture's StratifiedKFold


def assert_levels(jobs: list, max_recursion_level: int, inner_batches_per_fold: int) -> None:
    """The jobs of one run (condor_history) ran at the levels the configuration asks for:
    the outer folds at level 0, and with recursion each outer fold's inner parallel work
    as level-1 batches below it; nothing deeper than max_recursion_level."""
    for job in jobs:  # name, lineage and level of a job must agree
        batch_id = job["lineage"].split("/")[-1]
        assert job["batch_name"] == f"jhtc-L{job['level']}-{batch_id}", job
        assert job["lineage"].count("/") == job["level"], job
    outer = [j for j in jobs if j["level"] == 0]
    inner = [j for j in jobs if j["level"] == 1]
    assert len(outer) >= OUTER_FOLDS, jobs
    assert len({j["lineage"] for j in outer}) == 1, "one level-0 batch per call"
    assert max(j["level"] for j in jobs) <= max_recursion_level, jobs
    if max_recursion_level == 0 or inner_batches_per_fold == 0:
        assert inner == [], "no recursion asked for or no inner work, yet level-1 jobs ran"
        return
    # Each outer fold's inner work is a batch of its own under the level-0 batch.
    root = outer[0]["lineage"]
    assert {j["lineage"].split("/")[0] for j in inner} == {root}, jobs
    inner_batches = {j["lineage"] for j in inner}
    assert len(inner_batches) >= OUTER_FOLDS * inner_batches_per_fold, sorted(inner_batches)


def stacking_creator():
    model_sepal = PipelineCreator(problem_type="classification", apply_to="sepal")
    model_sepal.add("filter_columns", apply_to="*", keep="sepal")
    model_sepal.add("zscore")
    model_sepal.add("svm", C=[0.1, 1])

    model_petal = PipelineCreator(problem_type="classification", apply_to="petal")
    model_petal.add("filter_columns", apply_to="*", keep="petal")
    model_petal.add("zscore")
    model_petal.add("rf", n_jobs=1, random_state=0)  # random_state: comparable to sequential

    model = PipelineCreator(problem_type="classification")
    model.add(
        "stacking",
        estimators=[[("model_sepal", model_sepal), ("model_petal", model_petal)]],
        final_estimator=LogisticRegression(n_jobs=1),
        apply_to="*",
        cv=4,
    )
    return model


def scores_of(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns that must not depend on where the folds ran (not the timings)."""
    return frame[["repeat", "fold", "test_score"]].reset_index(drop=True)


def run(iris, creator, X_types=SIMPLE_TYPES):
    X, y, df_data, cv = iris
    return run_cross_validation(X=X, y=y, X_types=X_types, data=df_data, model=creator, cv=cv)


# (spec section, the parallel_config keywords of its block beyond pool and shared_data_dir)
SPEC_BLOCKS = [
    ("massively parallelizing", dict(n_jobs=-1, request_cpus=1, request_mem=REQUEST_MEM)),
    ("data transfer", dict(n_jobs=-1, request_cpus=1, request_mem=REQUEST_MEM, shared=True)),
    ("pool", dict(n_jobs=-1, request_cpus=1, request_mem=REQUEST_MEM, shared=True, pool=True)),
    ("recursive parallelization", dict(n_jobs=-1, request_cpus=1, request_mem=REQUEST_MEM,
                                       shared=True, pool=True, max_recursion_level=1)),
    ("throttling", dict(n_jobs=-1, request_cpus=1, request_mem=REQUEST_MEM, shared=True,
                        pool=True, max_recursion_level=1, throttle=[25, 50])),
    ("visualizing progress", dict(n_jobs=-1, request_cpus=1, request_mem=REQUEST_MEM,
                                  shared=True, pool=True, max_recursion_level=1,
                                  throttle=[25, 50], export_metadata=True)),
]


def config_for(block: dict, shared_dir) -> dict:
    config = {k: v for k, v in block.items() if k not in ("shared", "pool")}
    # The first block of the spec has no shared_data_dir: the default is a directory
    # under the current one, which the testbed's jobs cannot all write; so every
    # block gets the testbed's.
    config["shared_data_dir"] = str(shared_dir)
    if block.get("pool"):
        config["pool"] = pool_address()
    return config


@pytest.mark.htcondor
@pytest.mark.timeout(600)
@pytest.mark.parametrize("section,block", SPEC_BLOCKS, ids=[s for s, _ in SPEC_BLOCKS])
def test_spec_block_gives_the_sequential_scores_at_its_levels(
    section, block, iris, testbed_shared_dir
):
    register_htcondor("INFO")
    with_grid = section == "recursive parallelization"
    creator = grid_creator if with_grid else simple_creator
    expected = scores_of(run(iris, creator()))
    floor = last_cluster()
    with parallel_config(backend="htcondor", **config_for(block, testbed_shared_dir / "data")):
        scores = run(iris, creator())
    pd.testing.assert_frame_equal(scores_of(scores), expected)
    # With the grid and recursion, each outer fold's GridSearchCV runs its folds as a
    # level-1 batch; without a grid nothing runs below level 0.
    assert_levels(finished_jobs_since(floor, testbed_shared_dir / "data"),
                  block.get("max_recursion_level", 0),
                  inner_batches_per_fold=1 if with_grid else 0)


@pytest.mark.htcondor
@pytest.mark.timeout(900)
def test_spec_stacking_example_gives_the_sequential_scores(iris, testbed_shared_dir):
    register_htcondor("INFO")
    expected = scores_of(run(iris, stacking_creator(), STACKING_TYPES))
    floor = last_cluster()
    block = dict(SPEC_BLOCKS)["visualizing progress"]
    with parallel_config(backend="htcondor", **config_for(block, testbed_shared_dir / "data")):
        scores = run(iris, stacking_creator(), STACKING_TYPES)
    pd.testing.assert_frame_equal(scores_of(scores), expected)
    # Inside each outer fold, the stacking's own cross-validation runs at level 1.
    assert_levels(finished_jobs_since(floor, testbed_shared_dir / "data"), 1, 1)
