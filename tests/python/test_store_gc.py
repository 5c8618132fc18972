"""Concurrent writers, and cleanup of what killed runs leave in the store."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from joblib_htcondor._serialization import TaskCodec, collect_garbage


@pytest.fixture
def shared(tmp_path):
    return tmp_path / "shared"


def blob_names(shared) -> set:
    return {f for _, _, files in os.walk(shared / "store" / "sha256") for f in files}


def shared_array() -> np.ndarray:
    return np.random.default_rng(42).random(2_000_000)  # 16 MB, same in every process


def dump_shared_array(shared: str, index: int) -> None:
    codec = TaskCodec(shared, f"writer-{index}")
    codec.dump(shared_array(), os.path.join(shared, f"{index}.task"))


def test_concurrent_processes_writing_the_same_blob_leave_one_valid_copy(shared):
    shared.mkdir()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=dump_shared_array, args=(str(shared), i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    assert len(blob_names(shared)) == 1
    # Each file is signed for its own batch: read it as that batch (the writers are gone).
    for i in range(4):
        reader = TaskCodec(shared, f"writer-{i}")
        np.testing.assert_array_equal(reader.load(shared / f"{i}.task"), shared_array())
    assert not any(name.startswith(".tmp.") for name in blob_names(shared))


KILLED_RUN = textwrap.dedent("""
    import sys, time, numpy as np
    from joblib_htcondor._serialization import TaskCodec
    shared = sys.argv[1]
    codec = TaskCodec(shared, "killed-run")
    own = np.random.default_rng(7).random(500_000)
    common = np.arange(300_000.0)
    for i in range(3):
        codec.dump({"own": own, "common": common}, f"{shared}/k{i}.task")
    print("ready", flush=True)
    time.sleep(600)
""")


def test_garbage_collection_after_a_killed_run(shared):
    shared.mkdir()
    live = TaskCodec(shared, "live-run")
    live.dump(np.arange(300_000.0), shared / "l0.task")  # shares "common" with the killed run
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(shared)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        assert len(blob_names(shared)) == 2
        kept = collect_garbage(shared, stale_after_s=3600)
        assert kept["batches_removed"] == 0, "a running owner's batch must survive"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stdout.close()
    report = collect_garbage(shared, stale_after_s=3600)
    assert report["batches_removed"] == 1
    assert report["blobs_removed"] == 1
    assert report["bytes_freed"] == 500_000 * 8
    assert len(blob_names(shared)) == 1  # the common blob, still referenced by the live run
    np.testing.assert_array_equal(live.load(shared / "l0.task"), np.arange(300_000.0))
    live.release()
    assert blob_names(shared) == set()


def test_garbage_collection_removes_stray_temp_files(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.ones(100_000), shared / "0.task")
    stray = shared / "store" / "sha256" / ".tmp.deadhost.123.0.abc"
    stray.write_bytes(b"half of a blob")
    report = collect_garbage(shared)
    assert report["temp_files_removed"] == 1 and not stray.exists()
    assert report["blobs_removed"] == 0


def test_batch_owned_by_another_host_is_collected_when_its_heartbeat_is_stale(shared):
    codec = TaskCodec(shared, "remote")
    codec.dump(np.ones(100_000), shared / "0.task")
    owner = shared / "store" / "refs" / "remote" / "owner"
    owner.write_text("another-node 4242 1\n")
    assert collect_garbage(shared, stale_after_s=600)["batches_removed"] == 0
    old = time.time() - 700
    os.utime(owner, (old, old))
    report = collect_garbage(shared, stale_after_s=600)
    assert report["batches_removed"] == 1 and report["blobs_removed"] == 1


def test_collect_garbage_without_a_store_does_nothing(tmp_path):
    assert collect_garbage(tmp_path / "nothing-here") == {
        "batches_removed": 0, "blobs_removed": 0, "temp_files_removed": 0, "bytes_freed": 0}
    assert not (tmp_path / "nothing-here").exists()


def test_release_is_idempotent_and_the_batch_can_be_reused(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.ones(100_000), shared / "0.task")
    codec.release()
    codec.release()
    assert blob_names(shared) == set()


def test_owner_heartbeat_keeps_a_batch_alive_until_released(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.ones(100_000), shared / "0.task")
    owner = shared / "store" / "refs" / "b" / "owner"
    owner.write_text("another-node 4242 1\n")  # judged by heartbeat, as from another host
    old = time.time() - 700
    os.utime(owner, (old, old))
    codec._beat()  # what the heartbeat thread does every HEARTBEAT_S
    assert collect_garbage(shared, stale_after_s=600)["batches_removed"] == 0
    codec.release()
    codec._beat()  # a released batch is not revived
    assert not owner.exists()
