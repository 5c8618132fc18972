"""What the engine is told about one batch's jobs: Python describes the work, C++
talks to the scheduler.

``JobDescription`` turns a batch's parameters into the engine's typed inputs: the
job template every job shares (resources, the worker's command, its environment),
the driver's options (whose type picks the driver), the level's shared limit and
HTCondor's file transfer. It starts no process and touches no file.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from . import _core
from ._layout import (
    BATCH_ENV,
    DELETE_TASK_FILE_ENV,
    DURABLE_FILES_ENV,
    IN_TRANSFER_JOB_ENV,
    PRELOAD_ENV,
    RUN_ENV,
    SHARED_DIR_ENV,
    SYS_PATH_ENV,
    WORKER_LOG_LEVEL_ENV,
    SharedLayout,
)
from ._params import BackendParams

WORKER_ARGS = ["-m", "joblib_htcondor.worker"]
#: When the engine submits a gathering burst of tasks as one transaction: after
#: ``quiet`` seconds with no new task, at the latest ``most`` seconds after its first
#: (docs/benchmarks.md, "Latency defaults": why these figures). joblib hands over a
#: burst's tasks milliseconds apart; a condor_submit costs ~0.1 s, a local job nothing.
GATHER_S = {"htcondor": {"quiet": 0.03, "most": 0.25},
            "local": {"quiet": 0.005, "most": 0.02}}
#: Heavy packages the local scheduler's fork server imports once, if the caller uses them.
PRELOADED = ("numpy", "scipy", "pandas", "sklearn", "julearn", "joblib")
#: Bounds JOBLIB_HTCONDOR_PRELOAD (the kernel refuses an environment string over 128 KiB).
PRELOAD_MAX_CHARS = 60_000
#: The thread-count variables of OpenMP, MKL, OpenBLAS, BLIS and their kin (joblib's own list).
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def durable_files(scheduler: str) -> bool:
    """Whether the batch's task, result and owner files are fsynced (see
    include/jhtc/durability.hpp). On HTCondor they are read on other hosts, by jobs
    that outlive a crash of the submit machine. The local scheduler's jobs are the
    caller's children on the same machine: a crash that loses a file there has killed
    every reader of it too, and the rerun writes a new batch."""
    return scheduler != "local"


def modules_to_preload() -> str:
    """The modules of the PRELOADED packages that this process has imported, public
    ones only (they import the private ones they need). Every local job is a fresh
    fork of the fork server, so a submodule it lacks (``sklearn.svm`` for an SVC) is
    imported again by every job, as if it were a new interpreter; imported once in
    the server, no job pays for it."""
    names = sorted(name for name, module in list(sys.modules.items())
                   if module is not None and name.partition(".")[0] in PRELOADED
                   and not any(part.startswith("_") or part in ("tests", "conftest")
                               for part in name.split(".")))
    chosen, size = [n for n in names if "." not in n], 0
    for name in names:
        size += len(name) + 1
        if "." in name and size <= PRELOAD_MAX_CHARS:
            chosen.append(name)
    return ",".join(chosen)


def thread_cap(params: BackendParams, level: int, inner_max_num_threads: int | None) -> int:
    """Threads each job's numerical libraries may start: joblib's
    ``inner_max_num_threads`` when given, else the CPUs the job asks for."""
    if inner_max_num_threads is not None:
        if isinstance(inner_max_num_threads, bool) or not isinstance(inner_max_num_threads, int) \
                or inner_max_num_threads < 1:
            raise ValueError(f"inner_max_num_threads must be a positive int, "
                             f"not {inner_max_num_threads!r}")
        return inner_max_num_threads
    return max(1, math.ceil(params.value_for_level("request_cpus", level)))


def caller_sys_path() -> str:
    """This process's import path, so that a worker on a shared filesystem can
    import the modules that the caller's functions were pickled by reference from."""
    entries = (os.path.abspath(entry or os.getcwd()) for entry in sys.path)
    return os.pathsep.join(dict.fromkeys(e for e in entries if os.path.isdir(e)))


@dataclass(frozen=True)
class JobDescription:
    """The jobs of one batch, as the engine and its driver are to run them."""

    params: BackendParams
    level: int
    batch_id: str
    root_batch_id: str
    lineage: str
    layout: SharedLayout
    batch_dir: Path
    logs_dir: Path
    event_log: Path
    throttle: int
    threads: int
    key_path: str = ""  # the user's signing key, sent with each job's files (transfer)

    def start_engine(self, journal, disk_budget: int) -> _core.Engine:
        p, level = self.params, self.level
        return _core.Engine(
            self.job_template(), self.driver_options(), self.throttle,
            count_running=not p.delete_task_file_on_load, max_retries=p.max_retries,
            journal=journal, gather_quiet_s=GATHER_S[p.scheduler]["quiet"],
            gather_most_s=GATHER_S[p.scheduler]["most"], disk_budget=disk_budget,
            memory_retry_factor=p.value_for_level("memory_retry_factor", level),
            max_request_memory_mb=p.value_for_level("max_request_memory", level),
            level_limit=self.level_limit())

    def job_template(self) -> _core.JobTemplate:
        p, level = self.params, self.level
        template = _core.JobTemplate()
        template.batch_name = f"jhtc-L{level}-{self.batch_id}"
        template.batch_dir = str(self.batch_dir)
        template.log_dir = str(self.logs_dir)
        template.python = p.python_path
        template.worker_args = WORKER_ARGS
        template.cpus = float(p.value_for_level("request_cpus", level))
        template.memory_mb = p.value_for_level("request_memory", level) or 0
        template.disk_mb = p.value_for_level("request_disk", level) or 0
        template.gpus = p.value_for_level("request_gpus", level)
        template.priority = level  # children before their waiting parents
        template.environment = {
            SHARED_DIR_ENV: str(self.layout.root),
            BATCH_ENV: self.batch_id,
            RUN_ENV: self.root_batch_id,
            WORKER_LOG_LEVEL_ENV: str(p.worker_log_level),
            DELETE_TASK_FILE_ENV: "1" if p.delete_task_file_on_load else "0",
            DURABLE_FILES_ENV: "1" if durable_files(p.scheduler) else "0",
            SYS_PATH_ENV: caller_sys_path(),
            # heavy packages the caller uses: the local scheduler's fork server imports them once
            PRELOAD_ENV: modules_to_preload(),
            # read by the thread pools when they start (the worker, or the local
            # scheduler's fork server, imports numpy after these are set)
            **{name: str(self.threads) for name in THREAD_VARS},
        }
        if p.transfer == "htcondor":  # the data stays here; HTCondor moves each job's files
            template.file_transfer = self.file_transfer()
            template.environment = {**template.environment, IN_TRANSFER_JOB_ENV: "htcondor"}
        return template

    def driver_options(self) -> _core.HTCondorOptions | _core.LocalOptions:
        """The scheduler's own options; their type picks the driver."""
        p = self.params
        if p.scheduler == "local":
            options = _core.LocalOptions()
            options.fork_server = p.fork_server
            return options
        options = _core.HTCondorOptions()
        options.lineage = self.lineage
        options.level = self.level
        options.poll_interval = timedelta(seconds=p.poll_interval)
        options.universe = p.universe
        options.pool = p.pool or ""
        options.schedd = p.schedd or ""
        options.initial_dir = p.initial_dir or ""
        options.extra_directives = list(p.extra_directives)
        # an idle job no machine matches fails after this long (None: it waits forever)
        options.unmatched_after = (None if p.max_idle_unmatched == math.inf
                                   else timedelta(seconds=math.ceil(p.max_idle_unmatched)))
        if p.log_dir_prefix:  # else the driver's default, the same <batch_dir>/condor.log
            options.event_log = str(self.event_log)
        return options

    def level_limit(self) -> _core.LevelLimit | None:
        """throttle_scope="level": one cap per level of the run, counted by the schedd.
        The local scheduler has no schedd to count with; there the scope is, as before,
        each batch's own throttle."""
        if self.params.throttle_scope != "level" or self.params.scheduler != "htcondor":
            return None
        lock = self.layout.level_lock(self.root_batch_id, self.level)
        return _core.LevelLimit(self.level, self.throttle, str(lock))

    def file_transfer(self) -> _core.FileTransfer:
        """transfer="htcondor": shared_data_dir is the submit side's working directory
        and every job gets the user's key with its files (docs/data-transfer.md)."""
        transfer = _core.FileTransfer()
        transfer.root = str(self.layout.root)
        transfer.common_inputs = [self.key_path]
        return transfer
