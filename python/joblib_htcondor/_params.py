"""Validation of the backend's parameters: every one is checked when the backend
is created, and a bad one raises an error naming it and what is accepted."""

from __future__ import annotations

import logging
import math
import os
import re
import sys
from dataclasses import dataclass, field, fields
from typing import Any, Callable

from ._layout import IN_TRANSFER_JOB_ENV, SCHEDULER_ENV

logger = logging.getLogger("joblib_htcondor")

SCHEDULERS = ("htcondor", "local")

_MEMORY_UNITS_MB = {
    "": 1, "b": 1 / 2**20, "k": 1 / 1024, "kb": 1 / 1024, "kib": 1 / 1024,
    "m": 1, "mb": 1, "mib": 1, "g": 1024, "gb": 1024, "gib": 1024,
    "t": 2**20, "tb": 2**20, "tib": 2**20,
}
_MEMORY_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
_ACCEPTED_SIZES = 'an int in MB, or a string like "4Gb", "4GB", "4096MB", "4 GiB"'


def parse_size_mb(value: Any, name: str) -> int:
    """A size in MB (HTCondor's unit, 1 GB = 1024 MB) from an int or a string."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be {_ACCEPTED_SIZES}, not {value!r}")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ValueError(f"{name} must be positive: {_ACCEPTED_SIZES}, not {value!r}")
        return int(math.ceil(value))
    if isinstance(value, str):
        match = _MEMORY_RE.match(value)
        if match and match.group(2).lower() in _MEMORY_UNITS_MB:
            megabytes = float(match.group(1)) * _MEMORY_UNITS_MB[match.group(2).lower()]
            if megabytes > 0:
                return int(math.ceil(megabytes))
    raise ValueError(f"{name} must be {_ACCEPTED_SIZES}, not {value!r}")


def _per_level(value: Any, name: str, check: Callable[[Any, str], Any]) -> tuple:
    """A value or a list with one value per recursion level (the last repeats)."""
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        raise ValueError(f"{name} must be a value or a non-empty list (one per level), not []")
    return tuple(check(v, f"{name}[{i}]" if len(values) > 1 else name)
                 for i, v in enumerate(values))


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, not {value!r}")
    return value


def _positive_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number, not {value!r}")
    return value


def _non_negative_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, not {value!r}")
    return value


def _retry_factor(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 1 \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a number > 1 (how much more memory a job held for "
                         f"exceeding its memory asks for when retried), not {value!r}")
    return float(value)


def _idle_unmatched(value: Any, name: str) -> float:
    # None (wait however long) is stored as infinity: parse_params drops None values.
    if value is None:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 1:
        raise ValueError(f"{name} must be a number of seconds >= 1 or None, not {value!r}")
    return float(value)


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, not {value!r}")
    return value


def _optional_str(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, (str, os.PathLike)) or not str(value):
        raise ValueError(f"{name} must be a non-empty string or None, not {value!r}")
    return str(value)


def _log_level(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and isinstance(logging.getLevelName(value.upper()), int):
        return logging.getLevelName(value.upper())
    raise ValueError(
        f'{name} must be a logging level name ("DEBUG", "INFO", "WARNING", ...) or an int, '
        f"not {value!r}")


def _extra_directives(value: Any, name: str) -> tuple:
    """HTCondor submit commands as ``(key, value)`` pairs; the driver refuses
    anything that could inject a command (newlines, unbalanced quotes)."""
    if value is None:
        return ()
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, str):
        items = [tuple(part.strip() for part in line.split("=", 1))
                 for line in value.splitlines() if line.strip()]
        if any(len(item) != 2 for item in items):
            raise ValueError(f'{name} must be a dict or "key = value" lines, not {value!r}')
    else:
        raise ValueError(f'{name} must be a dict or "key = value" lines, not {value!r}')
    for key, val in items:
        if not isinstance(key, str) or not re.fullmatch(r"[+A-Za-z_][A-Za-z0-9_.+]*", key):
            raise ValueError(f"{name}: {key!r} is not a submit command name")
        text = str(val)
        if "\n" in text or "\r" in text or "\0" in text:
            raise ValueError(f"{name}: the value of {key!r} must be one line, not {text!r}")
    return tuple((key, str(val)) for key, val in items)


THROTTLE_SCOPES = ("batch", "level")


def _throttle_scope(value: Any, name: str) -> str:
    """"batch": the throttle caps each parent's batch; "level": one cap per recursion
    level across all parents of a run, counted by the schedd."""
    if value not in THROTTLE_SCOPES:
        raise ValueError(f"{name} must be one of {THROTTLE_SCOPES}, not {value!r}")
    return value


TRANSFERS = ("shared_filesystem", "htcondor")


def _transfer(value: Any, name: str) -> str:
    """How task data reaches the jobs: "shared_filesystem" (shared_data_dir is mounted
    on every node) or "htcondor" (HTCondor's file transfer; docs/data-transfer.md)."""
    if value not in TRANSFERS:
        raise ValueError(
            f'{name} must be one of {TRANSFERS} ("shared_filesystem": shared_data_dir is '
            f'mounted at the same path on every execute node; "htcondor": HTCondor\'s file '
            f"transfer moves each job's files, for pools without a shared filesystem), "
            f"not {value!r}")
    return value


def _scheduler(value: Any, name: str) -> str:
    if value not in SCHEDULERS:
        raise ValueError(f"{name} must be one of {SCHEDULERS}, not {value!r}")
    return value


def _batch_size(value: Any, name: str) -> str | int:
    if value == "auto":
        return value
    return _positive_int(value, name + ' (or "auto")')


def _callable_or_none(value: Any, name: str) -> Callable | None:
    if value is not None and not callable(value):
        raise ValueError(f"{name} must be a callable or None, not {value!r}")
    return value


def _inline_after(value: Any, name: str) -> float:
    # None (never run a nested task in its parent) is stored as infinity: parse_params
    # drops None values, and the default is to run inline after a while.
    if value is None:
        return math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds or None, not {value!r}")
    return float(value)


def _resume_grace(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ValueError(
            f"{name} must be a number of seconds >= 0 (how long the jobs of a killed run with "
            f"resume=True wait for a rerun to adopt them before the next run removes them; "
            f"math.inf: until the cleanup command), not {value!r}")
    return float(value)


@dataclass(frozen=True)
class BackendParams:
    """The validated parameters of one backend. Picklable: nested backends carry it."""

    scheduler: str = "htcondor"
    pool: str | None = None
    schedd: str | None = None
    universe: str = "vanilla"
    python_path: str = field(default_factory=lambda: sys.executable)
    request_cpus: tuple = (1,)
    request_memory: tuple = ()
    request_disk: tuple = ()
    initial_dir: str | None = None
    log_dir_prefix: str | None = None
    poll_interval: float = 0.25
    shared_data_dir: str = field(
        default_factory=lambda: os.path.join(os.getcwd(), "joblib_htcondor_shared_data"))
    delete_task_file_on_load: bool = False
    extra_directives: tuple = ()
    worker_log_level: int = logging.WARNING
    throttle: tuple = ()
    throttle_scope: str = "batch"
    batch_size: str | int = "auto"
    max_recursion_level: int = 0
    export_metadata: bool = False
    context_func: Callable | None = None
    max_retries: int = 2
    resume: bool = False
    resume_grace: float = 1800.0  # seconds a killed resume=True run waits to be adopted
    run_inline_after: float = 120.0  # seconds; math.inf: never
    max_shared_disk: tuple = ()  # MB per level; (): no limit
    request_gpus: tuple = (0,)
    memory_retry_factor: tuple = (2.0,)
    max_request_memory: tuple = (64 * 1024,)  # MB per level: the ceiling of memory retries
    max_idle_unmatched: float = 600.0  # seconds; math.inf: never fail an unmatched job
    transfer: str = "shared_filesystem"  # or "htcondor": see _transfer
    fork_server: bool = True  # local scheduler: fork jobs from the process's fork server

    def value_for_level(self, name: str, level: int):
        """The per-level value of ``name`` at recursion ``level``; None when unset."""
        values = getattr(self, name)
        return values[min(level, len(values) - 1)] if values else None


# name -> (normaliser, field name): aliases share a field.
_CHECKS: dict = {
    "scheduler": (_scheduler, "scheduler"),
    "pool": (_optional_str, "pool"),
    "schedd": (_optional_str, "schedd"),
    "universe": (lambda v, n: _optional_str(v, n) or "vanilla", "universe"),
    "python_path": (_optional_str, "python_path"),
    "request_cpus": (lambda v, n: _per_level(v, n, _positive_number), "request_cpus"),
    "request_mem": (lambda v, n: _per_level(v, n, parse_size_mb), "request_memory"),
    "request_memory": (lambda v, n: _per_level(v, n, parse_size_mb), "request_memory"),
    "request_disk": (lambda v, n: _per_level(v, n, parse_size_mb), "request_disk"),
    "initial_dir": (_optional_str, "initial_dir"),
    "log_dir_prefix": (_optional_str, "log_dir_prefix"),
    "poll_interval": (_positive_number, "poll_interval"),
    "shared_data_dir": (_optional_str, "shared_data_dir"),
    "delete_task_file_on_load": (_bool, "delete_task_file_on_load"),
    "extra_directives": (_extra_directives, "extra_directives"),
    "worker_log_level": (_log_level, "worker_log_level"),
    "throttle": (lambda v, n: () if v is None else _per_level(v, n, _positive_int), "throttle"),
    "throttle_scope": (_throttle_scope, "throttle_scope"),
    "batch_size": (_batch_size, "batch_size"),
    "max_recursion_level": (_non_negative_int, "max_recursion_level"),
    "export_metadata": (_bool, "export_metadata"),
    "context_func": (_callable_or_none, "context_func"),
    "max_retries": (_non_negative_int, "max_retries"),
    "resume": (_bool, "resume"),
    "resume_grace": (_resume_grace, "resume_grace"),
    "run_inline_after": (_inline_after, "run_inline_after"),
    "max_shared_disk": (
        lambda v, n: () if v is None else _per_level(v, n, parse_size_mb), "max_shared_disk"),
    "request_gpus": (lambda v, n: _per_level(v, n, _non_negative_int), "request_gpus"),
    "max_idle_unmatched": (_idle_unmatched, "max_idle_unmatched"),
    "fork_server": (_bool, "fork_server"),
    "memory_retry_factor": (lambda v, n: _per_level(v, n, _retry_factor), "memory_retry_factor"),
    "max_request_mem": (lambda v, n: _per_level(v, n, parse_size_mb), "max_request_memory"),
    "max_request_memory": (lambda v, n: _per_level(v, n, parse_size_mb), "max_request_memory"),
    "transfer": (_transfer, "transfer"),
}
VALID_NAMES = tuple(sorted(_CHECKS))


def parse_params(kwargs: dict) -> BackendParams:
    """Checks every keyword of ``parallel_config(backend="htcondor", ...)``."""
    unknown = sorted(set(kwargs) - set(_CHECKS))
    if unknown:
        raise TypeError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for the htcondor backend; "
            f"valid parameters: {', '.join(VALID_NAMES)}")
    if "request_mem" in kwargs and "request_memory" in kwargs:
        raise TypeError("give request_mem or its alias request_memory, not both")
    if "max_request_mem" in kwargs and "max_request_memory" in kwargs:
        raise TypeError("give max_request_mem or its alias max_request_memory, not both")
    values = {}
    for name, value in kwargs.items():
        check, field_name = _CHECKS[name]
        normalised = check(value, name)
        if normalised is not None:
            values[field_name] = normalised
    if "scheduler" not in kwargs and os.environ.get(SCHEDULER_ENV):
        values["scheduler"] = _scheduler(os.environ[SCHEDULER_ENV], SCHEDULER_ENV)
    known = {f.name for f in fields(BackendParams)}
    assert set(values) <= known, set(values) - known
    params = BackendParams(**values)
    _check_memory_ceiling(params)
    _check_transfer(params)
    return params


def _check_transfer(params: BackendParams) -> None:
    """What file-transfer mode cannot do is refused before anything runs. Recursion:
    a nested batch would submit from an execute node, whose files the schedd's
    shadow on the submit side cannot read (that needs condor_submit -spool and
    condor_transfer_data, which this mode does not do)."""
    if os.environ.get(IN_TRANSFER_JOB_ENV) == "htcondor":
        raise ValueError(
            'transfer="htcondor": this process is a job of a file-transfer batch; it cannot '
            "start htcondor batches of its own (no recursion in file-transfer mode: nested "
            "Parallel calls run sequentially in the job, max_recursion_level=0)")
    if params.transfer != "htcondor":
        return
    if params.scheduler != "htcondor":
        raise ValueError(
            f'transfer="htcondor" needs scheduler="htcondor", not {params.scheduler!r} (the '
            'local scheduler runs its jobs on this machine; use transfer="shared_filesystem")')
    if params.max_recursion_level > 0:
        raise ValueError(
            f'max_recursion_level must be 0 with transfer="htcondor", not '
            f"{params.max_recursion_level} (file-transfer mode does not submit from execute "
            'nodes; nested Parallel calls run sequentially inside the job; recursion needs '
            'transfer="shared_filesystem")')
    if params.initial_dir is not None:
        raise ValueError(
            'initial_dir must not be set with transfer="htcondor" (a job starts in its '
            "scratch directory, where HTCondor puts its files)")


def _check_memory_ceiling(params: BackendParams) -> None:
    """A memory retry never asks for more than max_request_mem: below request_mem,
    no job of that level could even start asking for what it asks."""
    levels = max(len(params.request_memory), len(params.max_request_memory))
    for level in range(levels):
        asked = params.value_for_level("request_memory", level)
        ceiling = params.value_for_level("max_request_memory", level)
        if asked is not None and asked > ceiling:
            raise ValueError(
                f"max_request_mem ({ceiling} MB at level {level}) must be at least request_mem "
                f"({asked} MB at level {level}): it is the most a memory retry may ask for")
