"""The report of a REAL two-level run on the testbed pool, with a job held and retried,
opened in headless Chromium as a person would open it.

Runs on the host (Chromium is Debian 12's; the pool's chroot has no browser): the run
itself goes through ``testbed/pool run`` (report_pool_run.py), the host reads what it
wrote under the pool's shared directory. Marker ``testbed_host``: needs ``testbed/pool up``
and ``JHTC_TESTBED_HOST=1`` (scripts/test-all's stage sets it).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from chromium_page import open_page

pytestmark = [pytest.mark.testbed_host, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]


def test_report_of_a_real_two_level_run_with_a_held_job_in_chromium(tmp_path):
    testbed = Path(os.environ.get("JHTC_TESTBED_DIR", "/var/cache/jhtc-testbed"))
    name = f"report-{uuid.uuid4().hex[:8]}"
    inside = f"/home/htc/shared/{name}"
    outdir = testbed / "root" / inside.lstrip("/")
    pool = subprocess.run([str(REPO / "testbed" / "pool"), "run", "--", ".venv/bin/python",
                           "tests/python/report_pool_run.py", inside],
                          capture_output=True, text=True, timeout=800, cwd=REPO)
    assert pool.returncode == 0, pool.stdout[-3000:] + pool.stderr[-3000:]
    run = json.loads((outdir / "run.json").read_text())
    assert run["error"] is None and run["scores"] == run["expected"], run
    assert run["cli_returncode"] == 0, run["cli_stderr"]
    held = run["held_job"]

    model = json.loads((outdir / "model.json").read_text())
    assert [(lv["level"], lv["tasks"]) for lv in model["levels"]] == [(0, 2), (1, 6)]
    assert model["header"]["finished"] and model["header"]["state"] == "done"
    level1 = model["levels"][1]
    held_bars = [b for b in level1["bars"] if b["job"] == held]
    assert [b["outcome"] for b in held_bars] == ["held_retried"], level1["bars"]
    retry = [b for b in level1["bars"]
             if b["batch"] == held_bars[0]["batch"] and b["task"] == held_bars[0]["task"]
             and b["attempt"] == held_bars[0]["attempt"] + 1]
    assert [b["outcome"] for b in retry] == ["done"]
    rows = [f for f in model["failures"] if f["job"] == held]
    assert len(rows) == 1 and rows[0]["outcome"] == "held_retried" and rows[0]["level"] == 1
    assert rows[0]["hold_code"] == 1  # HoldReasonCode 1: held by a user (condor_hold)
    assert run["hold_reason"] in rows[0]["reason"]

    screenshot = tmp_path / "report.png"
    page = open_page(outdir / "run.html", screenshot, width=1280, height=1500)
    assert page.console == [], page.console
    assert 'id="band-level-0"' in page.dom and 'id="band-level-1"' in page.dom
    held_rows = re.findall(r'<tr class="held_retried">(.*?)</tr>', page.dom, re.S)
    assert any(f"<td>{held}</td>" in row and "held, retried" in row for row in held_rows), (
        held_rows)
    keep = os.environ.get("JHTC_REPORT_SCREENSHOT")  # docs/report.png is made this way
    if keep:
        shutil.copy(screenshot, keep)
        shutil.copy(outdir / "run.html", Path(keep).with_suffix(".html"))
    shutil.rmtree(outdir, ignore_errors=True)
