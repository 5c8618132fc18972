"""The worker: ``python -m joblib_htcondor.worker TASKFILE``, or ``--serve`` (the
local scheduler's fork server, see _fork_server).

``python -m joblib_htcondor.worker TASKFILE [ATTEMPT]``: loads the task (verified,
with its identity, before unpickling), runs ``context_func`` first if the user
gave one, runs the task, and writes ``TASKFILE`` with ``.task`` replaced by
``.result`` atomically, signed for ``ATTEMPT`` (default 0), the engine's attempt
number, so that the caller can tell it from an older attempt's result. An
exception raised by the task is a result (it travels to the caller with its
traceback); a non-zero exit status means the infrastructure failed, and the
engine retries the task.

The environment gives the shared data dir, the batch id and the run's root batch
id (JOBLIB_HTCONDOR_SHARED_DIR, JOBLIB_HTCONDOR_BATCH, JOBLIB_HTCONDOR_RUN), set
by the backend. With JOBLIB_HTCONDOR_TRANSFER=htcondor (HTCondor's file transfer,
no shared filesystem) the job's scratch directory, its working directory, takes
the shared data dir's place: HTCondor put the task file, the key and the task's
blobs there at their relative paths, and takes the task file's directory back,
with the result file in it (the task file is deleted once loaded); so the result
keeps its arrays in the file (no blobs of its own).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback

from . import _signals
from ._layout import (
    BATCH_ENV,
    BATCHES,
    DELETE_TASK_FILE_ENV,
    DURABLE_FILES_ENV,
    IN_TRANSFER_JOB_ENV,
    KEYS,
    RUN_ENV,
    SHARED_DIR_ENV,
    STORE,
    SYS_PATH_ENV,
    WORKER_LOG_LEVEL_ENV,
)

logger = logging.getLogger("joblib_htcondor.worker")


# The signal that told this job to stop, if one did: a KeyboardInterrupt then means the
# job is being removed (the engine decides what follows), while one the task raised by
# itself is the task's result, re-raised in the caller as loky does.
_stop_signal: int | None = None


def _terminate_gracefully(signum, frame):
    # HTCondor's condor_rm and the local scheduler send SIGTERM. Raising here
    # unwinds a nested Parallel call, whose backend then removes its own jobs.
    global _stop_signal
    _stop_signal = signum
    raise KeyboardInterrupt(f"worker received signal {signum}")


def run(task_path: str, attempt: int = 0) -> int:
    # Only light modules here: joblib (and numpy with it) is imported when the task
    # needs it, by the task itself (see _task).
    from ._serialization import TaskCodec
    from ._task import JoblibScope, TaskCalls, result_path_for
    from ._task_result import TaskResult

    for entry in os.environ.get(SYS_PATH_ENV, "").split(os.pathsep):
        if entry and entry not in sys.path:
            sys.path.append(entry)  # after our own entries: importable, never shadowing
    transferred = os.environ.get(IN_TRANSFER_JOB_ENV) == "htcondor"
    if transferred:
        data_dir = os.getcwd()
        _make_transferred_files_private(data_dir)
    else:
        data_dir = os.environ[SHARED_DIR_ENV]
    codec = TaskCodec(data_dir, os.environ[BATCH_ENV],
                      os.environ.get(RUN_ENV), out_of_band=not transferred,
                      # durable unless the batch says otherwise (the local scheduler's)
                      durable=os.environ.get(DURABLE_FILES_ENV) != "0")
    # The scratch copy goes in file-transfer mode: the task file's directory travels back.
    delete = transferred or os.environ.get(DELETE_TASK_FILE_ENV) == "1"
    payload = codec.load(task_path, delete=delete)  # may import joblib (e.g. for scikit-learn)
    started = time.monotonic()
    try:
        func = payload["func"]
        with JoblibScope(func.nested if isinstance(func, TaskCalls) else None):
            if payload["context_func"] is not None:
                payload["context_func"]()
            value = func()
        result = TaskResult.success(value, time.monotonic() - started)
    except KeyboardInterrupt as error:
        if _stop_signal is not None:
            raise  # the job was told to stop: not a result, no result file
        result = TaskResult.failure(error, traceback.format_exc())  # the task raised it
    except BaseException as error:  # the task's own failure is a result
        result = TaskResult.failure(error, traceback.format_exc())
    logger.info("task %s ran in %.3f s", task_path, time.monotonic() - started)
    result_path = result_path_for(task_path)
    try:
        codec.dump(result, result_path, attempt=attempt)
    except Exception as error:  # e.g. an exception object that cannot be pickled
        if result.ok:
            raise
        substitute = RuntimeError(f"{type(error).__name__} while pickling the task's "
                                  f"exception {result.error!r}: {error}")
        codec.dump(TaskResult.failure(substitute, result.traceback), result_path,
                   attempt=attempt)
    return 0


def _make_transferred_files_private(data_dir: str) -> None:
    """Gives what HTCondor transferred the modes the codec insists on (directories
    owner-only, the key 0600, blobs 0400): the modes of directories HTCondor
    creates for preserve_relative_paths are the starter's umask's, not ours. A job
    may run as another uid than the submitter's (a pool's slot users): the one key
    transferred is then moved to where this uid's key is looked for."""
    keys = os.path.join(data_dir, KEYS)
    mine = os.path.join(keys, str(os.getuid()))
    if os.path.isdir(keys) and not os.path.exists(mine):
        (submitters,) = os.listdir(keys)  # only the submitter's key is transferred
        os.rename(os.path.join(keys, submitters), mine)
    for top in (KEYS, STORE, BATCHES):
        for root, _dirs, files in os.walk(os.path.join(data_dir, top)):
            os.chmod(root, 0o700)
            mode = 0o600 if top != STORE else 0o400
            for name in files:
                os.chmod(os.path.join(root, name), mode)


def run_as_worker(task_path: str, attempt: int = 0) -> int:
    """Everything a worker process does: also what each fork server child runs."""
    level = os.environ.get(WORKER_LOG_LEVEL_ENV, str(logging.WARNING))
    logging.basicConfig(level=int(level) if level.isdigit() else level,
                        format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
    replaced = {signal.SIGTERM: signal.signal(signal.SIGTERM, _terminate_gracefully)}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # ignored stays ignored
        replaced[signal.SIGINT] = signal.signal(signal.SIGINT, _terminate_gracefully)
    # Not for the processes the task forks (a multiprocessing pool): see _signals.
    _signals.note_worker_handlers(_terminate_gracefully, replaced)
    return run(task_path, attempt)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:  # the local scheduler's fork server (see _fork_server)
        from . import _batch, _core, _fork_server, _serialization  # noqa: F401  (for the children)

        return _fork_server.serve(run_as_worker, adopt=_core.adopt_local_fork_server)
    if len(argv) not in (1, 2) or (len(argv) == 2 and not argv[1].isdigit()):
        print("usage: python -m joblib_htcondor.worker TASKFILE [ATTEMPT] | --serve",
              file=sys.stderr)
        return 2
    return run_as_worker(argv[0], int(argv[1]) if len(argv) == 2 else 0)


if __name__ == "__main__":
    sys.exit(main())
