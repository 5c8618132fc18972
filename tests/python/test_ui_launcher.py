"""``python -m joblib_htcondor.ui`` when the monitor is missing: a clear message at run
time, exit status 2, and the package still imports (an sdist built without ncurses)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import joblib_htcondor

INSTALLED = Path(joblib_htcondor.__file__).resolve().parent


def _package_without_monitor(tmp_path):
    copy = tmp_path / "site" / "joblib_htcondor"
    shutil.copytree(INSTALLED, copy, ignore=shutil.ignore_patterns("bin", "__pycache__"))
    return copy.parent


def _run_ui(site, *args, **env):
    environ = {k: v for k, v in os.environ.items() if k != "JHTC_MONITOR"}
    environ.update(PYTHONPATH=str(site), **env)
    return subprocess.run([sys.executable, "-m", "joblib_htcondor.ui", *args], env=environ,
                          capture_output=True, text=True, timeout=60, cwd=site)


def test_missing_monitor_is_reported_at_run_time_not_import(tmp_path):
    site = _package_without_monitor(tmp_path)
    imported = subprocess.run([sys.executable, "-c", "import joblib_htcondor, sys; "
                               "print(joblib_htcondor.__file__)"],
                              env=dict(os.environ, PYTHONPATH=str(site)), cwd=site,
                              capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip().startswith(str(site)), imported.stdout

    run = _run_ui(site, "--summary", "--path", str(tmp_path))
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "has no jhtc-monitor" in run.stderr, run.stderr
    assert "ncurses" in run.stderr, run.stderr


def test_wrong_monitor_override_is_named_in_the_error(tmp_path):
    site = _package_without_monitor(tmp_path)
    bogus = tmp_path / "not-a-monitor"
    run = _run_ui(site, "--summary", JHTC_MONITOR=str(bogus))
    assert run.returncode == 2, (run.stdout, run.stderr)
    assert "$JHTC_MONITOR" in run.stderr and str(bogus) in run.stderr, run.stderr
