"""The monitor (jhtc-monitor via ``python -m joblib_htcondor.ui``) over simulated runs.

The journals are written with _core.JournalWriter as a 2-level run would write
them; the expected figures are computed here by hand, independently of the
monitor. The terminal UI is driven in a private tmux server with a fixed size.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import pytest
from joblib_htcondor import _core

UI = [sys.executable, "-m", "joblib_htcondor.ui"]
# The run list is drawn after its title: wait for the runs themselves, not just the title.
LISTING_READY = r"(?s)(?=.*Open root batch)(?=.*new-run)(?=.*old-run)"

# What simulate_two_level_run writes, per level:
# (batches, calls, jobs, queued, submitted, running, done, failed, throttle)
EXPECTED_LEVELS = {
    "L0": (1, 10, 5, 1, 1, 1, 2, 0, 26),  # joblib grouped 2 calls into each job
    "L1": (3, 24, 24, 6, 3, 3, 9, 3, 60),
}


def simulate_two_level_run(journal_dir: str, root: str) -> None:
    """Root batch of 5 tasks (throttle 26); its first 3 tasks each run a batch of 8
    (throttle 60)."""
    top = _core.JournalWriter(journal_dir, root, "", root, 0, 26, "local")
    for task in range(5):
        top.task_queued(task, calls=2)
    for task in range(4):  # 4 submitted ...
        top.task_submitted(task, f"10.{task}")
    for task in range(3):  # ... 3 of them running ...
        top.task_running(task, f"10.{task}")
        child = _core.JournalWriter(journal_dir, f"{root}-c{task}", root, root, 1, 60, "local",
                                    request_cpus=1, request_memory_mb=256)
        for sub in range(8):
            child.task_queued(sub)
        for sub in range(6):
            child.task_submitted(sub, f"2{task}.{sub}")
        for sub in range(5):
            child.task_running(sub, f"2{task}.{sub}")
        # 3 jobs of half an hour on 2 CPUs peaking at 100-102 MB; one held at 300 MB
        child.task_retried(7, "held", usage={"memory_mb": 300}, hold_code=21, hold_subcode=102,
                           request_memory_mb=512)
        for sub in range(3):
            child.task_done(sub, usage={"wall_s": 1800.0, "cpu_user_s": 1700.0,
                                        "alloc_cpus": 2, "memory_mb": 100 + sub})
        child.task_failed(3, f"Job was held: memory usage exceeded request_memory (c{task})")
        child.bytes_held(512 * 1024)
    top.task_done(0)  # ... and 2 of those done
    top.task_done(1)
    top.bytes_held(1024 * 1024)


def simulate_finished_run(journal_dir: str, root: str) -> None:
    w = _core.JournalWriter(journal_dir, root, "", root, 0, 4, "local")
    for task in range(7):
        w.task_queued(task)
        w.task_done(task)
    w.finish("done")


@pytest.fixture
def shared_dir(tmp_path):
    journal = tmp_path / "journal"
    simulate_finished_run(str(journal), "old-run")
    time.sleep(0.01)  # the newest run is listed first
    simulate_two_level_run(str(journal), "new-run")
    return tmp_path


def level_rows(screen: str) -> dict[str, tuple[int, ...]]:
    rows = {}
    for line in screen.splitlines():
        m = re.match(r"\s*(L\d+)((?:\s+\d+){9})\s*$", line)
        if m:
            rows[m.group(1)] = tuple(int(n) for n in m.group(2).split())
    return rows


class Tmux:
    """A private tmux server (its own socket) running one command in a fixed-size pane."""

    def __init__(self, command: list[str], width: int = 150, height: int = 45):
        self.socket_dir = tempfile.mkdtemp(prefix="jhtc-tmux-")
        self.socket = os.path.join(self.socket_dir, "sock")
        cmd = " ".join(f"'{c}'" for c in command)
        self.run("new-session", "-d", "-s", "ui", "-x", str(width), "-y", str(height), cmd)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True)

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", "ui", *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "ui").stdout

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if re.search(pattern, screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} not on screen after {timeout} s:\n{screen}")

    def alive(self) -> bool:
        return self.run("has-session", "-t", "ui").returncode == 0

    def close(self) -> None:
        self.run("kill-server")
        shutil.rmtree(self.socket_dir, ignore_errors=True)


@pytest.fixture
def tmux_ui(shared_dir):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    session = Tmux([*UI, "--path", str(shared_dir)])
    yield session
    session.close()


def test_open_lists_roots_and_enter_shows_the_level_rows(tmux_ui):
    tmux_ui.wait_for("Press O")
    tmux_ui.send("O")
    listing = tmux_ui.wait_for(LISTING_READY)
    new_line = next(line for line in listing.splitlines() if "new-run" in line)
    old_line = next(line for line in listing.splitlines() if "old-run" in line)
    assert listing.index("new-run") < listing.index("old-run")  # newest first
    assert re.search(r"\s29\s+4\s+running", new_line), new_line  # 5 + 24 tasks, 4 batches
    assert re.search(r"\s7\s+1\s+done", old_line), old_line
    tmux_ui.send("Enter")
    screen = tmux_ui.wait_for(r"root new-run")
    assert level_rows(screen) == EXPECTED_LEVELS
    assert "Failed tasks: 3" in screen
    assert "new-run-c2 task 3: Job was held: memory usage exceeded request_memory (c2)" in screen
    assert "run holds 2.5 MiB" in screen  # 1 MiB + 3 x 512 KiB
    assert re.search(r"filesystem .* used of .* \(\d+%\)", screen)
    assert re.search(r"Elapsed \d\d:\d\d:\d\d\s+Throughput", screen)
    assert re.search(r"Calls 16/34\s+Jobs 14/29 finished", screen), screen


def test_usage_rows_and_hint_show_what_jobs_used(tmux_ui):
    tmux_ui.wait_for("Press O")
    tmux_ui.send("O")
    tmux_ui.wait_for(LISTING_READY)
    tmux_ui.send("Enter")
    screen = tmux_ui.wait_for(r"root new-run")
    usage = next(line for line in screen.splitlines() if re.match(r"\s*L1\s+\d+\.\d{3}", line))
    # 9 jobs x 0.5 h x 2 allocated CPUs; CPU 9 x 1700 s; peak 300 MB (the held job)
    figures = r"\s*L1\s+9\.000\s+4\.250\s+300 MB\s+102 MB\s+256 MB\s+12\s+3\s*$"
    assert re.match(figures, usage), usage
    assert "Hint: L1: 3 job(s) held for exceeding request_mem (256 MB, peak 300 MB)" in screen


def test_tree_expands_and_collapses_under_the_cursor(tmux_ui):
    tmux_ui.wait_for("Press O")
    tmux_ui.send("O")
    tmux_ui.wait_for(LISTING_READY)
    tmux_ui.send("Enter")
    screen = tmux_ui.wait_for(r"new-run-c0 L1")
    assert re.search(r"- new-run L0 .*\s2/5\s", screen)
    assert re.search(r"new-run-c0 L1 .*\s3/8\s", screen)
    tmux_ui.send("Enter")  # the cursor is on the root: collapse it
    screen = tmux_ui.wait_for(r"\+ new-run L0")
    assert "new-run-c0" not in screen.split("Batches", 1)[1].split("Failed", 1)[0]


def test_question_mark_shows_help_and_q_quits(tmux_ui):
    tmux_ui.wait_for("Press O")
    tmux_ui.send("?")
    tmux_ui.wait_for("Help")
    tmux_ui.send("x")  # any key closes the help
    deadline = time.monotonic() + 5
    while "Help" in tmux_ui.screen() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Help" not in tmux_ui.screen()
    tmux_ui.send("q")
    deadline = time.monotonic() + 5
    while tmux_ui.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux_ui.alive()


def test_screen_follows_a_journal_being_written(tmux_ui, shared_dir):
    tmux_ui.wait_for("Press O")
    tmux_ui.send("O")
    tmux_ui.wait_for(LISTING_READY)
    tmux_ui.send("Enter")
    tmux_ui.wait_for("root new-run")
    late = _core.JournalWriter(str(shared_dir / "journal"), "new-run-c9", "new-run", "new-run",
                               1, 60, "local")
    for task in range(10):
        late.task_queued(task)
    screen = tmux_ui.wait_for(r"L1\s+4\s+34\s+34\s+16\s")
    assert level_rows(screen).get("L1") == (4, 34, 34, 16, 3, 3, 9, 3, 60), screen


def test_summary_prints_the_same_figures_as_plain_text(shared_dir):
    out = subprocess.run([*UI, "--path", str(shared_dir), "--summary"], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert "Root batch new-run" in out.stdout  # the newest by default
    assert level_rows(out.stdout) == EXPECTED_LEVELS
    assert "Failed tasks: 3" in out.stdout
    old = subprocess.run([*UI, "--path", str(shared_dir / "journal"), "--summary",
                          "--root", "old-run"],
                         capture_output=True, text=True, timeout=30)
    assert old.returncode == 0, old.stderr
    assert "state done" in old.stdout
    assert level_rows(old.stdout) == {"L0": (1, 7, 7, 0, 0, 0, 7, 0, 4)}


def test_summary_of_unknown_root_or_empty_dir_fails(shared_dir, tmp_path_factory):
    out = subprocess.run([*UI, "--path", str(shared_dir), "--summary", "--root", "nope"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "no root batch nope" in out.stderr
    empty = tmp_path_factory.mktemp("empty")
    out = subprocess.run([*UI, "--path", str(empty), "--summary"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 1 and "no runs under" in out.stderr


def test_bad_arguments_exit_with_usage():
    out = subprocess.run([*UI, "--summary"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "--path is required" in out.stderr
    out = subprocess.run([*UI, "--path", "x", "--bogus"], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2 and "unknown argument --bogus" in out.stderr


def test_missing_monitor_binary_gives_a_clear_error(tmp_path):
    env = dict(os.environ, JHTC_MONITOR=str(tmp_path / "no-such-monitor"))
    out = subprocess.run([*UI, "--path", str(tmp_path)], capture_output=True, text=True, env=env,
                         timeout=30)
    assert out.returncode == 2
    assert "not an executable file" in out.stderr


def simulate_large_run(journal_dir: str, root: str, batches: int, tasks: int) -> None:
    top = _core.JournalWriter(journal_dir, root, "", root, 0, 50, "local")
    for b in range(batches):
        top.task_queued(b)
        top.task_running(b, f"1.{b}")
        child = _core.JournalWriter(journal_dir, f"{root}-{b:04d}", root, root, 1, 60, "local")
        for t in range(tasks):
            child.task_queued(t)
            child.task_running(t, f"{b}.{t}")
            if t % 2 == 0:
                child.task_done(t)


def test_stays_responsive_with_100k_tasks_in_1000_batches(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    simulate_large_run(str(tmp_path / "journal"), "big", 1000, 100)
    session = Tmux([*UI, "--path", str(tmp_path), "--root", "big"])
    try:
        screen = session.wait_for(r"up to date", timeout=30)
        want = (1000, 100000, 100000, 0, 0, 50000, 50000, 0, 60)
        assert level_rows(screen).get("L1") == want, screen
        time.sleep(2.5)  # a few live refreshes after catching up
        refresh_ms = int(re.search(r"refresh (\d+) ms", session.screen()).group(1))
        print(f"refresh with 100k tasks in 1000 batches: {refresh_ms} ms")
        assert refresh_ms < 500
        started = time.monotonic()  # a key is answered within one input timeout, not a refresh
        session.send("q")
        while session.alive() and time.monotonic() - started < 5:
            time.sleep(0.02)
        print(f"q answered in {time.monotonic() - started:.2f} s")
        assert not session.alive(), "q did not quit within 5 s"
    finally:
        session.close()
