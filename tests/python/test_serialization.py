"""TaskCodec: round trips, zero-copy loading, deduplication, accounting."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from joblib_htcondor import _core
from joblib_htcondor import _serialization as ser
from joblib_htcondor._serialization import TaskCodec


@pytest.fixture
def shared(tmp_path):
    return tmp_path / "shared"


def store_bytes(shared) -> int:
    total = 0
    for root, _, files in os.walk(shared / "store" / "sha256"):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    return total


def blob_count(shared) -> int:
    return sum(len(files) for _, _, files in os.walk(shared / "store" / "sha256"))


def mapped_blob_of(array: np.ndarray):
    obj = array
    while isinstance(obj, np.ndarray):
        obj = obj.base
    return obj


# --- round trips -----------------------------------------------------------------

@pytest.mark.parametrize("array", [
    np.arange(200_000, dtype=np.float64),
    np.asfortranarray(np.random.default_rng(0).random((300, 400))),
    np.random.default_rng(1).integers(0, 100, (500, 300), dtype=np.int32)[::2, ::3],  # strided
    np.arange(10, dtype=np.int8),  # small: in-band
    np.zeros((0, 5)),
], ids=["large", "fortran", "strided", "small", "empty"])
def test_numpy_arrays_round_trip(shared, array):
    codec = TaskCodec(shared, "b")
    codec.dump({"x": array}, shared / "0.task")
    loaded = codec.load(shared / "0.task")["x"]
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == array.dtype and loaded.shape == array.shape


def test_pandas_dataframe_round_trips(shared):
    n = 50_000
    df = pd.DataFrame({"a": np.arange(n), "b": np.linspace(0, 1, n),
                       "c": pd.Categorical(np.array(["x", "y"])[np.arange(n) % 2])})
    codec = TaskCodec(shared, "b")
    codec.dump(df, shared / "0.task")
    pd.testing.assert_frame_equal(codec.load(shared / "0.task"), df)
    assert blob_count(shared) >= 2, "the numeric blocks should be out of band"


def test_fitted_sklearn_estimator_round_trips(shared):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X, y = rng.random((5000, 20)), rng.integers(0, 2, 5000)
    model = LogisticRegression(max_iter=200).fit(X, y)
    codec = TaskCodec(shared, "b")
    codec.dump((model, X), shared / "0.task")
    loaded, X2 = codec.load(shared / "0.task")
    np.testing.assert_array_equal(loaded.predict(X2), model.predict(X))


def test_lambdas_and_closures_round_trip(shared):
    offset = 41
    codec = TaskCodec(shared, "b")
    codec.dump({"f": lambda x: x + offset}, shared / "0.task")
    assert codec.load(shared / "0.task")["f"](1) == 42


# --- zero copy -------------------------------------------------------------------

def test_loaded_task_array_is_a_read_only_view_of_the_mapping(shared):
    array = np.arange(1_000_000, dtype=np.float64)
    codec = TaskCodec(shared, "b")
    codec.dump(array, shared / "0.task")
    loaded = codec.load(shared / "0.task")
    blob = mapped_blob_of(loaded)
    assert isinstance(blob, _core.MappedBlob)
    start = loaded.__array_interface__["data"][0]
    assert blob.address <= start and start + loaded.nbytes <= blob.address + blob.size
    assert not loaded.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        loaded[0] = 1.0


def test_loaded_result_array_is_copy_on_write(shared):
    array = np.arange(100_000, dtype=np.float64)
    codec = TaskCodec(shared, "b")
    codec.dump(array, shared / "0.result")
    loaded = codec.load(shared / "0.result")
    assert isinstance(mapped_blob_of(loaded), _core.MappedBlob)
    loaded[0] = -1.0  # the caller may modify its results ...
    assert codec.load(shared / "0.result")[0] == 0.0  # ... without touching the blob


def test_small_buffers_stay_in_the_file(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.arange(1000, dtype=np.float64), shared / "0.task")  # 8 KB
    assert blob_count(shared) == 0


# --- deduplication and identity cache ------------------------------------------------

def test_same_array_in_many_tasks_is_stored_once(shared):
    array = np.random.default_rng(0).random(1_000_000)  # 8 MB
    codec = TaskCodec(shared, "b")
    written = [codec.dump({"i": i, "x": array}, shared / f"{i}.task") for i in range(50)]
    assert store_bytes(shared) == array.nbytes
    assert written[0] > array.nbytes
    assert all(w < 4096 for w in written[1:]), written[:3]


def test_identity_cache_skips_hashing_of_a_known_array(shared, monkeypatch):
    hints = []
    real_put = _core.ContentStore.put

    def spy(self, data, batch_id="", hint=""):
        hints.append(hint)
        return real_put(self, data, batch_id, hint)

    monkeypatch.setattr(_core.ContentStore, "put", spy)
    array = np.random.default_rng(1).random(200_000)
    codec = TaskCodec(shared, "b")
    for i in range(5):
        codec.dump(array, shared / f"{i}.task")
    assert hints[0] == ""
    assert hints[1:] == [_core.sha256_digest(array)] * 4


def test_array_mutated_in_place_is_stored_again(shared):
    array = np.zeros(200_000)
    codec = TaskCodec(shared, "b")
    codec.dump(array, shared / "0.task")
    array[0] = 7.0
    codec.dump(array, shared / "1.task")
    assert codec.load(shared / "0.task")[0] == 0.0
    assert codec.load(shared / "1.task")[0] == 7.0
    assert blob_count(shared) == 2


def test_equal_content_in_distinct_objects_is_stored_once(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.ones(100_000), shared / "0.task")
    codec.dump(np.ones(100_000), shared / "1.task")
    assert blob_count(shared) == 1


def test_dedup_across_batches_and_release_keeps_shared_blobs(shared):
    array = np.random.default_rng(2).random(500_000)
    first, second = TaskCodec(shared, "b1"), TaskCodec(shared, "b2")
    first.dump(array, shared / "a.task")
    second.dump(array, shared / "b.task")
    assert store_bytes(shared) == array.nbytes
    first.release()
    np.testing.assert_array_equal(second.load(shared / "b.task"), array)
    second.release()
    assert blob_count(shared) == 0


def test_reloaded_array_is_dumped_again_without_hashing(shared, monkeypatch):
    # A nested Parallel call passes on the data it received: the mapping names it.
    codec = TaskCodec(shared, "b")
    codec.dump(np.arange(100_000.0), shared / "0.task")
    loaded = codec.load(shared / "0.task")
    monkeypatch.setattr(ser, "_fingerprint", lambda raw: pytest.fail("hashed again"))
    child = TaskCodec(shared, "child")
    assert child.dump(loaded, shared / "1.task") < 4096
    np.testing.assert_array_equal(child.load(shared / "1.task"), np.arange(100_000.0))


# --- files, accounting, release ----------------------------------------------------

def test_delete_on_load_removes_the_task_file_but_keeps_blobs(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.ones(100_000), shared / "0.task")
    codec.load(shared / "0.task", delete=True)
    assert not (shared / "0.task").exists()
    assert blob_count(shared) == 1


def test_bytes_held_counts_blobs_once_and_live_files(shared):
    codec = TaskCodec(shared, "b")
    array = np.ones(100_000)
    size0 = codec.dump(array, shared / "0.task")
    codec.dump(array, shared / "1.task")
    file_size = os.path.getsize(shared / "1.task")
    assert size0 == array.nbytes + os.path.getsize(shared / "0.task")
    assert codec.bytes_held == array.nbytes + 2 * file_size
    codec.load(shared / "1.task", delete=True)
    assert codec.bytes_held == array.nbytes + file_size
    codec.release()
    assert codec.bytes_held == 0


def test_bytes_held_is_a_running_total_that_stats_no_file(shared, monkeypatch):
    """At 100,000 tasks a stat per file ever written made every report O(tasks)."""
    codec = TaskCodec(shared, "b")
    sizes = [codec.dump(i, shared / f"{i}.task") for i in range(50)]
    calls = []
    real_exists, real_stat = os.path.exists, os.stat
    monkeypatch.setattr(os.path, "exists", lambda *a, **k: calls.append(a) or real_exists(*a, **k))
    monkeypatch.setattr(os, "stat", lambda *a, **k: calls.append(a) or real_stat(*a, **k))
    assert codec.bytes_held == sum(sizes)
    assert calls == []
    monkeypatch.undo()
    for i in range(40):
        os.unlink(shared / f"{i}.task")
        codec.forget(shared / f"{i}.task")
    codec.forget(shared / "never-written.task")  # ignored
    assert codec.bytes_held == sum(sizes[40:])
    assert len(codec._files) == 10  # forgotten paths are not held until the batch ends
    codec.dump("again", shared / "45.task")  # rewritten: counted once, at its new size
    assert codec.bytes_held == sum(sizes[40:45]) + sum(sizes[46:]) + os.path.getsize(
        shared / "45.task")


def test_worker_result_blobs_belong_to_the_batch_until_released(shared):
    caller = TaskCodec(shared, "b")
    worker = TaskCodec(shared, "b")  # what the job does on its node
    assert caller.owner and not worker.owner
    worker.dump(("ok", np.arange(100_000.0), None), shared / "0.result")
    assert ser.collect_garbage(shared, stale_after_s=0)["blobs_removed"] == 0
    assert caller.bytes_held >= 800_000
    assert caller.load(shared / "0.result")[1][5] == 5.0
    caller.release()
    assert blob_count(shared) == 0


def test_store_and_keys_are_owner_only(shared):
    codec = TaskCodec(shared, "b")
    codec.dump(np.ones(100_000), shared / "0.task")
    assert (shared / "store").stat().st_mode & 0o7777 == 0o700
    assert (shared / ".keys").stat().st_mode & 0o7777 == 0o700
    assert (shared / "0.task").stat().st_mode & 0o777 == 0o600


def test_there_is_no_group_mode(shared):
    # Removed on purpose (docs/data-transfer.md, "No group mode"): a shared store
    # maps blobs other users could rewrite after verification.
    with pytest.raises(TypeError):
        TaskCodec(shared, "b", group_mode=True)
    with pytest.raises(TypeError):
        _core.ContentStore(str(shared / "store"), True)
