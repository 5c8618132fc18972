"""The metadata journal seen from Python: _core.JournalWriter and _core.JournalReader."""

from __future__ import annotations

import json
import multiprocessing
import os
import threading

import pytest
from joblib_htcondor import _core


def events_of(path: str) -> list[tuple[float, str, dict[str, str]]]:
    reader = _core.JournalReader()
    with open(path, "rb") as f:
        events = reader.feed(f.read())
    assert reader.corrupt_lines == 0
    assert reader.pending_bytes == 0
    return events


def test_writer_creates_one_file_per_batch_under_its_root(tmp_path):
    w = _core.JournalWriter(str(tmp_path), "b7", "root", "root", 1, 60, "htcondor")
    assert w.path == str(tmp_path / "root" / "b7.jsonl")
    assert (w.batch_id, w.root_batch_id) == ("b7", "root")
    ((ts, name, ctx),) = events_of(w.path)
    assert name == "batch_started"
    assert ctx["parent"] == "root" and ctx["level"] == "1" and ctx["throttle"] == "60"
    assert ctx["pid"] == str(os.getpid()) and ctx["scheduler"] == "htcondor"


def test_lines_are_flux_style_json_with_ts_name_context(tmp_path):
    w = _core.JournalWriter(str(tmp_path), "r", "", "r", 0, 2, "local")
    w.task_queued(1)
    w.task_submitted(1, "31.0")
    w.task_running(1, "31.0")
    w.task_retried(1, "evicted")
    w.task_failed(1, 'held: "memory"\nexceeded', "31.1")
    w.task_done(2)
    w.task_cancelled(3)
    w.bytes_held(2**40)
    w.finish("failed")
    lines = [json.loads(line) for line in open(w.path, encoding="utf-8")]
    assert [line["name"] for line in lines] == [
        "batch_started", "task_queued", "task_submitted", "task_running", "task_retried",
        "task_failed", "task_done", "task_cancelled", "bytes_held", "batch_finished",
    ]
    assert all(isinstance(line["ts"], float) for line in lines)
    assert lines[5]["context"] == {"task": 1, "reason": 'held: "memory"\nexceeded', "job": "31.1"}
    assert lines[8]["context"] == {"bytes": 2**40}
    assert lines[9]["context"] == {"state": "failed"}
    assert w.finished and w.write_errors == 0 and w.last_error == ""


def test_finish_writes_batch_finished_only_once(tmp_path):
    w = _core.JournalWriter(str(tmp_path), "r", "", "r", 0, 1, "local")
    w.finish("done")
    w.finish("cancelled")
    assert [name for _, name, _ in events_of(w.path)] == ["batch_started", "batch_finished"]


@pytest.mark.parametrize("batch_id, root_id", [("", "r"), ("a/b", "r"), ("b", ".."), ("b", "")])
def test_id_that_is_not_a_plain_file_name_raises_value_error(tmp_path, batch_id, root_id):
    with pytest.raises(ValueError, match="plain file names"):
        _core.JournalWriter(str(tmp_path), batch_id, "", root_id, 0, 1, "local")


def test_uncreatable_journal_directory_raises_os_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(OSError):
        _core.JournalWriter(str(blocker), "b", "", "r", 0, 1, "local")


def test_reader_keeps_partial_line_and_skips_corrupt_one(tmp_path):
    w = _core.JournalWriter(str(tmp_path), "r", "", "r", 0, 1, "local")
    w.task_done(5)
    data = open(w.path, "rb").read()
    reader = _core.JournalReader()
    cut = len(data) - 7
    first = reader.feed(data[:cut])
    assert [name for _, name, _ in first] == ["batch_started"]
    assert reader.pending_bytes > 0
    rest = reader.feed(data[cut:] + b'{"ts": 1, "name": \n')
    assert [(name, ctx) for _, name, ctx in rest] == [("task_done", {"task": "5"})]
    assert reader.corrupt_lines == 1
    assert "line 3" in reader.last_warning


def _append_from_process(journal_dir: str, letter: str, count: int) -> None:
    w = _core.JournalWriter(journal_dir, "shared", "", "r", 0, 1, "local")
    for task in range(count):
        w.task_retried(task, letter * 700)


def test_threads_and_processes_appending_never_interleave_lines(tmp_path):
    shared = _core.JournalWriter(str(tmp_path), "shared", "", "r", 0, 1, "local")

    def from_thread(letter: str) -> None:
        for task in range(2000):
            shared.task_failed(task, letter * 700)

    threads = [threading.Thread(target=from_thread, args=(c,)) for c in "ab"]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_from_process, args=(str(tmp_path), c, 2000)) for c in "xy"]
    for t in threads + procs:
        t.start()
    for t in threads + procs:
        t.join()
    assert all(p.exitcode == 0 for p in procs)
    events = events_of(shared.path)  # asserts no corrupt or partial line
    reasons = [ctx["reason"] for _, name, ctx in events if name.startswith("task_")]
    assert len(reasons) == 8000
    assert all(r == r[0] * 700 for r in reasons)
