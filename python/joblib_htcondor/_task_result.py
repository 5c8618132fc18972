"""The worker protocol: what a worker writes to a task's result file, and how the
caller reads it back (worker.py writes, the batch's collector reads).

Light on purpose: the worker imports it before any task runs (no joblib here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._errors import IncompatibleResultError


@dataclass(frozen=True)
class TaskResult:
    """A finished task: its value and run time, or the exception it raised with
    the worker's traceback. ``error`` is None exactly when the task succeeded."""

    value: Any = None
    #: Seconds the task ran (success only): steers joblib's automatic batching.
    run_time: float | None = None
    error: BaseException | None = None
    #: The worker's formatted traceback of ``error``.
    traceback: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def success(cls, value: Any, run_time: float) -> TaskResult:
        return cls(value=value, run_time=run_time)

    @classmethod
    def failure(cls, error: BaseException, traceback_text: str) -> TaskResult:
        return cls(error=error, traceback=traceback_text)


def read_task_result(codec, path: str, attempt: int) -> TaskResult:
    """The result file at ``path`` (verified for ``attempt``, then deleted). A file
    holding anything but a TaskResult (a worker of an older joblib_htcondor wrote a
    tuple) is refused with IncompatibleResultError, never guessed at."""
    loaded = codec.load(path, delete=True, attempt=attempt)
    if not isinstance(loaded, TaskResult):
        raise IncompatibleResultError(
            f"result file {path!r} holds a {type(loaded).__name__}, not a TaskResult: the "
            "worker runs another joblib_htcondor version than the caller; python_path must "
            "name an interpreter with the caller's version installed")
    return loaded
