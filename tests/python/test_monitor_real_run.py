"""The monitor follows a real two-level run on the testbed pool, as a person would:
in tmux, ``O``, Enter, then the level rows must match what the run did."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor
from test_monitor_ui import Tmux, level_rows

register_htcondor()

pytestmark = [pytest.mark.htcondor, pytest.mark.timeout(600)]

OUTER_TASKS, INNER_TASKS = 3, 4
THROTTLE = [3, 2]


def inner(i):
    return i * i


def outer(i):
    return sum(Parallel()(delayed(inner)(j) for j in range(INNER_TASKS)))


def test_monitor_follows_a_real_two_level_run(testbed_shared_dir):
    results = {}

    def run():
        with parallel_config(backend="htcondor", n_jobs=-1, shared_data_dir=str(testbed_shared_dir),
                             max_recursion_level=1, throttle=THROTTLE, batch_size=1,
                             export_metadata=True, request_mem="200MB", poll_interval=0.1):
            results["scores"] = Parallel()(delayed(outer)(i) for i in range(OUTER_TASKS))

    runner = threading.Thread(target=run)
    runner.start()
    journal = testbed_shared_dir / "journal"
    deadline = time.monotonic() + 60
    while not any(journal.glob("*/*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.1)
    ui = Tmux([sys.executable, "-m", "joblib_htcondor.ui", "--path", str(testbed_shared_dir)])
    try:
        ui.wait_for("Press O", timeout=30)
        ui.send("O")  # while the run is still going: the UI follows it live
        ui.wait_for("Open root batch", timeout=10)
        ui.send("Enter")
        ui.wait_for(r"L0\s+1\s+3", timeout=30)
        runner.join(timeout=500)
        assert not runner.is_alive(), "the run did not finish"
        expected_inner = sum(j * j for j in range(INNER_TASKS))
        assert results["scores"] == [expected_inner] * OUTER_TASKS
        # (batches, calls, jobs, queued, submitted, running, done, failed, throttle);
        # batch_size=1: one call per job
        want = {"L0": (1, OUTER_TASKS, OUTER_TASKS, 0, 0, 0, OUTER_TASKS, 0, THROTTLE[0]),
                "L1": (OUTER_TASKS, OUTER_TASKS * INNER_TASKS, OUTER_TASKS * INNER_TASKS, 0, 0, 0,
                       OUTER_TASKS * INNER_TASKS, 0, THROTTLE[1])}
        # Both rows final at once: the UI refreshes every second, one row may lag.
        final_rows = "".join(
            "(?=.*" + level + "".join(r"\s+" + str(n) for n in row) + ")"
            for level, row in want.items())
        screen = ui.wait_for("(?s)" + final_rows, timeout=30)
        assert level_rows(screen) == want, screen
    finally:
        ui.close()
        runner.join(timeout=60)
