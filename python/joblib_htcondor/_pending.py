"""The tasks a batch has submitted and not yet seen the end of (see PendingTasks)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class PendingTask:
    """A submitted task, from ``submit`` until the engine's outcome for it is handled.

    Resolved (``future`` None) once its future is completed, taken by the inline
    runner or failed with a write error; forgotten once also ``files_done``."""

    __slots__ = ("future", "path", "unwritten", "cache_key", "inline_call", "waiting_since",
                 "taking_back", "arrived", "files_done", "adopted_calls")
    future: object | None  # the TaskFuture joblib waits on
    path: str  # the task file; its result file is result_path_for(path)
    unwritten: object | None  # the PreparedFile waiting for the disk budget
    cache_key: str | None  # resume=True: where a successful result is kept
    # Inline batches only (see _inline_runner): the call the parent runs itself,
    # when it was queued or last found started, and whether its job is being
    # removed (an outcome arriving meanwhile waits in ``arrived``).
    inline_call: Callable | None
    waiting_since: float
    taking_back: bool
    arrived: object | None
    files_done: bool  # the task file removed, its room returned to the disk budget
    # resume=True, a task whose job a killed run left running (see _resume): its
    # calls, submitted again should that job fail. Its files are the killed run's.
    adopted_calls: Callable | None


class PendingTasks:
    """A batch's pending tasks by engine task id, one record each.

    Guarded by the batch's lock, which every method takes, but ``add``: its caller
    holds the lock while the engine hands out the id, so that the collector finds
    the record when the outcome comes."""

    def __init__(self, lock):
        self._lock = lock
        self._tasks: dict[int, PendingTask] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def get(self, task_id: int) -> PendingTask | None:
        return self._tasks.get(task_id)

    def add(self, task_id: int, future, path: str, unwritten, cache_key: str | None,
            inline_call: Callable | None) -> None:
        self._tasks[task_id] = PendingTask(
            future=future, path=path, unwritten=unwritten, cache_key=cache_key,
            inline_call=inline_call, waiting_since=time.monotonic(), taking_back=False,
            arrived=None, files_done=False, adopted_calls=None)

    def add_adopted(self, task_id: int, future, cache_key: str | None, calls: Callable) -> None:
        """A task whose job of a killed run goes on (resume=True): no task file of
        this batch, so nothing of its files to wait for. The caller holds the lock."""
        self._tasks[task_id] = PendingTask(
            future=future, path="", unwritten=None, cache_key=cache_key, inline_call=None,
            waiting_since=time.monotonic(), taking_back=False, arrived=None, files_done=True,
            adopted_calls=calls)

    def all_resolved(self) -> bool:
        with self._lock:
            return all(task.future is None for task in self._tasks.values())

    def take_unwritten(self, task_id: int):
        """``(path, prepared file)`` of an admitted task still to be written; None
        when it ended meanwhile or was written already."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.unwritten is None:
                return None
            prepared, task.unwritten = task.unwritten, None
            return (task.path, prepared) if task.future is not None else None

    def take_future(self, task_id: int):
        """The task's future, taken away (None if resolved already): from now on
        only its files are waited for."""
        with self._lock:
            task = self._tasks.get(task_id)
            return self._resolve(task_id, task) if task is not None else None

    def take_for_outcome(self, outcome, unknown: Callable | None = None):
        """``(future, path, cache_key, adopted_calls)`` of the task ``outcome`` ends;
        None when it was resolved already, or when the inline runner is removing its
        job (the outcome then waits for ``end_take_back``). An outcome of a task
        without a record goes to ``unknown``, under the lock: an adopted job that
        ended before joblib handed its task over is kept until ``add_adopted``."""
        with self._lock:
            task = self._tasks.get(outcome.task)
            if task is None and unknown is not None:
                unknown(outcome)
            if task is None or task.future is None:
                return None
            if task.taking_back:
                task.arrived = outcome
                return None
            path, key, calls = task.path, task.cache_key, task.adopted_calls
            return self._resolve(outcome.task, task), path, key, calls

    def take_file(self, task_id: int) -> str | None:
        """The task file of an ended task, once (None after): it is to be removed."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or task.files_done:
                return None
            task.files_done = True
            if task.future is None:
                del self._tasks[task_id]
            return task.path

    def next_to_take_back(self, waited_s: float):
        """``(task_id, call)`` of the task that has waited longest, at least
        ``waited_s`` seconds since it was queued or last found started; None if
        none has. Its outcome, should one arrive, now waits for ``end_take_back``."""
        now = time.monotonic()
        with self._lock:
            due = [(t.waiting_since, task_id) for task_id, t in self._tasks.items()
                   if t.inline_call is not None and not t.taking_back
                   and now - t.waiting_since >= waited_s]
            if not due:
                return None
            _, task_id = min(due)
            task = self._tasks[task_id]
            task.taking_back = True
            return task_id, task.inline_call

    def end_take_back(self, task_id: int, removed: bool):
        """``(future, arrived)``: when the job was removed, the task's future, taken
        away (None if it finished meanwhile); when it runs on, the outcome that
        arrived meanwhile (None if none did: then the task waits again)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None, None
            task.taking_back = False
            arrived, task.arrived = task.arrived, None
            if removed:
                return self._resolve(task_id, task), None
            task.waiting_since = time.monotonic()
            return None, arrived

    def _resolve(self, task_id: int, task: PendingTask):
        future = task.future
        task.future = task.unwritten = task.cache_key = task.inline_call = None
        task.adopted_calls = None
        if task.files_done:
            del self._tasks[task_id]
        return future
