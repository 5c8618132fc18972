"""What a run leaves behind when it dies, and how the next run deals with it.

Every batch directory holds an owner file, written when the batch starts and
touched every ``HEARTBEAT_S`` while the batch lives (its mtime is the heartbeat)::

    batches/<batch_id>/owner.json   {"host", "pid", "start_ticks", "boot_id",
                                     "pid_namespace", "lineage", "scheduler",
                                     "pool", "schedd", "event_log"[, "resume_grace_s"]
                                     [, "abandoned"]}

Liveness follows the C++ rule shared with the store's owner records
(``_core.owner_is_alive``, include/jhtc/owner_identity.hpp): on the same host,
boot and PID namespace the pid must exist with its start time; anywhere else (a
batch inside a job on another node, or in another PID namespace or container
with the same host name) the heartbeat must be younger than ``stale_after_s``.
A batch is dead when its owner is not alive, when it is marked abandoned (it
ended without being able to remove its jobs), or when the root batch of its
lineage is dead or gone (a nested batch outlives its root only as an orphan).
``recover`` removes the jobs of dead batches from the scheduler (their lineage:
the batch and every batch its jobs started), deletes their directories, then
collects the store. It runs at the start of every root batch and from
``python -m joblib_htcondor.cleanup``. A batch directory without an owner file
goes by age (``stale_after_s``).

A root batch run with ``resume=True`` waits to be resumed: while its heartbeat is
younger than its ``resume_grace_s`` (the run's ``resume_grace``) the next run's
start leaves it, its jobs and the batches below it alone, so that a rerun can
adopt the jobs (see _resume). The cleanup command removes it at once unless told
``--keep-resumable``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from ._layout import OWNER_FILE, SharedLayout
from ._serialization import collect_garbage

logger = logging.getLogger("joblib_htcondor")

CONDOR_TIMEOUT_S = 60
#: How often a live batch touches its owner file; the stale bound
#: (``stale_after_s``, default 3600 s) must be well above it.
HEARTBEAT_S = 60.0


def write_owner(batch_dir: Path, lineage: str, params, event_log: str = "") -> None:
    from . import _core

    record = dict(_core.owner_identity())
    record.update({"lineage": lineage, "scheduler": params.scheduler, "pool": params.pool,
                   "schedd": params.schedd, "event_log": event_log})
    if params.resume and params.scheduler == "htcondor":  # local jobs die with their caller
        record["resume_grace_s"] = params.resume_grace
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


def mark_abandoned(batch_dir: Path) -> None:
    """The batch ended but could not remove its jobs: recovery treats it as dead,
    whether or not its process still lives."""
    record = read_owner(batch_dir)
    if record is None:
        return
    record["abandoned"] = True
    temp = batch_dir / f".{OWNER_FILE}.tmp"
    with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as stream:
        json.dump(record, stream)
    os.replace(temp, batch_dir / OWNER_FILE)


def heartbeat(batch_dir: Path) -> None:
    """Tells other processes the batch's owner still runs (see owner_is_dead)."""
    try:
        os.utime(batch_dir / OWNER_FILE)
    except OSError:
        pass  # removed meanwhile, or the shared dir briefly unreachable


def owner_is_dead(record: dict, heartbeat_age_s: float = -1.0,
                  stale_after_s: float = 3600) -> bool:
    """The shared rule (module docstring); a malformed record counts as dead."""
    from . import _core

    if record.get("abandoned"):
        return True
    try:
        return not _core.owner_is_alive(
            str(record.get("host")), int(record.get("pid") or 0),
            int(record.get("start_ticks") or 0), str(record.get("boot_id") or ""),
            int(record.get("pid_namespace") or 0), float(heartbeat_age_s), float(stale_after_s))
    except (TypeError, ValueError, OverflowError):
        return heartbeat_age_s < 0 or heartbeat_age_s > stale_after_s


def waits_for_resume(name: str, record: dict, heartbeat_age_s: float) -> bool:
    """A root batch of a ``resume=True`` run, not abandoned, whose heartbeat is
    younger than the run's ``resume_grace``: a rerun may still adopt its jobs."""
    grace = record.get("resume_grace_s")
    if record.get("abandoned") or record.get("lineage") != name or grace is None:
        return False
    try:
        return 0 <= heartbeat_age_s < float(grace)
    except (TypeError, ValueError):
        return False


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


def descendant_batch_dirs(batches: Path, lineage: str) -> list:
    """The directories of this user's batches started, at any depth, by the jobs of
    ``lineage``: their records' lineages extend it."""
    if not batches.is_dir():
        return []
    below = lineage + "/"
    return [batches / name for name, record in _trusted_records(batches).items()
            if record is not None and str(record.get("lineage", "")).startswith(below)]


def find_dead_batches(shared: Path, stale_after_s: float = 3600,
                      keep_resumable: bool = True) -> list:
    """``(batch_dir, owner record or None)`` of every dead batch under ``shared``;
    with ``keep_resumable``, those waiting for a rerun (``waits_for_resume``) and
    the batches below them are not dead."""
    from . import _core

    batches = SharedLayout.of(shared).batches
    if not batches.is_dir():
        return []
    _core.check_owned_dir(str(batches))  # refused unless it is ours
    records = _trusted_records(batches)
    now = time.time()

    def dead_owner(name: str, record: dict) -> bool:
        try:
            age = now - (batches / name / OWNER_FILE).stat().st_mtime
        except OSError:
            age = -1.0
        if not owner_is_dead(record, age, stale_after_s):
            return False
        return not (keep_resumable and waits_for_resume(name, record, age))

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


def remove_lineage_jobs(record: dict, reason: str) -> bool:
    """The jobs of a dead batch's lineage (and below), by the C++ driver, which
    validates and quotes the lineage: a planted record cannot widen the removal.
    True when jobs were marked for removal; False when none were, or when the
    record or the scheduler would not allow it (logged)."""
    from . import _core

    try:
        return _core.remove_lineage(str(record.get("scheduler")), str(record.get("lineage")),
                                    reason, pool=record.get("pool") or None,
                                    schedd=record.get("schedd") or None,
                                    timeout_s=CONDOR_TIMEOUT_S)
    except (ValueError, TypeError, _core.SchedulerError) as error:
        logger.warning("not removing the jobs of lineage %r: %s", record.get("lineage"), error)
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
        if record and record.get("scheduler") == "htcondor":
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
