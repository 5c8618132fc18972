"""The README's main job (examples/julearn_cv.py) runs and prints the scores."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "julearn_cv.py"


@pytest.mark.timeout(600)
def test_main_example_prints_fold_scores_and_their_mean(tmp_path):
    env = dict(os.environ, JOBLIB_HTCONDOR_SCHEDULER="local",
               JHTC_EXAMPLE_SHARED_DIR=str(tmp_path / "shared"))
    run = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True,
                         timeout=580)
    assert run.returncode == 0, run.stderr[-3000:]
    assert len(re.findall(r"^\s+0\s+\d\s+[01]\.\d+\s+[\d.]+$", run.stdout, re.M)) == 5, run.stdout
    mean = float(re.search(r"mean test accuracy: ([\d.]+)", run.stdout).group(1))
    assert 0.9 <= mean <= 1.0, run.stdout
    assert not any((tmp_path / "shared" / "batches").iterdir()), "batch files left behind"
