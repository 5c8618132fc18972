"""joblib_htcondor: run joblib (scikit-learn, julearn) tasks as HTCondor jobs.

>>> from joblib import parallel_config
>>> from joblib_htcondor import register_htcondor
>>> register_htcondor("INFO")
>>> with parallel_config(backend="htcondor", n_jobs=-1, request_cpus=1, request_mem="4Gb"):
...     ...  # every joblib task in here runs as a job
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ._errors import (
    IncompatibleResultError,
    IntegrityError,
    JobFailedError,
    JoblibHTCondorError,
    RemoteTraceback,
    SchedulerError,
    SchedulerUnavailable,
    SharedDiskBudgetError,
    TaskCancelledError,
    UnsafePathError,
)

__version__ = "0.1.0"
__all__ = [
    "HTCondorBackend",
    "IncompatibleResultError",
    "IntegrityError",
    "JobFailedError",
    "JoblibHTCondorError",
    "RemoteTraceback",
    "SchedulerError",
    "SchedulerUnavailable",
    "SharedDiskBudgetError",
    "TaskCancelledError",
    "UnsafePathError",
    "register_htcondor",
]

logger = logging.getLogger("joblib_htcondor")

if TYPE_CHECKING:
    from ._backend import HTCondorBackend


def __getattr__(name: str):
    # The backend imports joblib, and joblib numpy: a worker (python -m
    # joblib_htcondor.worker) imports this package for every job and must not pay
    # for them unless its task uses joblib.
    if name == "HTCondorBackend":
        from ._backend import HTCondorBackend

        return HTCondorBackend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_htcondor(level: str | int | None = None) -> None:
    """Registers the joblib backend ``"htcondor"`` and sets this package's log level.

    Parameters
    ----------
    level : str or int, optional
        A logging level name ("DEBUG", "INFO", "WARNING", ...) or number. The
        package logs to stderr at this level; None leaves logging as it is.
    """
    from joblib import register_parallel_backend

    from ._backend import HTCondorBackend
    from ._params import _log_level

    register_parallel_backend("htcondor", HTCondorBackend)
    if level is None:
        return
    logger.setLevel(_log_level(level, "level"))
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(
            "%(asctime)s [%(levelname)s] %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"))
        logger.addHandler(handler)
