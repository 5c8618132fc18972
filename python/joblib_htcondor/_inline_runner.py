"""A nested batch's parent job runs tasks itself when their jobs cannot start (see
InlineRunner)."""

from __future__ import annotations

import logging
import time

logger = logging.getLogger("joblib_htcondor")


class InlineRunner:
    """Nested batches (level > 0) on HTCondor: a parent job waiting for children
    that cannot start holds a slot; when parents hold every slot, nothing moves.

    A task of the batch that has not started ``run_inline_after`` seconds after it
    was queued is taken back: its job is removed only if it is still idle (the
    engine's ``remove_if_idle``, one atomic step of the schedd), and the parent
    runs the task itself, in this thread, one at a time. A job that started
    meanwhile is left alone and checked again later. The engine sees the removal
    as a failure of a task the batch has forgotten, and nobody waits for it.
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
        try:  # atomic in the schedd: a job that started meanwhile is left alone
            removed = self._batch.engine.remove_if_idle(task_id)
        except Exception as error:  # noqa: BLE001 - the job runs on; looked at again later
            logger.warning("batch %s: could not take back task %d: %s",
                           self._batch.batch_id, task_id, error)
            removed = False
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
