"""Runs INSIDE the testbed pool, started by test_report_real_run.py on the host (which has
headless Chromium; the pool's chroot has none):

    testbed/pool run -- .venv/bin/python tests/python/report_pool_run.py OUTDIR

A real two-level run (2 parents of 3 children, throttle [2, 2] on the 4-slot pool) with
export_metadata=True; while it runs, one RUNNING level-1 job is held with condor_hold,
and the engine retries it. Then the report is written with the command a user types,
``python -m joblib_htcondor.ui --path OUTDIR/data --report OUTDIR/run.html``. Writes
OUTDIR/run.json (scores, the held job, the CLI's output) and OUTDIR/model.json (the
report model); the host test asserts on all of it. Exit status 0 unless something here
could not be done (each such failure says what).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor
from joblib_htcondor._report import load_report

HOLD_REASON = "jhtc-report-test: held on purpose"
OUTER, INNER, INNER_SECONDS = 2, 3, 4.0


def inner(i: int) -> int:
    time.sleep(INNER_SECONDS)
    return i * i


def outer(i: int) -> int:
    return i + sum(Parallel()(delayed(inner)(j) for j in range(INNER)))


def condor(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        sys.exit(f"{' '.join(args)} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout


def hold_one_running_child(shared: Path, run: threading.Thread, timeout: float = 180) -> str:
    """condor_hold the first level-1 job seen running; returns its id."""
    constraint = (f'regexp("^jhtc-L1-", JobBatchName) && JobStatus == 2 && '
                  f'regexp("{shared}/", Arguments)')
    deadline = time.monotonic() + timeout
    while run.is_alive() and time.monotonic() < deadline:
        ids = condor("condor_q", "-constraint", constraint, "-af", "ClusterId", "ProcId").split()
        if len(ids) >= 2:
            job = f"{ids[0]}.{ids[1]}"
            condor("condor_hold", "-reason", HOLD_REASON, job)
            return job
        time.sleep(0.2)
    sys.exit("no level-1 job was seen running to hold")


def main(outdir: Path) -> None:
    register_htcondor()
    shared = outdir / "data"
    shared.mkdir(parents=True)
    outcome: dict = {}

    def run() -> None:
        try:
            with parallel_config(backend="htcondor", n_jobs=-1, shared_data_dir=str(shared),
                                 max_recursion_level=1, throttle=[2, 2], batch_size=1,
                                 export_metadata=True, request_mem="200MB", poll_interval=0.2,
                                 max_retries=2):
                outcome["scores"] = Parallel()(delayed(outer)(i) for i in range(OUTER))
        except BaseException as error:  # noqa: BLE001 - reported to the host test
            outcome["error"] = repr(error)

    runner = threading.Thread(target=run)
    runner.start()
    held = hold_one_running_child(shared, runner)
    runner.join(400)
    if runner.is_alive():
        sys.exit("the run did not finish within 400 s")
    report = outdir / "run.html"
    cli = subprocess.run([sys.executable, "-m", "joblib_htcondor.ui", "--path", str(shared),
                          "--report", str(report)], capture_output=True, text=True, timeout=300)
    (outdir / "model.json").write_text(json.dumps(load_report(str(shared / "journal"))))
    expected = [i + sum(j * j for j in range(INNER)) for i in range(OUTER)]
    (outdir / "run.json").write_text(json.dumps({
        "scores": outcome.get("scores"), "expected": expected, "error": outcome.get("error"),
        "held_job": held, "hold_reason": HOLD_REASON, "cli_returncode": cli.returncode,
        "cli_stdout": cli.stdout, "cli_stderr": cli.stderr}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
