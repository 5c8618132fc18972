"""Ours: TaskCodec, large buffers deduplicated in the content-addressed store."""

from __future__ import annotations

import os

from joblib_htcondor._serialization import TaskCodec

NAME = "content store (ours)"


def write_tasks(tasks, shared_dir: str) -> int:
    """Writes every task file; returns the bytes written to the shared dir."""
    codec = TaskCodec(shared_dir, "bench")
    os.makedirs(os.path.join(shared_dir, "tasks"), exist_ok=True)
    return sum(codec.dump(task, os.path.join(shared_dir, "tasks", f"{i}.task"))
               for i, task in enumerate(tasks))


def load_task(shared_dir: str, index: int):
    return TaskCodec(shared_dir, "bench").load(os.path.join(shared_dir, "tasks", f"{index}.task"))
