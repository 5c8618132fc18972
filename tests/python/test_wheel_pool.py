"""One job on the real pool from a venv that holds only the built wheel, not the checkout.

The venv is made inside the pool from the wheel in ``dist/`` (``scripts/build-wheels``) and
joblib's and cloudpickle's wheels in ``build/wheelhouse-pool`` (``scripts/test-wheels``
downloads them), with ``pip install --no-index``; the driver and the worker both import
joblib_htcondor from that venv.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pool_helpers import pool_address

CHECKOUT = Path(__file__).resolve().parents[2]
TAG = f"cp{sys.version_info.major}{sys.version_info.minor}"

JOB = """
import sys
import joblib_htcondor
from joblib import Parallel, delayed, parallel_config

def where(x):
    import joblib_htcondor
    return x * x, joblib_htcondor.__file__, sys.prefix

joblib_htcondor.register_htcondor("WARNING")
with parallel_config(backend="htcondor", n_jobs=-1, pool=sys.argv[1],
                     shared_data_dir=sys.argv[2], batch_size=1):
    out = Parallel()(delayed(where)(i) for i in range(3))
print("driver", joblib_htcondor.__file__)
for square, module, prefix in out:
    print("worker", square, module, prefix)
"""


def _wheel_for_this_python() -> Path:
    abi = "abi3" if sys.version_info >= (3, 12) else TAG
    found = sorted((CHECKOUT / "dist").glob(f"joblib_htcondor-*-{abi}-manylinux*.whl"))
    if not found:
        pytest.skip(f"no {abi} manylinux wheel in dist/: run scripts/build-wheels")
    return found[-1]


@pytest.mark.htcondor
@pytest.mark.timeout(600)
def test_a_job_runs_from_a_venv_holding_only_the_wheel(testbed_shared_dir):
    wheel = _wheel_for_this_python()
    house = CHECKOUT / "build" / "wheelhouse-pool"
    venv = testbed_shared_dir / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True, timeout=300)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
         "--find-links", str(house), str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-3000:]

    work = testbed_shared_dir / "work"
    work.mkdir()
    run = subprocess.run(
        [str(venv / "bin" / "python"), "-c", JOB, pool_address(),
         str(testbed_shared_dir / "data")],
        # The pool's own settings (CONDOR_CONFIG) stay; nothing may lead back to the checkout.
        cwd=work, env={k: v for k, v in os.environ.items() if not k.startswith("PYTHON")},
        capture_output=True, text=True, timeout=500)
    assert run.returncode == 0, run.stderr[-3000:]
    site = str(venv / "lib")
    driver = [line for line in run.stdout.splitlines() if line.startswith("driver ")]
    workers = [line.split() for line in run.stdout.splitlines() if line.startswith("worker ")]
    assert len(driver) == 1 and driver[0].split()[1].startswith(site), run.stdout
    assert [int(w[1]) for w in workers] == [0, 1, 4], run.stdout
    assert all(w[2].startswith(site) and w[3] == str(venv) for w in workers), run.stdout
    assert str(CHECKOUT) not in run.stdout, run.stdout
