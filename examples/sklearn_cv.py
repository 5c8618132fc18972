"""The main job without julearn: the same cross-validation (z-score + SVM, a grid search
in each of 5 outer folds, recursion level 1) in plain scikit-learn. For Pythons julearn has
no binary wheels for (julearn 0.3 pins numpy<1.27, which has none for 3.13). With
JOBLIB_HTCONDOR_SCHEDULER=local it runs on this machine's embedded scheduler."""

import os
import tempfile

from joblib import parallel_config
from joblib_htcondor import register_htcondor
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

register_htcondor("INFO")

X, y = load_iris(return_X_y=True)
cv = KFold(n_splits=5, shuffle=True, random_state=42)
grid = GridSearchCV(make_pipeline(StandardScaler(), SVC()),
                    {"svc__C": [0.1, 1, 10], "svc__gamma": [0.01, 0.1]}, n_jobs=-1)

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
    scores = cross_validate(grid, X, y, cv=cv, n_jobs=-1)

for fold, score in enumerate(scores["test_score"]):
    print(f"fold {fold} test_score {score:.4f}")
print(f"mean test accuracy: {scores['test_score'].mean():.4f}")
print(f"journal: {shared_data_dir}/journal")
