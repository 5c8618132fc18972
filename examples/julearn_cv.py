"""The main job: the specification's julearn cross-validation, run through the
htcondor backend. With JOBLIB_HTCONDOR_SCHEDULER=local it runs on this machine's
embedded scheduler; on a cluster, drop that variable and set pool=... ."""

import os
import tempfile

import pandas as pd
from joblib import parallel_config
from julearn import run_cross_validation
from julearn.pipeline import PipelineCreator
from sklearn.datasets import load_iris
from sklearn.model_selection import KFold

from joblib_htcondor import register_htcondor

register_htcondor("INFO")

iris = load_iris(as_frame=True)
df_data = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
X = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
y = "target"
X_types = {"continuous": X}
cv = KFold(n_splits=5, shuffle=True, random_state=42)

creator = PipelineCreator(problem_type="classification")
creator.add("zscore")
creator.add("svm", C=[0.1, 1, 10], gamma=[0.01, 0.1])

shared_data_dir = os.environ.get("JHTC_EXAMPLE_SHARED_DIR") or tempfile.mkdtemp(prefix="jhtc-")
with parallel_config(
    backend="htcondor",
    n_jobs=-1,
    request_cpus=1,
    request_mem="4Gb",
    shared_data_dir=shared_data_dir,
    max_recursion_level=1,
    throttle=[5, 12],
    export_metadata=True,  # the journal `python -m joblib_htcondor.ui` reads
):
    scores = run_cross_validation(
        X=X,
        y=y,
        X_types=X_types,
        data=df_data,
        model=creator,
        # problem_type="classification" as in the specification is refused by every
        # published julearn when model is a PipelineCreator: it is set there instead.
        cv=cv,
    )

pd.set_option("display.width", 120)
print(scores[["repeat", "fold", "test_score", "fit_time"]].to_string(index=False))
print(f"mean test accuracy: {scores['test_score'].mean():.4f}")
print(f"journal: {shared_data_dir}/journal")
