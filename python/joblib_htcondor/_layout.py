"""Every path under ``shared_data_dir`` and every environment variable the backend
hands its jobs, named once.

Layout (the C++ core knows ``store/``, ``journal/`` and the level lock's name too:
include/jhtc/content_store.hpp, src/monitor/run_catalog.cpp; never move them)::

    batches/<batch_id>/tasks/<n>.task     written by the caller, read by the worker
    batches/<batch_id>/tasks/<n>.result   written by the worker, read by the caller
    batches/<batch_id>/logs/<n>.<attempt>.{out,err}
    batches/<batch_id>/owner.json         earlier versions' owner record (see _recovery)
    batches/.<root_batch_id>-L<level>.lock  throttle_scope="level": one cap per level
    results/<hash>.result                 finished tasks' results, with resume=True
    store/                                content-addressed data (see _serialization)
    store/refs/<batch_id>/owner           who runs the batch, where its jobs are (_recovery)
    journal/                              the metadata journals (export_metadata=True)
    .keys/<uid>/hmac.key                  the user's signing key

Light on purpose: the worker imports it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Where versions before the one owner record kept it (read, never written).
LEGACY_OWNER_FILE = "owner.json"
#: The top-level entries a job's scratch directory holds under HTCondor's file transfer.
BATCHES, STORE, KEYS = "batches", "store", ".keys"

# The environment of every job (set by _batch, read by the worker and the fork server).
SHARED_DIR_ENV = "JOBLIB_HTCONDOR_SHARED_DIR"
BATCH_ENV = "JOBLIB_HTCONDOR_BATCH"
RUN_ENV = "JOBLIB_HTCONDOR_RUN"
WORKER_LOG_LEVEL_ENV = "JOBLIB_HTCONDOR_WORKER_LOG_LEVEL"
DELETE_TASK_FILE_ENV = "JOBLIB_HTCONDOR_DELETE_TASK_FILE"
DURABLE_FILES_ENV = "JOBLIB_HTCONDOR_DURABLE_FILES"
#: "htcondor" in a job whose files HTCondor transfers (no shared filesystem).
IN_TRANSFER_JOB_ENV = "JOBLIB_HTCONDOR_TRANSFER"
# The caller's import path, the modules to preload, and the fork server's socket (set
# by the C++ local driver): spelled in _fork_server, which runs outside the package too.
from ._fork_server import PRELOAD_ENV, SERVE_FD_ENV, SYS_PATH_ENV  # noqa: E402, F401

#: The default scheduler when the backend's parameters name none.
SCHEDULER_ENV = "JOBLIB_HTCONDOR_SCHEDULER"


@dataclass(frozen=True)
class SharedLayout:
    """The paths under one shared data directory; computes, never touches the disk."""

    root: Path

    @classmethod
    def of(cls, shared_dir: str | os.PathLike) -> SharedLayout:
        return cls(Path(shared_dir))

    @property
    def batches(self) -> Path:
        return self.root / BATCHES

    def batch_dir(self, batch_id: str) -> Path:
        return self.batches / batch_id

    def level_lock(self, root_batch_id: str, level: int) -> Path:
        return self.batches / f".{root_batch_id}-L{level}.lock"

    @property
    def store(self) -> Path:
        return self.root / STORE

    @property
    def keys(self) -> Path:
        return self.root / KEYS

    @property
    def journal(self) -> Path:
        return self.root / "journal"

    @property
    def results(self) -> Path:
        return self.root / "results"


def tasks_dir(batch_dir: Path) -> Path:
    return batch_dir / "tasks"


def default_logs_dir(batch_dir: Path) -> Path:
    return batch_dir / "logs"
