"""What a run leaves behind when it dies, and how the next run deals with it.

Every batch has one owner record, kept by the store beside the batch's references
and written by C++ alone (include/jhtc/batch_owner.hpp)::

    store/refs/<batch_id>/owner    who runs the batch (host, pid, start time, boot,
                                   PID namespace) and where its jobs are (lineage,
                                   scheduler, pool, schedd, event log
                                   [, resume_grace_s][, abandoned])

``TaskCodec`` writes it when the batch opens; the process's heartbeat thread
(_serialization) refreshes its mtime every ``_serialization.HEARTBEAT_S``. The store's garbage
collector, the monitor, a rerun that adopts the jobs (_resume) and this module
read it, and all of them judge it by one rule, ``OwnerRecord.is_dead``: abandoned
(the batch ended without being able to remove its jobs), or its process not alive.
On the same host, boot and PID namespace the pid must exist with its start time;
anywhere else (a batch inside a job on another node, or in another PID namespace
or container with the same host name) the heartbeat must be younger than
``stale_after_s``. A nested batch whose root batch is dead or gone is dead too
(it outlives its root only as an orphan).

``recover`` removes the jobs of dead batches from the scheduler (their lineage:
the batch and every batch its jobs started), deletes their directories, then
collects the store, which drops their records. It runs at the start of every root
batch and from ``python -m joblib_htcondor.cleanup``. A batch directory without an
owner record goes by age (``stale_after_s``). Earlier versions kept the record in
``batches/<batch_id>/owner.json``: it is read where the store has none, so that
this version cleans up after a run of the previous one.

A root batch run with ``resume=True`` waits to be resumed: while its heartbeat is
younger than its ``resume_grace_s`` (the run's ``resume_grace``) the next run's
start leaves it, its jobs and the batches below it alone, so that a rerun can
adopt the jobs (see _resume). The cleanup command removes it at once unless told
``--keep-resumable``.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path

from . import _core
from ._layout import LEGACY_OWNER_FILE, SharedLayout
from ._serialization import collect_garbage

logger = logging.getLogger("joblib_htcondor")

CONDOR_TIMEOUT_S = 60


def describe_owner(lineage: str, params, event_log: str = "") -> _core.BatchOwner:
    """The owner record a batch opens the store with (the store adds the process)."""
    about = _core.BatchOwner()
    about.lineage = lineage
    about.scheduler = params.scheduler
    about.pool = params.pool or ""
    about.schedd = params.schedd or ""
    about.event_log = event_log
    if params.resume and params.scheduler == "htcondor":  # local jobs die with their caller
        about.resume_grace_s = float(params.resume_grace)
    return about


def read_owner(store: _core.ContentStore | None, batch_dir: Path) -> _core.OwnerRecord | None:
    """The owner record of the batch in ``batch_dir``, None when there is none or it
    is unreadable. A batch directory (or an earlier version's owner.json) another
    user planted, or that others may write, is refused with ``UnsafePathError``:
    its lineage goes into a ``condor_rm``, and the directory gets deleted."""
    if not _core.check_owned_dir(str(batch_dir)):  # refused unless ours
        return None
    try:
        record = store.owner_of(batch_dir.name) if store is not None else None
    except ValueError:  # not a batch id the store accepts: nothing of ours
        return None
    if record is not None and record.owner.lineage:
        return record
    return _read_legacy_owner(batch_dir)


def _read_legacy_owner(batch_dir: Path) -> _core.OwnerRecord | None:
    """``batches/<id>/owner.json`` of a run of an earlier version."""
    path = batch_dir / LEGACY_OWNER_FILE
    try:
        _core.check_owned_file(str(path))
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        with open(os.open(path, flags), "rb") as stream:
            age = time.time() - os.fstat(stream.fileno()).st_mtime
            text = stream.read(65536).decode("utf-8", errors="replace")
    except _core.UnsafePathError:
        raise
    except (OSError, RuntimeError):  # missing, unreadable (C++ errors: RuntimeError)
        return None
    record = _core.parse_owner_record(text, age)
    return record if record is not None and record.owner.lineage else None


def _trusted_records(layout: SharedLayout) -> dict:
    """Owner records of the batch directories this user owns; others are left
    alone (never removed, their lineage never used) and named in a warning."""
    batches = layout.batches
    try:
        store = _core.ContentStore(str(layout.store))
    except (OSError, _core.UnsafePathError) as error:
        logger.warning("reading only earlier versions' owner records: %s", error)
        store = None
    records = {}
    for entry in batches.iterdir():
        if not entry.is_dir() or entry.is_symlink():
            if entry.is_symlink():
                logger.warning("ignoring %s: a symbolic link in place of a batch directory",
                               entry)
            continue
        try:
            records[entry.name] = read_owner(store, entry)
        except _core.UnsafePathError as error:
            logger.warning("ignoring a batch directory that is not this user's: %s", error)
    return records


def descendant_batch_dirs(layout: SharedLayout, lineage: str) -> list:
    """The directories of this user's batches started, at any depth, by the jobs of
    ``lineage``: their records' lineages extend it."""
    if not layout.batches.is_dir():
        return []
    below = lineage + "/"
    return [layout.batches / name for name, record in _trusted_records(layout).items()
            if record is not None and record.owner.lineage.startswith(below)]


def find_dead_batches(shared: Path, stale_after_s: float = 3600,
                      keep_resumable: bool = True) -> list:
    """``(batch_dir, owner record or None)`` of every dead batch under ``shared``;
    with ``keep_resumable``, those waiting for a rerun (``waits_for_resume``) and
    the batches below them are not dead."""
    layout = SharedLayout.of(shared)
    batches = layout.batches
    if not batches.is_dir():
        return []
    _core.check_owned_dir(str(batches))  # refused unless it is ours
    records = _trusted_records(layout)

    def dead_owner(name: str, record: _core.OwnerRecord) -> bool:
        if not record.is_dead(stale_after_s):
            return False
        return not (keep_resumable and record.waits_for_resume(name))

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
        root = record.owner.lineage.split("/")[0]
        root_record = records.get(root)
        if dead_owner(name, record) or (root != name and (
                root_record is None or dead_owner(root, root_record))):
            dead.append((batches / name, record))
    return dead


#: How often, and how long apart, removing a batch directory is tried again when
#: something wrote into it meanwhile (see remove_batch_dir).
REMOVE_DIR_ATTEMPTS = 10
REMOVE_DIR_PAUSE_S = 0.1


def remove_batch_dir(batch_dir: Path) -> bool:
    """Deletes a batch directory whose jobs were just removed or have ended. The schedd appends
    their abort events to the event log in it after ``condor_rm`` has returned: a
    write landing between rmtree's unlink of ``condor.log`` and its ``rmdir`` creates
    the file again, and the directory stayed, holding only that log. Tried again
    until it is gone; once it is, a late event cannot create it. True when gone."""
    for attempt in range(REMOVE_DIR_ATTEMPTS):
        shutil.rmtree(batch_dir, onerror=writable_then_retry)
        if not os.path.lexists(batch_dir):
            return True
        time.sleep(REMOVE_DIR_PAUSE_S * (attempt + 1))
    logger.warning("could not remove %s: something keeps writing into it", batch_dir)
    return False


def writable_then_retry(function, path: str, _exc_info) -> None:
    """rmtree's error hook: a directory made read-only (by the user, by a test)
    must not keep our files; anything else that fails is left alone (and
    remove_batch_dir reports a directory that stays)."""
    try:
        os.chmod(os.path.dirname(path), 0o700)
        function(path)
    except OSError:
        pass


def remove_lineage_jobs(record: _core.OwnerRecord, reason: str) -> bool:
    """The jobs of a dead batch's lineage (and below), by the C++ driver, which
    validates and quotes the lineage: a planted record cannot widen the removal.
    True when jobs were marked for removal; False when none were, or when the
    record or the scheduler would not allow it (logged)."""
    owner = record.owner
    try:
        return _core.remove_lineage(owner.scheduler, owner.lineage, reason,
                                    pool=owner.pool or None, schedd=owner.schedd or None,
                                    timeout_s=CONDOR_TIMEOUT_S)
    except (ValueError, TypeError, _core.SchedulerError) as error:
        logger.warning("not removing the jobs of lineage %r: %s", owner.lineage, error)
        return False


def recover(shared: Path, stale_after_s: float = 3600, dry_run: bool = False,
            keep_resumable: bool = True) -> dict:
    """Removes the jobs and directories of dead batches, then collects the store
    (keeping the data of every batch not removed: a run waiting to be resumed
    still needs its blobs)."""
    summary = {"batches_removed": 0, "job_sets_removed": 0, "batches": []}
    dead = find_dead_batches(shared, stale_after_s, keep_resumable)
    batches = Path(shared) / "batches"
    dead_names = {batch_dir.name for batch_dir, _ in dead}
    kept = [p.name for p in batches.iterdir() if p.name not in dead_names] \
        if batches.is_dir() else []
    for batch_dir, record in dead:
        summary["batches"].append(batch_dir.name)
        if dry_run:
            continue
        if record is not None and record.owner.scheduler == "htcondor":
            if remove_lineage_jobs(record, "its submitting process is dead"):
                summary["job_sets_removed"] += 1
        remove_batch_dir(batch_dir)
        summary["batches_removed"] += 1
    if not dry_run:
        try:
            store = collect_garbage(shared, stale_after_s, keep=kept)
        except OSError as error:
            logger.warning("could not collect the store in %s: %s", shared, error)
            store = {}
        summary.update({f"store_{k}": v for k, v in store.items()})
    if summary["batches_removed"]:
        logger.info("removed %d dead batch(es) (%d with jobs still queued) in %s",
                    summary["batches_removed"], summary["job_sets_removed"], shared)
    return summary
