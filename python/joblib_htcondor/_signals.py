"""SIGTERM and SIGINT to a process that has batches running: their jobs go first.

A submitting process that is told to stop (Ctrl-C, ``kill``, ``condor_rm`` of the
job it runs in, a node shutting down) must not leave its jobs and their
descendants queued, nor its task files on the shared disk. The handler:

1. removes every job of every live batch of this process, and of the batches
   those jobs started (the driver's ``remove_all`` uses the lineage constraint),
2. deletes the batches' directories and releases their data in the store,
3. hands the signal on: to the handler that was there before ours (Python's
   KeyboardInterrupt for SIGINT, the worker's for SIGTERM), or, where that was
   the default action, re-raises it so the process dies of it (exit 143 for
   SIGTERM, as its parent expects).

Handlers can only be set from the main thread: batches created elsewhere are
still registered, and covered once a batch of the main thread installed them.
Only a default, Python's own or a Python-level handler is replaced; a process
that ignores a signal keeps ignoring it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import weakref

logger = logging.getLogger("joblib_htcondor")

SIGNALS = (signal.SIGTERM, signal.SIGINT)

# Reentrant: the handler runs in the main thread, which it may interrupt inside register().
_lock = threading.RLock()
_batches: weakref.WeakSet = weakref.WeakSet()
_previous: dict = {}
_handling = False


def register(batch) -> None:
    """Covers ``batch`` (anything with ``abort_now(reason)``) until ``unregister``."""
    with _lock:
        _batches.add(batch)
    _install()


def unregister(batch) -> None:
    with _lock:
        _batches.discard(batch)


def live_batches() -> list:
    with _lock:
        return list(_batches)


def _install() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in SIGNALS:
        if signum in _previous:
            continue
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN or current is None:
            continue  # ignored on purpose, or set from C: not ours to override
        try:
            signal.signal(signum, _handle)
        except (ValueError, OSError):  # e.g. an embedded interpreter
            continue
        _previous[signum] = current


def abort_all(reason: str) -> int:
    """Aborts every live batch of this process; returns how many there were."""
    batches = live_batches()
    for batch in batches:
        try:
            batch.abort_now(reason)
        except Exception as error:  # noqa: BLE001 - the others must still be aborted
            logger.error("could not abort batch %s: %s", getattr(batch, "batch_id", "?"), error)
    return len(batches)


def _handle(signum, frame) -> None:
    global _handling
    name = signal.Signals(signum).name
    if not _handling:  # a second signal during the cleanup only hands on
        _handling = True
        try:
            count = abort_all(f"the submitting process received {name}")
            if count:
                logger.warning("%s: removed the jobs and files of %d batch(es)", name, count)
        finally:
            _handling = False
    _hand_on(signum, frame)


def _hand_on(signum, frame) -> None:
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # default_int_handler raises KeyboardInterrupt
        return
    # The default action: die of the signal, so the parent sees it as such.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
