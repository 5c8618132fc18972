"""The monitor shows a run whose process was killed as dead, not running forever.

A real run on the local scheduler writes its journal; the monitor (in tmux) is
open on it; the caller is SIGKILLed, so it never writes batch_finished. The
monitor learns from the content store's owner record that the process is gone.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
from test_monitor_ui import UI, Tmux

pytestmark = pytest.mark.timeout(180)

CALLER = """
import time
from joblib import Parallel, delayed, parallel_config
import joblib_htcondor
joblib_htcondor.register_htcondor()
with parallel_config(backend="htcondor", scheduler="local", shared_data_dir={shared!r},
                     fork_server=False,
                     export_metadata=True):
    Parallel(n_jobs=2, batch_size=1)(delayed(time.sleep)(60) for _ in range(2))
"""


def wait_for_root(journal, timeout=60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        roots = os.listdir(journal) if os.path.isdir(journal) else []
        if roots:
            return roots[0]
        time.sleep(0.2)
    raise AssertionError(f"no run appeared under {journal} within {timeout} s")


def test_killed_run_shows_as_dead(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    shared = tmp_path / "shared"
    caller = subprocess.Popen([sys.executable, "-c", CALLER.format(shared=str(shared))])
    ui = None
    try:
        root = wait_for_root(shared / "journal")
        ui = Tmux([*UI, "--path", str(shared), "--root", root, "--refresh", "0.5"])
        ui.wait_for(r"\| running ", timeout=30)
        time.sleep(10)  # past the monitor's grace for young batches: judged alive
        assert "| running " in ui.screen(), ui.screen()
        caller.send_signal(signal.SIGKILL)
        caller.wait(10)
        screen = ui.wait_for(r"\| dead ", timeout=30)
        assert re.search(r"L0 \[.*\]\s+0/2.*dead", screen), screen  # the batch row too
    finally:
        caller.kill()
        if ui is not None:
            ui.close()
        # the killed caller's two workers would sleep out their minute
        subprocess.run(["pkill", "-f", f"joblib_htcondor.worker {shared}"], check=False)
