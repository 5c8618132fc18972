"""A nested batch's parent job runs tasks itself when their jobs cannot start (see
InlineRunner)."""

from __future__ import annotations

import logging

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

    The batch keeps each task's state (``_pending.PendingTask``): an outcome that
    arrives while a removal is being tried waits there, so the batch's collector
    handles every outcome the same way.
    """

    def __init__(self, batch):
        import threading

        self._batch = batch
        self._after = float(batch.params.run_inline_after)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"joblib_htcondor-inline-{batch.batch_id}")
        self.ran_inline = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self._after / 4)):
            due = self._batch.next_to_take_back(self._after)
            if due is not None:
                self._try(*due)

    def _try(self, task_id: int, func) -> None:
        try:  # atomic in the schedd: a job that started meanwhile is left alone
            removed = self._batch.engine.remove_if_idle(task_id)
        except Exception as error:  # noqa: BLE001 - the job runs on; looked at again later
            logger.warning("batch %s: could not take back task %d: %s",
                           self._batch.batch_id, task_id, error)
            removed = False
        future = self._batch.end_take_back(task_id, removed)
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
