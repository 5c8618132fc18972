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

The removal is bounded: each batch makes one ``condor_rm`` with a short timeout
(``HTCondorOptions.abort_timeout``, 10 s), no lock that another thread or process
may hold is waited for (the store is released later by ``close``, or collected
by the next run), and the handler waits at most ``ABORT_BOUND_S`` for all of it
(it runs in a helper thread). A second SIGINT or SIGTERM meanwhile exits at
once: the handler prints the batches that may be left and the command that
removes them, then ends the process (exit 128 + the signal number).

Handlers can only be set from the main thread: batches created elsewhere are
still registered, and covered once a batch of the main thread installed them.
Only a default, Python's own or a Python-level handler is replaced; a process
that ignores a signal keeps ignoring it.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import weakref

logger = logging.getLogger("joblib_htcondor")

SIGNALS = (signal.SIGTERM, signal.SIGINT)
#: The longest the handler waits for the batches' removal (one condor_rm each,
#: 10 s timeout, run side by side).
ABORT_BOUND_S = 15.0

# Reentrant: the handler runs in the main thread, which it may interrupt inside register().
_lock = threading.RLock()
_batches: weakref.WeakSet = weakref.WeakSet()
_previous: dict = {}
_handling = False


def _start_empty_after_fork() -> None:
    """A forked child (a multiprocessing worker) covers only the batches it starts:
    the parent's are the parent's to remove, and a lock a parent thread held at
    the fork would never be released here. It also gets back the handlers ours
    replaced, so that it stops as it would without us (SIGTERM's default: die at
    once, whatever the child is doing); its first batch installs ours again.
    With ours left in place, joblib's test_nested_loop hung now and then: a pool
    worker that got multiprocessing's terminate() went on waiting for work."""
    global _lock, _batches, _handling, _aborting, _previous, _worker_handlers
    _lock = threading.RLock()
    _batches = weakref.WeakSet()
    _handling = False
    _aborting = []
    _restore_in_child(_handle, _previous)
    _previous = {}
    # Then the worker's (worker.run_as_worker), in a process a task forked: it raises
    # KeyboardInterrupt, which a pool worker may swallow and then wait for work
    # forever (joblib's test_nested_loop[htcondor-multiprocessing] hung that way).
    _restore_in_child(*_worker_handlers)
    _worker_handlers = (None, {})


def _restore_in_child(ours, replaced: dict) -> None:
    for signum, previous in replaced.items():
        try:
            if ours is not None and previous is not None and signal.getsignal(signum) is ours:
                signal.signal(signum, previous)
        except (ValueError, OSError, TypeError):
            pass


#: The worker's own handler and what it replaced (see note_worker_handlers).
_worker_handlers: tuple = (None, {})


def note_worker_handlers(handler, replaced: dict) -> None:
    """A worker process (worker.run_as_worker) put ``handler`` in place of the
    handlers in ``replaced`` (signal number -> handler): a child it forks gets
    those back. One after-fork hook restores ours and the worker's, in that order,
    whichever module was imported first."""
    global _worker_handlers
    _worker_handlers = (handler, dict(replaced))


os.register_at_fork(after_in_child=_start_empty_after_fork)


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


def _abort_one(batch, reason: str) -> None:
    try:
        batch.abort_now(reason)
    except Exception as error:  # noqa: BLE001 - the others must still be aborted
        logger.error("could not abort batch %s: %s", getattr(batch, "batch_id", "?"), error)


def abort_all(reason: str, bound_s: float | None = None) -> list:
    """Aborts every live batch of this process, side by side, waiting at most
    ``bound_s`` (None: as long as it takes). Returns the batches whose abort
    had not finished by then."""
    batches = live_batches()
    threads = [threading.Thread(target=_abort_one, args=(batch, reason), daemon=True,
                                name=f"joblib_htcondor-abort-{getattr(batch, 'batch_id', '?')}")
               for batch in batches]
    for thread in threads:
        thread.start()
    deadline = None if bound_s is None else time.monotonic() + bound_s
    unfinished = []
    for batch, thread in zip(batches, threads):
        # join() with a timeout is interruptible: a second signal runs _handle again
        thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            unfinished.append(batch)
    return unfinished


_aborting: list = []  # (batch id, shared_data_dir) of the batches being aborted


def _describe(batches) -> list:
    out = []
    for batch in batches:
        shared = getattr(getattr(batch, "params", None), "shared_data_dir", None)
        out.append((getattr(batch, "batch_id", "?"), str(shared) if shared else "?"))
    return out


def _exit_now(signum: int) -> None:
    """The second signal: no more waiting. What may be left goes to stderr."""
    lines = [f"joblib_htcondor: {signal.Signals(signum).name} again: exiting now."]
    if _aborting:
        lines.append("Jobs and files of these batches may be left:")
        lines += [f"  {batch_id} (shared_data_dir {shared})" for batch_id, shared in _aborting]
        for shared in dict.fromkeys(shared for _, shared in _aborting):
            lines.append(f"Remove them with: {sys.executable} -m joblib_htcondor.cleanup "
                         f"--path {shared}")
    try:
        os.write(2, ("\n".join(lines) + "\n").encode())
    finally:
        os._exit(128 + signum)


def _handle(signum, frame) -> None:
    global _handling, _aborting
    name = signal.Signals(signum).name
    if _handling:  # a second signal while the first one's removal runs
        _exit_now(signum)
    _handling = True
    try:
        batches = live_batches()
        _aborting = _describe(batches)
        unfinished = abort_all(f"the submitting process received {name}", ABORT_BOUND_S)
        if unfinished:
            logger.error("%s: gave up after %.0f s; jobs and files may be left of %s",
                         name, ABORT_BOUND_S, ", ".join(b for b, _ in _describe(unfinished)))
        elif batches:
            logger.warning("%s: removed the jobs and files of %d batch(es)", name, len(batches))
    finally:
        _handling = False
        _aborting = []
    _hand_on(signum, frame)


def _hand_on(signum, frame) -> None:
    previous = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)  # default_int_handler raises KeyboardInterrupt
        return
    # The default action: die of the signal, so the parent sees it as such.
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
