"""Damaged, truncated and forged files are refused, with their path, before unpickling."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from joblib_htcondor import IntegrityError, _core
from joblib_htcondor._serialization import TaskCodec


class CreatesFileWhenUnpickled:
    """A payload whose unpickling has a visible side effect: it creates `marker`."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def shared(tmp_path):
    return tmp_path / "shared"


@pytest.fixture
def codec(shared):
    return TaskCodec(shared, "b")


def only_blob(shared):
    blobs = [os.path.join(root, f) for root, _, files in os.walk(shared / "store" / "sha256")
             for f in files]
    assert len(blobs) == 1
    return blobs[0]


def flip_byte(path, offset):
    os.chmod(path, 0o600)
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x5A]))


def truncate(path, size):
    os.chmod(path, 0o600)
    os.truncate(path, size)


def test_corrupted_blob_is_detected_naming_task_and_blob(shared, codec):
    codec.dump(np.arange(100_000.0), shared / "0.task")
    blob = only_blob(shared)
    flip_byte(blob, 12345)
    with pytest.raises(IntegrityError) as info:
        codec.load(shared / "0.task")
    assert str(shared / "0.task") in str(info.value)
    assert blob in str(info.value) and "corrupted" in str(info.value)


def test_truncated_blob_is_detected(shared, codec):
    codec.dump(np.arange(100_000.0), shared / "0.task")
    truncate(only_blob(shared), 1000)
    with pytest.raises(IntegrityError, match="truncated"):
        codec.load(shared / "0.task")


def test_missing_blob_is_detected(shared, codec):
    codec.dump(np.arange(100_000.0), shared / "0.task")
    os.unlink(only_blob(shared))
    with pytest.raises(IntegrityError, match="blob missing"):
        codec.load(shared / "0.task")


@pytest.mark.parametrize("name", ["0.task", "0.result"])
def test_corrupted_task_or_result_file_is_detected(shared, codec, name):
    codec.dump({"x": 1}, shared / name)
    flip_byte(shared / name, os.path.getsize(shared / name) // 2)
    with pytest.raises(IntegrityError, match="HMAC mismatch") as info:
        codec.load(shared / name)
    assert str(shared / name) in str(info.value)


@pytest.mark.parametrize("name", ["0.task", "0.result"])
def test_truncated_task_or_result_file_is_detected(shared, codec, name):
    codec.dump({"x": list(range(100))}, shared / name)
    truncate(shared / name, os.path.getsize(shared / name) - 10)
    with pytest.raises(IntegrityError, match="truncated") as info:
        codec.load(shared / name)
    assert str(shared / name) in str(info.value)


def test_tampered_task_is_refused_before_unpickling(shared, codec, tmp_path):
    marker = tmp_path / "pwned"
    codec.dump(CreatesFileWhenUnpickled(marker), shared / "0.task")
    flip_byte(shared / "0.task", 40)
    with pytest.raises(IntegrityError, match="not unpickled"):
        codec.load(shared / "0.task")
    assert not marker.exists()
    # Control: the same file, untouched, does run the payload when loaded.
    codec.dump(CreatesFileWhenUnpickled(marker), shared / "1.task")
    codec.load(shared / "1.task").close()
    assert marker.exists()


def test_plain_pickle_dropped_in_the_shared_dir_is_refused(shared, codec, tmp_path):
    marker = tmp_path / "pwned"
    (shared / "0.task").write_bytes(pickle.dumps(CreatesFileWhenUnpickled(marker)))
    with pytest.raises(IntegrityError, match="not a signed file"):
        codec.load(shared / "0.task")
    assert not marker.exists()


def test_file_signed_with_another_users_key_is_refused(shared, codec, tmp_path):
    marker = tmp_path / "pwned"
    other = _core.SigningKey.from_bytes(os.urandom(32))
    payload = pickle.dumps(CreatesFileWhenUnpickled(marker))
    _core.write_signed_file(str(shared / "0.task"), codec.identity(shared / "0.task"), payload,
                            other)
    with pytest.raises(IntegrityError, match="HMAC mismatch"):
        codec.load(shared / "0.task")
    assert not marker.exists()


def test_result_file_in_place_of_a_task_is_refused(shared, codec):
    codec.dump({"x": 1}, shared / "0.result")
    os.rename(shared / "0.result", shared / "0.task")
    with pytest.raises(IntegrityError, match="wrong kind: expected task, found result"):
        codec.load(shared / "0.task")


def test_malformed_header_under_a_valid_signature_is_refused(shared, codec):
    key = _core.SigningKey.load_or_create(str(shared / ".keys"))
    _core.write_signed_file(str(shared / "0.task"), codec.identity(shared / "0.task"),
                            b"\xff\xff\xff\x7fgarbage", key)
    with pytest.raises(IntegrityError, match="malformed payload header"):
        codec.load(shared / "0.task")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_key_file_open_to_others_is_refused(shared, codec, mode):
    key = _core.SigningKey.key_path(str(shared / ".keys"))
    os.chmod(key, mode)
    with pytest.raises(IntegrityError, match="owner-only") as info:
        TaskCodec(shared, "b2")
    assert key in str(info.value)


def test_key_directory_open_to_others_is_refused(shared, codec):
    key = _core.SigningKey.key_path(str(shared / ".keys"))
    os.chmod(os.path.dirname(key), 0o755)
    with pytest.raises(IntegrityError, match="key directory"):
        TaskCodec(shared, "b2")


def test_failed_load_keeps_the_task_file(shared, codec):
    codec.dump(np.arange(100_000.0), shared / "0.task")
    truncate(only_blob(shared), 10)
    with pytest.raises(IntegrityError):
        codec.load(shared / "0.task", delete=True)
    assert (shared / "0.task").exists()  # kept for the retry and the diagnosis
