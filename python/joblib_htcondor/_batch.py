"""One joblib batch (one ``Parallel`` call at one recursion level): its directory
in the shared data dir (see _layout), its C++ engine, and the thread that turns
the engine's outcomes into completed futures.

The whole batch directory is removed when the batch ends, however it ends.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

from . import _core, _recovery, _resume, _signals
from ._defaults import resolve_throttle
from ._errors import (
    JobFailedError,
    RemoteTraceback,
    SchedulerError,
    SharedDiskBudgetError,
    TaskCancelledError,
)
from ._inline_runner import InlineRunner
from ._job_description import JobDescription, durable_files, thread_cap
from ._layout import SharedLayout, default_logs_dir, tasks_dir
from ._params import BackendParams
from ._pending import PendingTasks
from ._result_cache import ResultCache
from ._serialization import TaskCodec
from ._task import TaskCalls, result_path_for
from ._task_result import read_task_result

logger = logging.getLogger("joblib_htcondor")

STDERR_TAIL_BYTES = 2000


def new_batch_id(level: int) -> str:
    return f"{time.strftime('%Y%m%d-%H%M%S')}-L{level}-{os.getpid()}-{secrets.token_hex(3)}"


def make_private_dir(path: Path, parameter: str, check_owner: bool = True) -> Path:
    """Creates ``path`` owner-only; an error names the parameter and the OS reason.
    With ``check_owner`` an existing ``path`` must be a directory of this user that
    others cannot write (``UnsafePathError`` otherwise); ``shared_data_dir`` itself
    is the user's choice and may be group-writable."""
    try:
        if check_owner:
            _core.make_private_dir(str(path))
        else:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except _core.UnsafePathError as error:
        raise _core.UnsafePathError(f"{parameter}: {error}") from None
    except OSError as error:
        raise ValueError(
            f"{parameter}: cannot create {str(path)!r}: {error.strerror or error}") from error
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{parameter}: {str(path)!r} is not writable by this user")
    return path


class TaskFuture:
    """What ``submit`` returns to joblib; completed by the batch's collector thread."""

    def __init__(self, task_id: int, callback: Callable | None):
        self.task_id = task_id
        self._callback = callback
        self._done = threading.Event()
        self._value = None
        self._error: BaseException | None = None

    def _complete(self, value=None, error: BaseException | None = None) -> None:
        self._value, self._error = value, error
        self._done.set()
        if self._callback is not None:
            self._callback(self)

    def done(self) -> bool:
        return self._done.is_set()

    def get(self, timeout: float | None = None):
        if not self._done.wait(timeout):
            raise TimeoutError(f"task {self.task_id} did not finish within {timeout} s")
        if self._error is not None:
            raise self._error
        return self._value

    result = get


class Batch:
    """Runs the tasks of one batch through the engine; thread-safe ``submit``."""

    def __init__(self, params: BackendParams, level: int, parent_lineage: str, n_jobs: int,
                 inner_max_num_threads: int | None = None):
        self.params = params
        self.level = level
        self._pid = os.getpid()  # see inherited_through_fork
        self.threads = thread_cap(params, level, inner_max_num_threads)
        self.batch_id = new_batch_id(level)
        self.lineage = f"{parent_lineage}/{self.batch_id}" if parent_lineage else self.batch_id
        shared = make_private_dir(Path(params.shared_data_dir).absolute(), "shared_data_dir",
                                  check_owner=False)
        self.layout = SharedLayout(shared)
        make_private_dir(self.layout.batches, "shared_data_dir")
        self.dir = make_private_dir(self.layout.batch_dir(self.batch_id), "shared_data_dir")
        self.tasks_dir = make_private_dir(tasks_dir(self.dir), "shared_data_dir")
        if params.log_dir_prefix:
            self.logs_dir = make_private_dir(
                Path(params.log_dir_prefix).absolute() / self.batch_id, "log_dir_prefix",
                check_owner=False)
        else:
            self.logs_dir = make_private_dir(default_logs_dir(self.dir), "shared_data_dir")
        self.throttle = resolve_throttle(params, level, n_jobs)
        budget_mb = params.value_for_level("max_shared_disk", level)
        self.disk_budget = budget_mb * 2**20 if budget_mb else 0  # bytes; 0: no limit
        self.root_batch_id = self.lineage.split("/")[0]
        # The driver writes its event log into the batch directory unless the user
        # keeps the logs; the owner record names it for a rerun that adopts the jobs.
        self.event_log = (self.logs_dir if params.log_dir_prefix else self.dir) / "condor.log"
        if level == 0:
            self._collect_leftovers(shared)
        # Opening the batch in the store writes its one owner record (see _recovery),
        # before the journal: the monitor judges a journaled batch without one as dead.
        self.codec = TaskCodec(
            shared, self.batch_id, self.root_batch_id, durable=durable_files(params.scheduler),
            about=_recovery.describe_owner(self.lineage, params, str(self.event_log)))
        self.jobs = JobDescription(
            params, level, self.batch_id, self.root_batch_id, self.lineage, self.layout,
            self.dir, self.logs_dir, self.event_log, self.throttle, self.threads,
            key_path=self.codec.key_path)
        self.journal = None
        try:
            self.journal = self._open_journal(shared) if params.export_metadata else None
            self.engine = self.jobs.start_engine(self.journal, self.disk_budget)
        except BaseException:
            self.codec.release()
            self._finish_journal("failed")
            self._remove_files()
            raise
        self._lock = threading.Lock()
        self._pending = PendingTasks(self._lock)
        self._next_index = 0
        self._closed = False
        self.cancelled = False
        self._aborted = False
        self._removal_failed: BaseException | None = None  # the engine's jobs may be left
        self._bytes_reported_at = 0.0
        # The run time of the task whose future this thread is completing: joblib's
        # completion callback (and so batch_completed) runs in the same thread.
        self.run_time = threading.local()
        self.cache = None
        if params.resume:
            make_private_dir(self.layout.results, "shared_data_dir")
            self.cache = ResultCache(shared)
        self.adoption = None
        # A root batch on HTCondor notes its tasks' keys: a rerun may adopt its jobs.
        self._notes_keys = self.cache is not None and level == 0 and \
            params.scheduler == "htcondor"
        if self._notes_keys:
            try:
                self.adoption = _resume.Adoption(self, shared, self.cache)
            except (OSError, ValueError, _core.UnsafePathError) as error:
                logger.warning("batch %s: not resuming the jobs of killed runs: %s",
                               self.batch_id, error)
        self._inline = InlineRunner(self) if self._runs_inline() else None
        self._collector = threading.Thread(
            target=self._collect, name=f"joblib_htcondor-{self.batch_id}", daemon=True)
        self._collector.start()
        if self._inline is not None:
            self._inline.start()
        _signals.register(self)
        logger.info("batch %s: level %d, scheduler %s, throttle %d",
                    self.batch_id, level, params.scheduler, self.throttle)

    def _runs_inline(self) -> bool:
        """A nested batch whose jobs wait too long runs them itself (see _inline_runner)."""
        return (self.level > 0 and self.params.scheduler == "htcondor"
                and self.params.run_inline_after != float("inf"))

    @staticmethod
    def _collect_leftovers(shared: Path) -> None:
        """Jobs, batch directories and data of runs that died without cleaning up
        (killed, node lost): see _recovery."""
        try:
            _recovery.recover(shared)
        except OSError as error:
            logger.warning("could not collect leftovers of dead runs in %s: %s", shared, error)

    def _open_journal(self, shared: Path) -> _core.JournalWriter:
        parent = self.lineage.split("/")[-2] if "/" in self.lineage else ""
        p, level = self.params, self.level
        return _core.JournalWriter(
            str(self.layout.journal), self.batch_id, parent, self.root_batch_id, level,
            self.throttle, p.scheduler,
            request_cpus=float(p.value_for_level("request_cpus", level)),
            request_memory_mb=p.value_for_level("request_memory", level) or 0,
            request_gpus=p.value_for_level("request_gpus", level))

    def _finish_journal(self, state: str) -> None:
        if self.journal is not None and not self.journal.finished:
            self.journal.bytes_held(self.codec.bytes_held)
            self.journal.finish(state)

    def submit(self, func, callback: Callable | None) -> TaskFuture:
        with self._lock:
            if self._closed:
                raise RuntimeError(f"batch {self.batch_id} is closed")
            index = self._take_index()
        key = self.cache.key_of(func) if self.cache is not None else None
        if key is not None:
            found, value = self.cache.get(key)
            if found:  # resume: finished in an earlier run
                future = TaskFuture(-1 - index, callback)
                threading.Thread(target=future._complete, args=(value,), daemon=True).start()
                return future
            adopted = self._claim_adopted(key, func, callback)
            if adopted is not None:  # resume: its job of the killed run still runs
                return adopted
        return self._submit_new(index, func, callback, key)

    def _take_index(self) -> int:
        """The next task file's number; the caller holds the lock."""
        index = self._next_index
        self._next_index += 1
        return index

    def _claim_adopted(self, key: str, func, callback: Callable | None) -> TaskFuture | None:
        if self.adoption is None:
            return None
        with self._lock:  # the collector stashes under it: no outcome slips between
            task_id = self.adoption.claim(key)
            if task_id is None:
                return None
            future = TaskFuture(task_id, callback)
            self._pending.add_adopted(task_id, future, key, func)
            early = self.adoption.take_stashed(task_id)
        if early is not None:  # ended before joblib handed the task over
            threading.Thread(target=self.complete, args=(early,), daemon=True).start()
        return future

    def _submit_new(self, index: int, func, callback: Callable | None, key: str | None,
                    future: TaskFuture | None = None) -> TaskFuture:
        task_path = str(self.tasks_dir / f"{index}.task")
        # Pickled now, written when the disk budget admits it (at once without one).
        # The calls without joblib's BatchedCalls: a worker then imports joblib only
        # if the task itself needs it (see _task).
        calls = TaskCalls.from_joblib(func)
        prepared = self.codec.prepare({"func": calls, "context_func": self.params.context_func},
                                      measure=self.disk_budget > 0)
        with self._lock:  # the collector must find the future when the outcome comes
            task_id = self.engine.submit_deferred(task_path, result_path_for(task_path),
                                                  prepared.estimate_files, prepared.estimate_blobs,
                                                  calls=max(1, len(calls)))
            if future is None:
                future = TaskFuture(task_id, callback)
            future.task_id = task_id
            self._pending.add(task_id, future, task_path, prepared, key,
                              inline_call=func if self._inline is not None else None)
            if key is not None and self._notes_keys:  # before its job can exist
                _resume.record_key(self.dir, task_id, task_path, key)
        self._write_admitted(raise_for=task_id)
        return future

    def _write_admitted(self, raise_for: int | None = None) -> None:
        """Writes the files of the tasks the engine's disk budget admitted, from
        whichever thread gets here first (submit, or the collector after a task
        freed space). A write that fails fails its task; for ``raise_for``, the
        task being submitted, the error is raised to the caller instead."""
        to_raise = None
        while True:
            admitted = self.engine.take_admitted()
            if not admitted:
                break
            for task_id in admitted:
                unwritten = self._pending.take_unwritten(task_id)
                if unwritten is None:
                    continue  # ended meanwhile
                task_path, prepared = unwritten
                try:
                    files, blobs = self.codec.write(prepared, task_path)
                except BaseException as error:  # noqa: BLE001 - the task fails, nothing hangs
                    # An interrupt is still the caller's, whichever task it hit.
                    raise_it = task_id == raise_for or not isinstance(error, Exception)
                    error = self._unwritable(task_id, task_path, error, raise_it)
                    to_raise = error or to_raise
                    continue
                inputs = (self.codec.blob_paths(prepared)
                          if self.params.transfer == "htcondor" else [])
                self.engine.staged(task_id, files, blobs, input_files=inputs)
        self._report_bytes()
        if to_raise is not None:
            raise to_raise

    def _unwritable(self, task_id: int, task_path: str, error: BaseException,
                    raise_it: bool) -> BaseException | None:
        """Ends a task whose files could not be written; returns the error to raise
        when the caller gets it directly, else completes the task's future with it."""
        if isinstance(error, (OSError, RuntimeError)):  # full, unwritable, gone
            cause = error
            error = OSError(f"shared_data_dir {str(self.layout.root)!r}: cannot write "
                            f"the task file {task_path!r}: {cause}")
            error.__cause__ = cause
        future = self._pending.take_future(task_id)
        self.engine.withdraw(task_id, str(error))
        _remove_quietly(task_path)
        self.codec.forget(task_path)
        if raise_it:
            return error
        if future is not None:
            future._complete(error=error)
        return None

    def _report_bytes(self) -> None:
        if self.journal is None or self._aborted or self._closed:
            return
        if time.monotonic() - self._bytes_reported_at > 1.0:
            # bytes_held reads the store's reference file: report at most once a second
            self._bytes_reported_at = time.monotonic()
            try:
                self.journal.bytes_held(self.codec.bytes_held)
            except (OSError, RuntimeError) as error:  # the shared dir briefly unreachable
                logger.debug("batch %s: bytes held unknown: %s", self.batch_id, error)

    def _collect(self) -> None:
        while True:
            outcome = self.engine.next_outcome(0.5)
            if outcome is None:
                if self._closed and self._pending.all_resolved():
                    return
                continue
            try:
                self.complete(outcome)
                self._files_done(outcome.task)
                self._write_admitted()  # room for tasks waiting for the disk budget
            except Exception:  # noqa: BLE001 - this thread completes every future: it must live
                logger.exception("batch %s: error while handling the outcome of task %d",
                                 self.batch_id, outcome.task)

    def complete(self, outcome) -> None:
        """Completes the task's future from the engine's outcome; an outcome that
        arrives while the inline runner tries to take the task back waits for it
        (see end_take_back), and one of an adopted job whose task joblib has not
        handed over yet waits in the adoption (see _claim_adopted)."""
        stash = self.adoption.stash if self.adoption is not None else None
        taken = self._pending.take_for_outcome(outcome, unknown=stash)
        if taken is None:
            return  # cancelled, run by the parent itself, or waiting (see above)
        future, task_path, key, calls = taken
        source = self.adoption.source(outcome.task) if self.adoption is not None else None
        if source is not None and calls is not None and outcome.kind in (
                _core.OutcomeKind.failed, _core.OutcomeKind.cancelled) and not self.cancelled:
            logger.info("batch %s: the adopted job %s failed (%s); submitting its task again",
                        self.batch_id, outcome.job_id, outcome.reason)
            with self._lock:
                index = self._take_index()
            try:
                self._submit_new(index, calls, None, key, future)
            except BaseException as error:  # noqa: BLE001 - the future must complete
                future._complete(error=error)
            return
        try:
            value, error = self._load_outcome(outcome, task_path, source)
        except BaseException as load_error:  # a bad result file fails the task, loudly
            value, error = None, load_error
        finally:
            self._note_result_blobs()
        if key is not None and error is None:
            self.cache.put(key, value)
        future._complete(value, error)

    def _files_done(self, task_id: int) -> None:
        """Every ended task, whoever consumes its outcome: its task file goes (no
        job will read it again) and the disk budget gets the room back."""
        task_path = self._pending.take_file(task_id)
        try:
            if task_path is not None:
                _remove_quietly(task_path)
                self.codec.forget(task_path)
        except OSError as error:  # a directory made read-only: the batch's end removes it
            logger.debug("batch %s: cannot remove %s: %s", self.batch_id, task_path, error)
        finally:
            self.engine.files_removed(task_id)

    def _note_result_blobs(self) -> None:
        added = self.codec.take_result_blob_bytes()
        if added:  # large results: on disk until the batch ends, like the tasks' data
            self.engine.add_disk_blobs(added)

    def next_to_take_back(self, waited_s: float):
        """For the inline runner: see PendingTasks.next_to_take_back."""
        return self._pending.next_to_take_back(waited_s)

    def end_take_back(self, task_id: int, removed: bool) -> TaskFuture | None:
        """For the inline runner, once it tried to remove the task's job: when it
        was removed, the task's future, taken from the collector (the runner runs
        the task; None if it finished meanwhile). When the job runs on, an outcome
        that arrived meanwhile completes the task now, else it waits again."""
        future, arrived = self._pending.end_take_back(task_id, removed)
        if arrived is not None:
            self.complete(arrived)
        return future

    def _load_outcome(self, outcome, task_path: str, source=None):
        if outcome.kind == _core.OutcomeKind.cancelled:
            return None, TaskCancelledError(f"task {outcome.task} cancelled: {outcome.reason}")
        if outcome.kind == _core.OutcomeKind.refused:
            return None, SharedDiskBudgetError(f"task {outcome.task}: {outcome.reason}")
        if outcome.kind == _core.OutcomeKind.failed and outcome.scheduler_error:
            return None, SchedulerError(f"task {outcome.task}: {outcome.reason}")
        if outcome.kind == _core.OutcomeKind.failed:
            return None, JobFailedError(outcome.reason, outcome.job_id, outcome.attempts,
                                        self._stderr_tail(outcome))
        codec = self.codec
        if source is not None:  # adopted: the killed run's files, with its identity
            codec, task_path = source
        # Signed by the attempt whose job ended: an older attempt's result is refused.
        result = read_task_result(codec, result_path_for(task_path),
                                  attempt=outcome.attempts - 1)
        if result.ok:
            self.run_time.seconds = result.run_time
            return result.value, None
        result.error.__cause__ = RemoteTraceback(result.traceback)
        return None, result.error

    def _stderr_tail(self, outcome) -> str:
        path = self.logs_dir / f"{outcome.task}.{outcome.attempts - 1}.err"
        try:
            with open(path, "rb") as stream:
                stream.seek(0, os.SEEK_END)
                stream.seek(max(0, stream.tell() - STDERR_TAIL_BYTES))
                return stream.read().decode(errors="replace").strip()
        except OSError:
            return ""

    def cancel(self, reason: str) -> None:
        """Ends every task as cancelled. A failed removal is logged, not raised:
        joblib calls this while the caller's own exception is on its way, and
        ``close`` reports what may be left."""
        self.cancelled = True
        try:
            self.engine.cancel_all(reason)
        except SchedulerError as error:
            self._removal_failed = error
            logger.warning("batch %s: its jobs could not be removed: %s", self.batch_id, error)

    def inherited_through_fork(self) -> bool:
        """True in a child forked from the process that started the batch (a
        multiprocessing worker, say). Its jobs, files, store references and threads
        are the parent's, which is still using them: the child's copy only forgets."""
        return os.getpid() != self._pid

    def abort_now(self, reason: str) -> None:
        """From a signal handler: jobs (and descendants) removed within the driver's
        short bound (one condor_rm, 10 s), files deleted, without any lock that may
        be held elsewhere: not the batch's (the interrupted thread may hold it), not
        the store's (another process may). ``close`` releases the store later, when
        joblib gets to it; if the process dies first, the next run collects it."""
        if self.inherited_through_fork():
            return
        self.cancelled = True
        self._aborted = True
        _signals.unregister(self)
        try:
            self.engine.abort_now(reason)
        except SchedulerError as error:
            self._removal_failed = error
        if self._removal_failed is not None:
            self._abandon(self._removal_failed)
        else:
            self._remove_files()
            self._remove_descendants()

    def close(self, state: str = "done") -> None:
        """Ends the batch: outstanding jobs are removed, its files deleted.

        Exception-safe: every step runs even when an earlier one fails (the
        scheduler not answering while the engine removes the jobs). Then the
        batch's directory keeps only its owner record, marked abandoned, so that
        the next run's recovery (or ``python -m joblib_htcondor.cleanup``)
        removes the jobs that may be left. The first error is raised at the end
        when the batch ended normally; after a cancellation (the caller's own
        exception is on its way) it is logged."""
        if self.inherited_through_fork():
            return  # the parent's lock may have been copied held: not even that is taken
        with self._lock:
            if self._closed:
                return
            self._closed = True
        errors: list = []

        def step(action, *args) -> None:
            try:
                action(*args)
            except Exception as error:  # noqa: BLE001 - the other steps must still run
                errors.append(error)

        step(_signals.unregister, self)
        if self._inline is not None:
            step(self._inline.stop)
        step(self.engine.shutdown)
        removal_failed = next((e for e in errors if isinstance(e, SchedulerError)), None)
        removal_failed = removal_failed or self._removal_failed
        step(self._collector.join, 10)
        if self.adoption is not None:
            step(self.adoption.close, "the rerun that adopted this batch ended")
        step(self._finish_journal, "failed" if removal_failed else state)
        if removal_failed is not None:
            step(self._abandon, removal_failed)
        else:
            step(self.codec.release)
            step(self._remove_files)
            if self.cancelled or state != "done":
                step(self._remove_descendants)
        if not errors:
            return
        if state == "done" and not self.cancelled:
            raise errors[0]
        for error in errors:
            logger.warning("batch %s: while closing: %s", self.batch_id, error)

    def _abandon(self, error: BaseException) -> None:
        """The jobs could not be removed: the owner record now says the batch is
        abandoned, and keeps its store references (jobs still running may read them)
        until the recovery removes the jobs (see _recovery.find_dead_batches). The
        directory stays, emptied, for the recovery to find."""
        self.codec.mark_abandoned()
        for entry in list(self.dir.iterdir()) if self.dir.is_dir() else []:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, onerror=_recovery.writable_then_retry)
            else:
                _remove_quietly(str(entry))
        if not self.params.log_dir_prefix:
            shutil.rmtree(self.logs_dir, ignore_errors=True)
        logger.error("batch %s: its jobs may still be queued (lineage %s): %s. The next run "
                     "in this shared_data_dir removes them, or now: python -m "
                     "joblib_htcondor.cleanup --path %s", self.batch_id, self.lineage, error,
                     self.layout.root)

    def _remove_descendants(self) -> None:
        """The directories of the batches our removed jobs had started. Those jobs
        were told to clean up after themselves, but the scheduler may kill them
        first (SIGKILL after its grace time, or at once): nobody else would remove
        the directories until the next run's recovery. Only after a cancellation:
        a batch that ended normally has no descendant left running."""
        for directory in _recovery.descendant_batch_dirs(self.layout, self.lineage):
            _recovery.remove_batch_dir(directory)

    def _remove_files(self) -> None:
        # Not one rmtree: the abort events of jobs removed a moment ago may still
        # be appended to condor.log, recreating it (see remove_batch_dir).
        _recovery.remove_batch_dir(self.dir)
        if self.params.log_dir_prefix:
            return  # logs the user asked to keep
        shutil.rmtree(self.logs_dir, ignore_errors=True)


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
