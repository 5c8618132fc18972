"""What a run leaves behind when it dies, and how the next run deals with it.

Every batch directory holds an owner file, written when the batch starts::

    batches/<batch_id>/owner.json   {"host", "pid", "start_ticks", "lineage",
                                     "scheduler", "pool", "schedd"}

A batch is dead when its owner ran on this host and is gone (the pid does not
exist, or was reused: its start time differs), or when the root batch of its
lineage is dead or gone (a nested batch outlives its root only as an orphan).
``recover`` removes the jobs of dead batches from the scheduler (their lineage:
the batch and every batch its jobs started), deletes their directories, then
collects the store. It runs at the start of every root batch and from
``python -m joblib_htcondor.cleanup``. Owners on other hosts are never judged
by pid: their batches go with their root, or by age (``stale_after_s``) when
they have no owner file at all.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from ._serialization import collect_garbage

logger = logging.getLogger("joblib_htcondor")

OWNER_FILE = "owner.json"
CONDOR_TIMEOUT_S = 60


def start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (tells a reused pid)."""
    try:
        with open(f"/proc/{pid}/stat") as stream:
            # the command name may hold spaces and parentheses: fields follow the last ')'
            return int(stream.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def write_owner(batch_dir: Path, lineage: str, params) -> None:
    record = {"host": socket.gethostname(), "pid": os.getpid(),
              "start_ticks": start_ticks(os.getpid()), "lineage": lineage,
              "scheduler": params.scheduler, "pool": params.pool, "schedd": params.schedd}
    temp = batch_dir / f".{OWNER_FILE}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with open(os.open(temp, flags, 0o600), "w") as stream:
        json.dump(record, stream)
    os.replace(temp, batch_dir / OWNER_FILE)


def read_owner(batch_dir: Path) -> dict | None:
    """The owner record, None when there is none or it is unreadable. A record
    (or batch directory) another user planted, or that others may write, is
    refused with ``UnsafePathError``: its lineage goes into a ``condor_rm``."""
    from . import _core

    path = batch_dir / OWNER_FILE
    if not _core.check_owned_dir(str(batch_dir)):  # refused unless ours
        return None
    try:
        _core.check_owned_file(str(path))
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        with open(os.open(path, flags), "rb") as stream:
            return json.loads(stream.read(65536))
    except _core.UnsafePathError:
        raise
    except (OSError, ValueError, RuntimeError):  # missing, unreadable (C++ errors: RuntimeError)
        return None


def _trusted_records(batches: Path) -> dict:
    """Owner records of the batch directories this user owns; others are left
    alone (never removed, their lineage never used) and named in a warning."""
    from . import _core

    records = {}
    for entry in batches.iterdir():
        if not entry.is_dir() or entry.is_symlink():
            if entry.is_symlink():
                logger.warning("ignoring %s: a symbolic link in place of a batch directory",
                               entry)
            continue
        try:
            records[entry.name] = read_owner(entry)
        except _core.UnsafePathError as error:
            logger.warning("ignoring a batch directory that is not this user's: %s", error)
    return records


def owner_is_dead(record: dict) -> bool:
    """True only when we can tell: the owner ran on this host and is gone."""
    if record.get("host") != socket.gethostname():
        return False
    ticks = start_ticks(int(record.get("pid", 0)))
    return ticks is None or (record.get("start_ticks") is not None
                             and ticks != record["start_ticks"])


def find_dead_batches(shared: Path, stale_after_s: float = 3600) -> list:
    """``(batch_dir, owner record or None)`` of every dead batch under ``shared``."""
    from . import _core

    batches = Path(shared) / "batches"
    if not batches.is_dir():
        return []
    _core.check_owned_dir(str(batches))  # refused unless it is ours
    records = _trusted_records(batches)
    dead = []
    for name, record in records.items():
        if record is None:
            try:
                old = time.time() - (batches / name).stat().st_mtime > stale_after_s
            except OSError:
                continue
            if old:
                dead.append((batches / name, None))
            continue
        root = record.get("lineage", name).split("/")[0]
        root_record = records.get(root)
        if owner_is_dead(record) or (root != name and (
                root_record is None or owner_is_dead(root_record))):
            dead.append((batches / name, record))
    return dead


def lineage_constraint(lineage: str) -> str:
    """The batch and every batch below it (the driver's own constraint)."""
    return (f'JhtcLineage =?= "{lineage}" || '
            f'substr(JhtcLineage, 0, {len(lineage) + 1}) =?= "{lineage}/"')


def condor_rm(constraint: str, pool: str | None, schedd: str | None,
              reason: str) -> bool:
    """``condor_rm -constraint``; True when at least one job was marked for removal."""
    argv = ["condor_rm"]
    if pool:
        argv += ["-pool", pool]
    if schedd:
        argv += ["-name", schedd]
    argv += ["-reason", reason, "-constraint", constraint]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=CONDOR_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as error:
        logger.warning("%s failed: %s", " ".join(argv[:1]), error)
        return False
    return done.returncode == 0 and "marked for removal" in done.stdout


def remove_idle_job(lineage: str, task: int, pool: str | None, schedd: str | None) -> bool:
    """Removes the job of ``task`` of this exact batch only if it is still idle
    (JobStatus 1). The schedd evaluates the constraint atomically: a job that has
    started is left alone, and the answer says which happened."""
    constraint = f'JhtcLineage =?= "{lineage}" && JhtcTask =?= {int(task)} && JobStatus == 1'
    return condor_rm(constraint, pool, schedd, "the parent runs this task itself")


def recover(shared: Path, stale_after_s: float = 3600, dry_run: bool = False) -> dict:
    """Removes the jobs and directories of dead batches, then collects the store."""
    summary = {"batches_removed": 0, "job_sets_removed": 0, "batches": []}
    for batch_dir, record in find_dead_batches(shared, stale_after_s):
        summary["batches"].append(batch_dir.name)
        if dry_run:
            continue
        if record and record.get("scheduler") == "htcondor":
            if condor_rm(lineage_constraint(record["lineage"]), record.get("pool"),
                         record.get("schedd"), "its submitting process is dead"):
                summary["job_sets_removed"] += 1
        shutil.rmtree(batch_dir, ignore_errors=True)
        summary["batches_removed"] += 1
    if not dry_run:
        try:
            store = collect_garbage(shared, stale_after_s)
        except OSError as error:
            logger.warning("could not collect the store in %s: %s", shared, error)
            store = {}
        summary.update({f"store_{k}": v for k, v in store.items()})
    if summary["batches_removed"]:
        logger.info("removed %d dead batch(es) (%d with jobs still queued) in %s",
                    summary["batches_removed"], summary["job_sets_removed"], shared)
    return summary


class ResultCache:
    """``resume=True``: the results of finished tasks, kept across runs.

    ``<shared>/results/<key>.result`` holds the value returned by a task whose
    content hashes to ``key`` (its functions, their code and their arguments),
    signed as the cache entry of ``key`` (an entry renamed to another key is
    refused):
    a rerun of the same computation after a crash loads it instead of running the
    task again. Entries are signed like results and self-contained (no store
    blobs, so garbage collection never touches them); they stay until the user
    removes the directory. Only successful results are kept.
    """

    KIND = "cache"

    def __init__(self, shared: Path):
        from . import _core
        from ._serialization import keys_dir

        self._core = _core
        self.dir = Path(shared) / "results"
        _core.make_private_dir(str(self.dir))
        self._key = _core.SigningKey.load_or_create(keys_dir(shared))

    def identity(self, key: str):
        return self._core.SignedIdentity(self.KIND, task=key)

    @staticmethod
    def key_of(func) -> str | None:
        """The task's content hash, or None when it cannot be hashed (not cached).

        joblib hands over a BatchedCalls whose ``items`` are ``(function, args,
        kwargs)``; the function's bytecode is hashed too, so editing a function
        defined in a script invalidates its results."""
        import joblib

        items = getattr(func, "items", None)
        if items is None:
            return None
        try:
            codes = [_code_bytes(item[0]) for item in items]
            return joblib.hash(("jhtc-resume-1", items, codes))
        except Exception as error:  # noqa: BLE001 - unhashable: simply not cached
            logger.debug("task not cacheable: %s", error)
            return None

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.result"

    def get(self, key: str):
        """``(True, value)`` for a cached result, ``(False, None)`` otherwise. An entry
        that fails verification is refused (IntegrityError), never unpickled."""
        import pickle

        path = self.path(key)
        if not path.exists():
            return False, None
        payload = self._core.read_signed_file(str(path), self._key, self.identity(key))
        return True, pickle.loads(payload)

    def put(self, key: str, value) -> None:
        try:
            from ._serialization import cloudpickle

            payload = cloudpickle.dumps(value, protocol=5)
            self._core.write_signed_file(str(self.path(key)), self.identity(key), payload,
                                         self._key)
        except Exception as error:  # noqa: BLE001 - a result not cached is only a lost shortcut
            logger.warning("could not cache a result in %s: %s", self.dir, error)


def _code_bytes(func) -> bytes:
    import marshal

    while hasattr(func, "func") and not hasattr(func, "__code__"):
        func = func.func  # functools.partial, sklearn's _FuncWrapper keeps .function
    func = getattr(func, "function", func)
    code = getattr(func, "__code__", None)
    return marshal.dumps(code) if code is not None else b""


class InlineRunner:
    """Nested batches (level > 0) on HTCondor: a parent job waiting for children
    that cannot start holds a slot; when parents hold every slot, nothing moves.

    A task of the batch that has not started ``run_inline_after`` seconds after it
    was queued is taken back: its job is removed only if it is still idle (one
    atomic ``condor_rm -constraint``), and the parent runs the task itself, in
    this thread, one at a time. A job that started meanwhile is left alone and
    checked again later. The engine sees the removal as a failure of a task the
    batch has forgotten, and nobody waits for it.
    """

    def __init__(self, batch):
        import threading

        self._batch = batch
        self._after = float(batch.params.run_inline_after)
        self._lock = threading.Lock()
        self._queued: dict = {}   # task id -> (func, time of the last check or queuing)
        self._trying: dict = {}   # task id -> outcome that arrived during a removal, or None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"joblib_htcondor-inline-{batch.batch_id}")
        self.ran_inline = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def track(self, task_id: int, func) -> None:
        with self._lock:
            self._queued[task_id] = (func, time.monotonic())

    def holds(self, outcome) -> bool:
        """Called by the collector: True when the outcome must wait for a removal attempt."""
        with self._lock:
            self._queued.pop(outcome.task, None)
            if outcome.task in self._trying:
                self._trying[outcome.task] = outcome
                return True
        return False

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self._after / 4)):
            task_id, func = self._oldest_due()
            if task_id is not None:
                self._try(task_id, func)

    def _oldest_due(self):
        now = time.monotonic()
        with self._lock:
            due = [(t0, tid) for tid, (_, t0) in self._queued.items() if now - t0 >= self._after]
            if not due:
                return None, None
            _, task_id = min(due)
            func, _ = self._queued[task_id]
            self._trying[task_id] = None
        return task_id, func

    def _try(self, task_id: int, func) -> None:
        p = self._batch.params
        removed = remove_idle_job(self._batch.lineage, task_id, p.pool, p.schedd)
        with self._lock:
            arrived = self._trying.pop(task_id, None)
            if not removed and task_id in self._queued:
                self._queued[task_id] = (func, time.monotonic())  # started: look again later
            elif removed:
                self._queued.pop(task_id, None)
        if not removed:
            if arrived is not None:
                self._batch.complete(arrived)
            return
        future = self._batch.take(task_id)
        if future is None:
            return
        logger.info("batch %s: task %d did not start within %.0f s; running it in the parent",
                    self._batch.batch_id, task_id, self._after)
        self.ran_inline += 1
        try:
            value, error = func(), None
        except BaseException as task_error:  # noqa: BLE001 - travels to the caller
            value, error = None, task_error
        future._complete(value, error)
