"""Helpers shared by the fault-injection tests (``test_faults_*.py``); no tests here.

Tasks used by the tests live here too: a worker imports them by module name, so
they must be module-level functions of an importable module.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor

register_htcondor()


def condor(*args: str, check: bool = True, timeout: float = 60) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def wait_until(condition: Callable[[], object], timeout: float, what: str, step: float = 0.2):
    """Polls ``condition`` until it returns something true; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not seen within {timeout:.0f} s: {what}")
        time.sleep(step)


def shared_constraint(shared: Path) -> str:
    """Every job whose task file lies under ``shared`` (the worker's argument)."""
    return f'regexp("{shared}/", Arguments)'


def jobs_of(shared: Path, extra: str = "") -> list[dict]:
    """Jobs in the queue belonging to the runs in ``shared``: id, status, task, attempt.

    condor_q failing, or printing a line that is not one job, fails the test: an empty
    list always means an empty queue, never an unanswered question.
    """
    constraint = shared_constraint(shared) + (f" && ({extra})" if extra else "")
    out = condor("condor_q", "-constraint", constraint,
                 "-af", "ClusterId", "ProcId", "JobStatus", "JhtcTask", "JhtcAttempt",
                 "JhtcLineage")
    rows = []
    for line in out.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 6 or not (parts[0].isdigit() and parts[1].isdigit()):
            pytest.fail(f"condor_q printed a line that is not a job: {line!r}\n{out}")
        rows.append({"id": f"{parts[0]}.{parts[1]}", "status": int(parts[2]),
                     "task": parts[3], "attempt": parts[4], "lineage": parts[5]})
    return rows


def files_under(path: Path) -> list[str]:
    """Files left below ``path`` (relative), excluding the store and the key."""
    left = []
    for root, _, names in os.walk(path):
        rel = os.path.relpath(root, path)
        if rel.split(os.sep)[0] in (".keys", "store"):
            continue
        left += [os.path.join(rel, n) for n in names]
    return sorted(left)


class Run:
    """A Parallel call in a background thread: ``.result``, ``.error``, ``.elapsed``."""

    def __init__(self, tasks, n_jobs: int = -1, **config):
        self.result = None
        self.error: BaseException | None = None
        self.elapsed: float | None = None
        self._tasks, self._n_jobs, self._config = tasks, n_jobs, config
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.started = time.monotonic()
        self._thread.start()

    def _run(self) -> None:
        try:
            with parallel_config(backend="htcondor", **self._config):
                self.result = Parallel(n_jobs=self._n_jobs, batch_size=1)(self._tasks)
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            self.error = error
        self.elapsed = time.monotonic() - self.started

    def join(self, timeout: float) -> Run:
        self._thread.join(timeout)
        if self._thread.is_alive():
            pytest.fail(f"the Parallel call did not return within {timeout:.0f} s")
        return self


def pool_config(shared: Path, **overrides) -> dict:
    config = dict(scheduler="htcondor", shared_data_dir=str(shared), poll_interval=0.2,
                  max_retries=1)
    config.update(overrides)
    return config


# --- tasks run by workers ---------------------------------------------------------------


def sleep_and_mark(i: int, seconds: float, marks: str) -> int:
    """Records this run (task i, pid) in ``marks``, sleeps, returns i * i."""
    Path(marks).mkdir(parents=True, exist_ok=True)
    (Path(marks) / f"{i}.{os.getpid()}").write_text(str(os.getpid()))
    print(f"task {i} started in pid {os.getpid()}", file=sys.stderr, flush=True)
    time.sleep(seconds)
    return i * i


def count_and_square(i: int, counter: str, seconds: float = 0.0) -> int:
    """Appends ``i`` to the counter file (one line per run), sleeps, returns i * i."""
    with open(counter, "a") as stream:
        stream.write(f"{i}\n")
    time.sleep(seconds)
    return i * i


def runs_of(marks: str) -> dict:
    """task -> pids that ran it, from ``sleep_and_mark``'s marks."""
    found: dict = {}
    for path in Path(marks).glob("*.*"):
        task, pid = path.name.split(".")
        found.setdefault(int(task), []).append(int(pid))
    return found


def tasks(n: int, seconds: float, marks: str):
    return [delayed(sleep_and_mark)(i, seconds, marks) for i in range(n)]


def gated_square(i: int, counter: str, gate: str) -> int:
    """Counts its run; tasks i >= 2 then wait (at most 120 s) while ``gate`` exists."""
    with open(counter, "a") as stream:
        stream.write(f"{i}\n")
    deadline = time.monotonic() + 120
    while i >= 2 and os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.2)
    return i * i


def nested_sleepers(i: int, seconds: float, marks: str) -> list:
    """An outer task: a nested Parallel of one sleeping task (a job one level down)."""
    return Parallel(n_jobs=2)(delayed(sleep_and_mark)(10 * i + 1, seconds, marks)
                              for _ in range(1))


DRIVER = '''
import faulthandler, logging, signal, sys, time
faulthandler.register(signal.SIGUSR1, all_threads=True)  # stacks_then_kill() shows a hang
if {resume!r}:  # the adoption's log line names the jobs it took over
    logging.basicConfig(level=logging.INFO, format="%(message)s")
sys.path.insert(0, {tests!r})
from joblib import Parallel, delayed, parallel_config
import test_faults_support as s
with parallel_config(backend="htcondor", scheduler="htcondor", shared_data_dir={shared!r},
                     poll_interval=0.2, max_recursion_level=1, resume={resume!r},
                     resume_grace={resume_grace!r}):
    if {kind!r} == "nested":
        out = Parallel(n_jobs=2, batch_size=1)(delayed(s.nested_sleepers)(i, 120, {marks!r})
                                               for i in range(1))
    else:
        out = Parallel(n_jobs=4, batch_size=1)(delayed(s.gated_square)(i, {counter!r}, {gate!r})
                                               for i in range(4))
print("RESULT", out, flush=True)
'''


def default_sigint() -> None:
    """preexec_fn for drivers that get SIGINT: a shell's background job (a CI runner
    started with `&`) inherits SIGINT ignored, and the library leaves an ignored
    signal ignored, so the driver would never see the test's SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stacks_then_kill(process) -> str:
    """Kills a driver that did not end, and returns its output with every thread's stack."""
    process.send_signal(signal.SIGUSR1)
    time.sleep(1)
    process.kill()
    return process.communicate()[0] or ""


def write_driver(path: Path, shared: Path, kind: str, resume: bool = False,
                 resume_grace: float = 1800) -> Path:
    """A script that runs one Parallel call; ``kind`` "nested" or "gated"."""
    base = path.parent
    path.write_text(DRIVER.format(
        tests=str(Path(__file__).resolve().parent), shared=str(shared), kind=kind,
        resume=resume, resume_grace=resume_grace, marks=str(base / "marks"),
        counter=str(base / "counter"),
        gate=str(base / "gate")))
    return path


def batch_dirs(shared: Path) -> list:
    batches = shared / "batches"
    return sorted(p.name for p in batches.iterdir()) if batches.is_dir() else []


def pid_and_inner_pids(i: int, seconds: float) -> tuple:
    """An outer task: its pid, and the pids that ran its two nested tasks."""
    return os.getpid(), Parallel(n_jobs=2, batch_size=1)(
        delayed(sleep_pid)(seconds) for _ in range(2))


def sleep_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def with_array(i: int, data) -> int:
    return int(data.sum()) + i
