"""Exceptions raised by joblib_htcondor, each saying when it is raised."""

from __future__ import annotations

from . import _core

#: The base of every exception this package defines, those raised by its C++ core
#: included. Each also keeps its built-in base (RuntimeError, ValueError...), so
#: ``except RuntimeError`` still catches a SchedulerError.
JoblibHTCondorError = _core.JoblibHTCondorError

#: The scheduler cannot be reached at all (no HTCondor tools, no schedd). The
#: message names ``scheduler="local"`` as the way to run without a cluster.
SchedulerUnavailable = _core.SchedulerUnavailable

#: The scheduler refused an operation, e.g. ``condor_submit`` failed.
SchedulerError = _core.SchedulerError

#: A task, result or data file failed verification (HMAC, hash, truncation).
#: It was not unpickled. The message names the file and the failed check.
IntegrityError = _core.IntegrityError

#: A directory or file under ``shared_data_dir`` cannot be trusted: another user
#: owns it, others may write it, or it is a symbolic link (a kind of
#: IntegrityError). The message names the path, its owner and mode, and what is
#: accepted. Nothing is read from or written to it.
UnsafePathError = _core.UnsafePathError


class JobFailedError(JoblibHTCondorError, RuntimeError):
    """A task's job failed in the scheduler, after all its retries.

    Raised in the caller of ``Parallel`` when a job was held, killed, evicted
    for good, removed by someone else, or exited without writing a result. The
    message carries the scheduler's own reason (hold reason and code, signal,
    exit code), the job id and the tail of the job's stderr.
    """

    def __init__(self, reason: str, job_id: str, attempts: int, stderr_tail: str = ""):
        message = f"{reason} [job {job_id or '-'}, {attempts} attempt(s)]"
        if stderr_tail:
            message += f"\n--- tail of the job's stderr ---\n{stderr_tail}"
        super().__init__(message)
        self.reason = reason
        self.job_id = job_id
        self.attempts = attempts
        self.stderr_tail = stderr_tail

    def __reduce__(self):
        # A nested batch's failure travels to the parent job's caller in a result
        # file: the default reduction would call __init__ with the message alone.
        return (type(self), (self.reason, self.job_id, self.attempts, self.stderr_tail))


class SharedDiskBudgetError(JoblibHTCondorError, ValueError):
    """A task needs more of the shared directory than ``max_shared_disk`` can ever
    leave it: its files and new data exceed the budget minus the data that the
    batch holds until it ends. The message gives the figures. Raised for that
    task only; tasks that fit run, and finished ones keep their results.
    """


class TaskCancelledError(JoblibHTCondorError, RuntimeError):
    """A task was cancelled (abort, timeout, KeyboardInterrupt, shutdown)."""


class IncompatibleResultError(JoblibHTCondorError, TypeError):
    """A task's result file is not in this version's format (a worker of another
    joblib_htcondor version wrote it, e.g. through ``python_path``). Raised for
    that task; the message names the file and what it held."""


class RemoteTraceback(JoblibHTCondorError):  # noqa: N818 - public name, not an error of ours
    """The traceback of an exception raised in a worker, attached as ``__cause__``."""

    def __init__(self, traceback_text: str):
        super().__init__(traceback_text)
        self.traceback_text = traceback_text

    def __str__(self) -> str:
        return "\n\n" + self.traceback_text
