"""The copying design (what the reference does, without its lock and wrapper): one
cloudpickle file per task, each a full copy of the data."""

from __future__ import annotations

import os

try:
    from joblib.externals import cloudpickle
except ImportError:
    import cloudpickle

NAME = "one copy per task (plain cloudpickle)"


def write_tasks(tasks, shared_dir: str, keep: bool = False) -> int:
    """Writes every task file; returns the bytes written. Unless `keep`, each file
    is deleted once written (all of them would fill the disk: 100 x 200 MB)."""
    os.makedirs(os.path.join(shared_dir, "tasks"), exist_ok=True)
    written = 0
    for i, task in enumerate(tasks):
        path = os.path.join(shared_dir, "tasks", f"{i}.pkl")
        with open(path, "wb") as f:
            cloudpickle.dump(task, f)
        written += os.path.getsize(path)
        if not keep and i > 0:
            os.unlink(path)  # keep task 0 for the load measurement
    return written


def load_task(shared_dir: str, index: int):
    with open(os.path.join(shared_dir, "tasks", f"{index}.pkl"), "rb") as f:
        return cloudpickle.load(f)
