"""Files moved into another's place, links, FIFOs, oversize files and directories
of other users under shared_data_dir are refused with an error that says why."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from joblib_htcondor import IntegrityError, _core
from joblib_htcondor._batch import make_private_dir
from joblib_htcondor._errors import UnsafePathError
from joblib_htcondor._recovery import find_dead_batches
from joblib_htcondor._result_cache import ResultCache
from joblib_htcondor._serialization import TaskCodec

OTHER_UID = 2002  # a uid that is not ours (root can chown to it)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")


@pytest.fixture
def shared(tmp_path):
    return tmp_path / "shared"


def batch_dir(shared: Path, batch: str) -> Path:
    path = shared / "batches" / batch / "tasks"
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- identity-bound signatures ---------------------------------------------------------

def test_result_renamed_from_another_batch_is_refused_naming_both_batches(shared):
    mine, theirs = TaskCodec(shared, "b-mine", "run"), TaskCodec(shared, "b-other", "run")
    theirs.dump(("ok", "their value", 0.1), batch_dir(shared, "b-other") / "0.result")
    os.rename(batch_dir(shared, "b-other") / "0.result", batch_dir(shared, "b-mine") / "0.result")
    with pytest.raises(IntegrityError, match="moved from another batch") as info:
        mine.load(batch_dir(shared, "b-mine") / "0.result")
    assert "expected the result of task '0', attempt 0, batch 'b-mine'" in str(info.value)
    assert "found the result of task '0', attempt 0, batch 'b-other'" in str(info.value)


def test_results_of_two_tasks_swapped_are_both_refused(shared):
    codec = TaskCodec(shared, "b", "run")
    tasks = batch_dir(shared, "b")
    codec.dump(("ok", 0, 0.1), tasks / "0.result")
    codec.dump(("ok", 1, 0.1), tasks / "1.result")
    os.rename(tasks / "0.result", tasks / "swap")
    os.rename(tasks / "1.result", tasks / "0.result")
    os.rename(tasks / "swap", tasks / "1.result")
    for name in ("0.result", "1.result"):
        with pytest.raises(IntegrityError, match="moved from another task"):
            codec.load(tasks / name)


def test_an_older_attempts_result_is_refused_for_the_retry(shared):
    codec = TaskCodec(shared, "b", "run")
    path = batch_dir(shared, "b") / "3.result"
    codec.dump(("ok", "from attempt 0", 0.1), path)
    old = path.read_bytes()
    codec.dump(("ok", "from attempt 1", 0.1), path, attempt=1)
    path.write_bytes(old)  # replayed
    with pytest.raises(IntegrityError, match="older attempt's result replayed"):
        codec.load(path, attempt=1)


def test_a_task_file_of_another_run_is_refused(shared):
    TaskCodec(shared, "b", "run-1").dump({"x": 1}, batch_dir(shared, "b") / "0.task")
    with pytest.raises(IntegrityError, match="moved from another run"):
        TaskCodec(shared, "b", "run-2").load(batch_dir(shared, "b") / "0.task")


def test_a_resume_cache_entry_renamed_to_another_key_is_refused(shared):
    cache = ResultCache(shared)
    cache.put("a" * 32, [1])
    cache.put("b" * 32, [2])
    os.replace(cache.path("a" * 32), cache.path("b" * 32))
    with pytest.raises(IntegrityError, match="moved from another cache entry"):
        cache.get("b" * 32)


def test_the_worker_refuses_a_task_moved_from_another_batch_and_fails(shared):
    TaskCodec(shared, "b-other", "run").dump({"func": len, "context_func": None},
                                             batch_dir(shared, "b-other") / "0.task")
    os.rename(batch_dir(shared, "b-other") / "0.task", batch_dir(shared, "b-mine") / "0.task")
    env = dict(os.environ, JOBLIB_HTCONDOR_SHARED_DIR=str(shared), JOBLIB_HTCONDOR_BATCH="b-mine",
               JOBLIB_HTCONDOR_RUN="run")
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.worker",
                           str(batch_dir(shared, "b-mine") / "0.task"), "0"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0  # the engine retries, then fails the task with this stderr
    assert "moved from another batch" in done.stderr
    assert not (batch_dir(shared, "b-mine") / "0.result").exists()


def test_the_worker_signs_its_result_for_its_attempt(shared):
    codec = TaskCodec(shared, "b", "run")
    task = batch_dir(shared, "b") / "0.task"
    codec.dump({"func": functools.partial(int, "7"), "context_func": None}, task)
    env = dict(os.environ, JOBLIB_HTCONDOR_SHARED_DIR=str(shared), JOBLIB_HTCONDOR_BATCH="b",
               JOBLIB_HTCONDOR_RUN="run")
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.worker", str(task), "2"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with pytest.raises(IntegrityError, match="a file of another attempt"):
        codec.load(task.with_suffix(".result"), attempt=1)
    assert codec.load(task.with_suffix(".result"), attempt=2).value == 7


def test_the_worker_refuses_an_attempt_that_is_not_a_number(shared):
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.worker", "0.task", "x"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "TASKFILE [ATTEMPT]" in done.stderr


# --- signed reads ------------------------------------------------------------------------

def test_a_symlinked_task_file_is_refused_not_followed(shared):
    codec = TaskCodec(shared, "b", "run")
    tasks = batch_dir(shared, "b")
    codec.dump({"x": 1}, tasks / "0.task")
    os.rename(tasks / "0.task", shared / "elsewhere")
    os.symlink(shared / "elsewhere", tasks / "0.task")
    with pytest.raises(IntegrityError, match="symbolic link"):
        codec.load(tasks / "0.task")


@pytest.mark.timeout(30)
def test_a_fifo_in_place_of_a_result_is_refused_without_hanging(shared):
    codec = TaskCodec(shared, "b", "run")
    path = batch_dir(shared, "b") / "0.result"
    os.mkfifo(path, 0o600)
    with pytest.raises(IntegrityError, match="is a FIFO, not a regular file"):
        codec.load(path)


def test_an_oversize_file_is_refused_unread(shared):
    codec = TaskCodec(shared, "b", "run")
    path = batch_dir(shared, "b") / "0.result"
    with open(path, "wb") as stream:
        stream.truncate(_core.MAX_SIGNED_FILE_BYTES + 1)  # sparse
    with pytest.raises(IntegrityError, match="too large"):
        codec.load(path)


# --- ownership ---------------------------------------------------------------------------

def test_a_group_writable_batches_directory_is_refused_naming_owner_and_mode(shared):
    (shared / "batches").mkdir(parents=True)
    os.chmod(shared / "batches", 0o770)
    with pytest.raises(UnsafePathError) as info:
        make_private_dir(shared / "batches", "shared_data_dir")
    message = str(info.value)
    assert message.startswith("shared_data_dir: refusing")
    assert str(shared / "batches") in message and "mode 0770" in message
    assert "writable by group or others" in message and "accepted: a directory owned by" in message


def test_a_symlink_in_place_of_the_store_is_refused(shared):
    shared.mkdir()
    (shared / "elsewhere").mkdir()
    os.symlink(shared / "elsewhere", shared / "store")
    with pytest.raises(UnsafePathError, match="symbolic link"):
        TaskCodec(shared, "b")


def test_a_group_writable_key_directory_is_refused(shared):
    TaskCodec(shared, "b")
    os.chmod(shared / ".keys", 0o770)
    with pytest.raises(UnsafePathError, match=r"\.keys.*writable by group or others"):
        TaskCodec(shared, "b2")


def test_the_shared_data_dir_itself_may_be_group_writable(shared):
    shared.mkdir()
    os.chmod(shared, 0o2770)
    codec = TaskCodec(shared, "b")
    codec.dump({"x": 1}, shared / "0.task")
    assert codec.load(shared / "0.task") == {"x": 1}


def test_the_journal_is_owner_only(shared):
    _core.JournalWriter(str(shared / "journal"), "b", "", "b", 0, 1, "local")
    directory = shared / "journal" / "b"
    assert stat.S_IMODE(os.stat(shared / "journal").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(directory / "b.jsonl").st_mode) == 0o600


@needs_root
def test_a_journal_directory_of_another_user_is_refused(shared):
    (shared / "journal" / "b").mkdir(parents=True)
    os.chown(shared / "journal" / "b", OTHER_UID, -1)
    with pytest.raises(UnsafePathError, match="owned by another user"):
        _core.JournalWriter(str(shared / "journal"), "b", "", "b", 0, 1, "local")


@needs_root
def test_a_blob_planted_by_another_user_is_refused_before_mapping(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.arange(100_000.0), shared / "0.task")
    blobs = [Path(root) / f for root, _, files in os.walk(shared / "store" / "sha256")
             for f in files]
    os.chown(blobs[0], OTHER_UID, -1)
    with pytest.raises(IntegrityError, match="owned by another user"):
        codec.load(shared / "0.task")


@needs_root
def test_recovery_ignores_a_batch_directory_of_another_user(shared, caplog):
    planted = shared / "batches" / "planted"
    planted.mkdir(parents=True)
    (planted / "owner.json").write_text('{"host": "h", "pid": 1, "lineage": "x\\" || true || \\""}')
    os.utime(planted, (0, 0))  # old: a dir without a trusted owner would be collected
    os.chown(planted / "owner.json", OTHER_UID, -1)
    os.chown(planted, OTHER_UID, -1)
    os.chmod(shared / "batches", 0o700)
    assert find_dead_batches(shared, stale_after_s=1) == []
    assert "not this user's" in caplog.text
    assert planted.exists()
    shutil.rmtree(planted)
