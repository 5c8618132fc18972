"""``resume=True``: a rerun takes over the jobs a killed run left.

A root batch of a ``resume=True`` run notes, before each task can reach the
scheduler, which task holds which content (the results cache's key)::

    batches/<batch_id>/resume.keys    "<engine task id> <task file name> <key>" per line

When that run dies without cancelling (SIGKILL, a lost login), its batch waits
``resume_grace`` seconds (see OwnerRecord.waits_for_resume): its jobs keep running.
A rerun of the same script with ``resume=True`` then, at the start of its root
batch:

1. finds such batches of the same scheduler, pool and schedd, and makes itself
   their owner (their owner record names this process from now on);
2. hands the engine the tasks those batches ran whose result is not cached yet;
   the engine (C++, ``Engine::adopt``) asks the scheduler which still have a job
   (queued, running, or ended since) and follows those jobs from the start of the
   earlier batch's event log;
3. when joblib hands over a task whose key an adopted task has, the task's future
   waits for that job instead of submitting a new one; the result is read from
   the earlier batch's files, with its identity. Every other task is submitted as
   usual, and so is an adopted task whose job fails (the engine does not retry
   it: a new job would need the earlier batch's identity).

When the rerun's batch ends, the jobs of the earlier batches that nobody claimed
are removed, and their directories and store references go.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from . import _core, _recovery
from ._layout import SharedLayout
from ._serialization import HEARTBEAT_S, TaskCodec
from ._task import result_path_for

logger = logging.getLogger("joblib_htcondor")

KEYS_FILE = "resume.keys"
#: A killed run's owner on another host is judged by its heartbeat alone: a rerun
#: adopts its batch once the heartbeat is this old (three missed beats).
ADOPT_AFTER_SILENCE_S = 3 * HEARTBEAT_S


def record_key(batch_dir: Path, task_id: int, task_path: str, key: str) -> None:
    """Notes the task's content key before its job can exist (one line, appended)."""
    line = f"{task_id} {os.path.basename(task_path)} {key}\n"
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(batch_dir / KEYS_FILE, flags, 0o600)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def _read_keys(batch_dir: Path) -> list:
    """``(engine task id, task file name, key)`` of each line that parses."""
    _core.check_owned_file(str(batch_dir / KEYS_FILE))
    entries = []
    with open(batch_dir / KEYS_FILE, encoding="ascii", errors="replace") as stream:
        for line in stream:
            parts = line.split()
            if len(parts) == 3 and parts[0].isdigit() and parts[1].endswith(".task") \
                    and "/" not in parts[1]:
                entries.append((int(parts[0]), parts[1], parts[2]))
    return entries


class _Earlier:
    """One killed run's batch this batch took over."""

    def __init__(self, shared: Path, batch_dir: Path, record: _core.OwnerRecord):
        self.dir = batch_dir
        self.owner = record.owner
        self.lineage = record.owner.lineage
        self.codec = TaskCodec(shared, batch_dir.name, batch_dir.name)
        # Ours from now on: the next run's cleanup sees a live owner.
        self.owner.event_log = self.owner.event_log or str(batch_dir / "condor.log")
        self.codec.take_over(self.owner)


class Adoption:
    """The jobs of killed runs that one root batch took over (see the module doc).

    Thread-safe: ``claim``, ``stash`` and ``take_stashed`` may be called from the
    caller's and the collector's threads."""

    def __init__(self, batch, shared: Path, cache):
        import threading

        self._lock = threading.Lock()
        self._by_key: dict = {}     # key -> engine task id of the adopted task
        self._earlier_of: dict = {}  # engine task id -> (_Earlier, task file path)
        self._unclaimed: set = set()  # engine task ids joblib has not handed over yet
        self._stashed: dict = {}    # engine task id -> outcome that came before its claim
        self.earlier: list = []
        for batch_dir, record in self._resumable(batch, shared):
            self._adopt(batch, shared, cache, batch_dir, record)

    @staticmethod
    def _resumable(batch, shared: Path) -> list:
        """Dead root batches of resume=True runs that wait for a rerun and were
        submitted to the same scheduler, pool and schedd."""
        layout = SharedLayout.of(shared)
        store = _core.ContentStore(str(layout.store))
        found = []
        p = batch.params
        for entry in sorted(layout.batches.iterdir()):
            if entry.name == batch.batch_id or not (entry / KEYS_FILE).is_file():
                continue
            try:
                record = _recovery.read_owner(store, entry)
            except (OSError, _core.UnsafePathError) as error:
                logger.warning("not resuming %s: %s", entry, error)
                continue
            # On another host (a lost login node) only the heartbeat tells: three
            # missed beats say the owner is gone.
            if record is None or not record.is_dead(ADOPT_AFTER_SILENCE_S):
                continue  # alive: another rerun adopted it, or it still runs
            if not record.waits_for_resume(entry.name):
                continue
            owner = record.owner
            if (owner.scheduler, owner.pool or None, owner.schedd or None) != \
                    (p.scheduler, p.pool or None, p.schedd or None):
                continue
            found.append((entry, record))
        return found

    def _adopt(self, batch, shared: Path, cache, batch_dir: Path,
               record: _core.OwnerRecord) -> None:
        earlier = _Earlier(shared, batch_dir, record)
        self.earlier.append(earlier)
        event_log = earlier.owner.event_log
        wanted, keys = [], {}
        for task_id, name, key in _read_keys(batch_dir):
            if cache is not None and cache.path(key).exists():
                continue  # finished and cached: the cache answers it
            task_path = str(batch_dir / "tasks" / name)
            wanted.append(_core.AdoptionTask(task_id, task_path, result_path_for(task_path)))
            keys[task_id] = (key, task_path)
        if not wanted:
            return
        try:
            adopted = batch.engine.adopt(earlier.lineage, event_log, wanted)
        except (_core.SchedulerError, ValueError) as error:
            logger.warning("batch %s: could not adopt the jobs of %s, submitting its tasks "
                           "again: %s", batch.batch_id, batch_dir.name, error)
            return
        with self._lock:
            for task in adopted:
                key, task_path = keys[task.earlier_task]
                if key not in self._by_key:  # two killed runs of one script: the first
                    self._by_key[key] = task.task
                    self._unclaimed.add(task.task)
                self._earlier_of[task.task] = (earlier, task_path)
        logger.info("batch %s: adopted %d job(s) of the killed run %s (%s)", batch.batch_id,
                    len(adopted), batch_dir.name, ", ".join(t.job_id for t in adopted))

    @property
    def adopted(self) -> int:
        return len(self._earlier_of)

    def claim(self, key: str | None):
        """The engine task id of the adopted task with this key (once), or None."""
        if key is None:
            return None
        with self._lock:
            task_id = self._by_key.pop(key, None)
            self._unclaimed.discard(task_id)
            return task_id

    def source(self, task_id: int):
        """``(codec, task file path)`` of an adopted task, None for others."""
        with self._lock:
            found = self._earlier_of.get(task_id)
        return None if found is None else (found[0].codec, found[1])

    def stash(self, outcome) -> bool:
        """Keeps the outcome of an adopted task joblib has not handed over yet."""
        with self._lock:
            if outcome.task not in self._unclaimed:
                return False
            self._stashed[outcome.task] = outcome
            return True

    def take_stashed(self, task_id: int):
        with self._lock:
            return self._stashed.pop(task_id, None)

    def close(self, reason: str) -> None:
        """Removes what is left of the adopted batches: the jobs nobody claimed
        (their lineage), their store references and their directories. A removal
        that fails leaves the directory, marked abandoned, for the cleanup."""
        for earlier in self.earlier:
            if earlier.owner.scheduler == "htcondor":
                try:
                    _core.remove_lineage("htcondor", earlier.lineage, reason,
                                         pool=earlier.owner.pool or None,
                                         schedd=earlier.owner.schedd or None,
                                         timeout_s=_recovery.CONDOR_TIMEOUT_S)
                except (ValueError, _core.SchedulerError) as error:
                    logger.warning("the jobs of the adopted batch %s may be left: %s",
                                   earlier.dir.name, error)
                    earlier.codec.mark_abandoned()
                    continue
            earlier.codec.release()
            _recovery.remove_batch_dir(earlier.dir)
