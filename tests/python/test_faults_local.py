"""Fault handling without a cluster: recovery of dead runs, the cleanup command,
the resume cache, parameters, and signals on the local scheduler."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import IntegrityError, _recovery, register_htcondor
from joblib_htcondor._params import parse_params
from joblib_htcondor._recovery import find_dead_batches, recover
from joblib_htcondor._result_cache import ResultCache
from owner_records import age, make_batch, owner_path, read_record
from test_faults_support import default_sigint

register_htcondor()
HERE = Path(__file__).resolve().parent


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid  # gone, and not reused this soon


def fail_on_two(x: int) -> int:
    if x == 2:
        raise KeyError("task 2 failed on purpose")
    return x


def test_batches_of_a_dead_owner_and_their_orphaned_children_are_dead(tmp_path):
    make_batch(tmp_path, "live", "live")
    make_batch(tmp_path, "dead", "dead", pid=dead_pid())
    make_batch(tmp_path, "child-of-dead", "dead/child-of-dead")
    make_batch(tmp_path, "child-of-gone", "gone/child-of-gone")
    make_batch(tmp_path, "elsewhere", "elsewhere", host="another-host", pid=dead_pid())
    make_batch(tmp_path, "reused-pid", "reused-pid", start_ticks=1)
    dead = sorted(d.name for d, _ in find_dead_batches(tmp_path))
    assert dead == ["child-of-dead", "child-of-gone", "dead", "reused-pid"]


def test_killed_resume_run_waits_its_grace_for_a_rerun_then_is_dead(tmp_path):
    """resume_grace: the next run's start leaves a killed resume=True run (and the
    batches below it) alone while its heartbeat is younger than its grace; the
    cleanup command (keep_resumable=False) does not wait."""
    make_batch(tmp_path, "killed", "killed", pid=dead_pid(), resume_grace_s=600)
    make_batch(tmp_path, "child", "killed/child")  # a nested batch in a live job
    make_batch(tmp_path, "no-resume", "no-resume", pid=dead_pid())
    assert [d.name for d, _ in find_dead_batches(tmp_path)] == ["no-resume"]
    assert sorted(d.name for d, _ in find_dead_batches(tmp_path, keep_resumable=False)) == [
        "child", "killed", "no-resume"]
    age(owner_path(tmp_path, "killed"), 601)
    assert sorted(d.name for d, _ in find_dead_batches(tmp_path)) == [
        "child", "killed", "no-resume"]


def test_an_earlier_versions_owner_json_is_read_where_the_store_has_no_record(tmp_path):
    """A run of the previous version kept its record in batches/<id>/owner.json:
    this version's recovery reads it and judges it by the same rule."""
    for name, pid in (("old-live", os.getpid()), ("old-dead", dead_pid())):
        batch = tmp_path / "batches" / name
        batch.mkdir(parents=True)
        (batch / "owner.json").write_text(json.dumps({
            "host": os.uname().nodename, "pid": pid, "start_ticks": 0, "lineage": name,
            "scheduler": "local", "pool": None, "schedd": None, "event_log": ""}))
    dead = find_dead_batches(tmp_path)
    assert [(d.name, r.owner.lineage) for d, r in dead] == [("old-dead", "old-dead")]


def test_resume_grace_outside_its_range_is_refused_naming_the_parameter():
    for bad in (-1, "600", True, float("nan")):
        with pytest.raises(ValueError, match="resume_grace must be a number of seconds >= 0"):
            parse_params({"resume_grace": bad})
    assert parse_params({"resume_grace": 0}).resume_grace == 0.0
    assert parse_params({}).resume_grace == 1800.0


def test_batch_dir_without_owner_is_dead_only_when_old(tmp_path):
    old, new = tmp_path / "batches" / "old", tmp_path / "batches" / "new"
    old.mkdir(parents=True), new.mkdir()
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert [d.name for d, _ in find_dead_batches(tmp_path, stale_after_s=3600)] == ["old"]


def test_recover_removes_dead_batch_dirs_and_keeps_live_ones(tmp_path):
    make_batch(tmp_path, "live", "live")
    make_batch(tmp_path, "dead", "dead", pid=dead_pid())
    summary = recover(tmp_path)
    assert summary["batches_removed"] == 1 and summary["batches"] == ["dead"]
    assert sorted(p.name for p in (tmp_path / "batches").iterdir()) == ["live"]


def test_a_batch_dir_written_into_while_it_is_removed_is_removed_again(tmp_path, monkeypatch):
    # The schedd appends a removed job's abort event to condor.log after condor_rm
    # returned; landing in the middle of rmtree it left the directory behind.
    batch = tmp_path / "batches" / "20261202-000000-L0-1-abcdef"
    batch.mkdir(parents=True)
    (batch / "condor.log").write_text("000 (1.0.0) submitted\n...\n")
    real_rmtree = _recovery.shutil.rmtree
    late_writes = []

    def rmtree_with_a_late_event(path, *args, **kwargs):
        real_rmtree(path, *args, **kwargs)
        if len(late_writes) < 2:  # the first two calls lose the race
            Path(path).mkdir(exist_ok=True)
            (Path(path) / "condor.log").write_text("009 (1.0.0) Job was aborted\n...\n")
            late_writes.append(path)

    monkeypatch.setattr(_recovery.shutil, "rmtree", rmtree_with_a_late_event)
    monkeypatch.setattr(_recovery, "REMOVE_DIR_PAUSE_S", 0.0)
    assert _recovery.remove_batch_dir(batch)
    assert not batch.exists()
    assert len(late_writes) == 2


def test_a_failed_batch_removes_its_dir_even_when_a_late_event_recreates_its_log(
        tmp_path, monkeypatch):
    # What CI saw on the pool: a batch whose held jobs were removed closed while the
    # schedd still appended their abort events; one rmtree left batches/<id>/condor.log.
    shared = tmp_path / "shared"
    real_rmtree = shutil.rmtree
    late_writes = []

    def rmtree_with_a_late_event(path, *args, **kwargs):
        real_rmtree(path, *args, **kwargs)
        if Path(path).parent.name == "batches" and not late_writes:
            Path(path).mkdir()
            (Path(path) / "condor.log").write_text("009 (1.0.0) Job was aborted\n...\n")
            late_writes.append(path)

    monkeypatch.setattr(shutil, "rmtree", rmtree_with_a_late_event)
    monkeypatch.setattr(_recovery, "REMOVE_DIR_PAUSE_S", 0.0)
    with parallel_config(backend="htcondor", scheduler="local", n_jobs=2, poll_interval=0.05,
                         shared_data_dir=str(shared), max_retries=0):
        with pytest.raises(KeyError, match="on purpose"):
            Parallel()(delayed(fail_on_two)(x) for x in range(4))
    assert len(late_writes) == 1
    assert list((shared / "batches").iterdir()) == []


def test_a_batch_dir_that_keeps_coming_back_is_reported_not_hidden(tmp_path, monkeypatch, caplog):
    batch = tmp_path / "b"
    batch.mkdir()
    monkeypatch.setattr(_recovery.shutil, "rmtree", lambda path, **kwargs: None)
    monkeypatch.setattr(_recovery, "REMOVE_DIR_PAUSE_S", 0.0)
    assert not _recovery.remove_batch_dir(batch)
    assert "could not remove" in caplog.text and str(batch) in caplog.text


def test_cleanup_command_dry_run_lists_and_keeps(tmp_path):
    make_batch(tmp_path, "dead", "dead", pid=dead_pid())
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path",
                           str(tmp_path), "--dry-run"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["batches"] == ["dead"]
    assert (tmp_path / "batches" / "dead").is_dir()


def test_cleanup_command_refuses_a_missing_path(tmp_path):
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path",
                           str(tmp_path / "nope")], capture_output=True, text=True)
    assert done.returncode == 2 and "is not a directory" in done.stderr


def test_hostile_lineage_is_refused_by_the_driver_before_any_tool_runs():
    from joblib_htcondor import _core

    for hostile in ['x" || true || "', "x\\", "", "a b", "a//b"]:
        with pytest.raises(ValueError, match="lineage: .* is not a lineage"):
            _core.remove_lineage("htcondor", hostile, "test")
    with pytest.raises(ValueError, match="scheduler must be"):
        _core.remove_lineage("slurm", "r1", "test")
    assert _core.remove_lineage("local", "r1/b2", "test") is False


def test_recovery_of_a_planted_hostile_lineage_removes_no_job(tmp_path, monkeypatch, caplog):
    """A planted owner record with lineage `x" || true || "`: recovery refuses it (logs
    it) and never runs condor_rm; a condor_rm first on PATH would record a call."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls"
    (bin_dir / "condor_rm").write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    (bin_dir / "condor_rm").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    shared = tmp_path / "shared"
    make_batch(shared, "planted", 'x" || true || "', scheduler="htcondor", pid=dead_pid())
    with caplog.at_level("WARNING", logger="joblib_htcondor"):
        summary = recover(shared)
    assert summary["batches"] == ["planted"] and summary["job_sets_removed"] == 0
    assert not calls.exists(), calls.read_text()
    assert "is not a lineage" in caplog.text


def test_parameters_resume_and_run_inline_after_are_checked():
    assert parse_params({"resume": True}).resume is True
    assert parse_params({"run_inline_after": None}).run_inline_after == float("inf")
    assert parse_params({}).run_inline_after == 120.0
    with pytest.raises(ValueError, match="resume must be True or False"):
        parse_params({"resume": "yes"})
    with pytest.raises(ValueError,
                       match="run_inline_after must be a positive number of seconds or None"):
        parse_params({"run_inline_after": 0})


def square(x):
    return x * x


def test_result_cache_keys_by_content_and_refuses_a_tampered_entry(tmp_path):
    from joblib.parallel import BatchedCalls

    def batch(x):
        return BatchedCalls([(square, (x,), {})], (None, 1), None, None)

    cache = ResultCache(tmp_path)
    key = cache.key_of(batch(3))
    assert key == cache.key_of(batch(3)) and key != cache.key_of(batch(4))
    assert cache.get(key) == (False, None)
    cache.put(key, [9])
    assert cache.get(key) == (True, [9])
    raw = bytearray(cache.path(key).read_bytes())
    raw[30] ^= 1
    cache.path(key).write_bytes(bytes(raw))
    with pytest.raises(IntegrityError):
        cache.get(key)


def count(i, counter):
    with open(counter, "a") as stream:
        stream.write(f"{i}\n")
    return i * i


def test_resume_runs_only_the_tasks_without_a_cached_result(tmp_path):
    counter = tmp_path / "counter"
    config = dict(backend="htcondor", scheduler="local", shared_data_dir=str(tmp_path / "s"),
                  resume=True)
    with parallel_config(**config):
        assert Parallel(n_jobs=2, batch_size=1)(delayed(count)(i, str(counter))
                                                for i in range(3)) == [0, 1, 4]
    with parallel_config(**config):
        assert Parallel(n_jobs=2, batch_size=1)(delayed(count)(i, str(counter))
                                                for i in range(4)) == [0, 1, 4, 9]
    assert sorted(counter.read_text().split()) == ["0", "1", "2", "3"]


DRIVER = """
import faulthandler, signal, sys, time
faulthandler.register(signal.SIGUSR1, all_threads=True)  # the test's view of a hang
sys.path.insert(0, {here!r})
from joblib import Parallel, delayed, parallel_config
import joblib_htcondor
joblib_htcondor.register_htcondor()
with parallel_config(backend="htcondor", scheduler="local", shared_data_dir={shared!r},
                     fork_server=False):
    Parallel(n_jobs=2, batch_size=1)(delayed(time.sleep)(60) for _ in range(2))
"""


def pgrep(pattern: str) -> list:
    return subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum, expected", [(signal.SIGTERM, -signal.SIGTERM),
                                              (signal.SIGINT, -signal.SIGINT)])
def test_signal_to_the_caller_removes_its_local_jobs_and_files(tmp_path, signum, expected):
    shared = tmp_path / "s"
    driver = subprocess.Popen([sys.executable, "-c", DRIVER.format(here=str(HERE),
                                                                    shared=str(shared))],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              # fork_server=False: one process per job, named by its
                              # task file, for pgrep
                              preexec_fn=default_sigint)
    pattern = f"joblib_htcondor.worker {shared}"
    try:
        deadline = time.monotonic() + 30  # a loaded machine may take seconds to spawn them
        while len(pgrep(pattern)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(pgrep(pattern)) == 2, "the two worker processes did not start"
        driver.send_signal(signum)
        try:
            code = driver.wait(30)
        except subprocess.TimeoutExpired:
            driver.send_signal(signal.SIGUSR1)  # every thread's stack, to the output
            time.sleep(1)
            driver.kill()
            pytest.fail(f"the caller did not exit within 30 s of {signum!r}:\n"
                        f"{driver.communicate()[0]}")
        assert code == expected, driver.stdout.read()
    finally:
        driver.kill()
    time.sleep(0.5)
    assert pgrep(pattern) == []
    assert list((shared / "batches").iterdir()) == []


def test_owner_in_another_pid_namespace_is_alive_while_its_heartbeat_is_fresh(tmp_path):
    """A nested batch in a job with its own PID namespace: its pid means nothing here."""
    other_namespace = os.stat("/proc/self/ns/pid").st_ino + 1
    make_batch(tmp_path, "nested", "nested", pid=dead_pid(), pid_namespace=other_namespace)
    assert find_dead_batches(tmp_path, stale_after_s=600) == []
    age(owner_path(tmp_path, "nested"), 700)
    assert [d.name for d, _ in find_dead_batches(tmp_path, stale_after_s=600)] == ["nested"]


def test_owner_after_a_reboot_is_judged_by_its_heartbeat_not_its_pid(tmp_path):
    make_batch(tmp_path, "rebooted", "rebooted", boot_id="another-boot", pid=os.getpid())
    assert find_dead_batches(tmp_path, stale_after_s=600) == []
    age(owner_path(tmp_path, "rebooted"), 700)
    assert [d.name for d, _ in find_dead_batches(tmp_path, stale_after_s=600)] == ["rebooted"]


def test_abandoned_batch_is_dead_while_its_process_lives(tmp_path):
    from joblib_htcondor import _core

    make_batch(tmp_path, "abandoned", "abandoned")
    assert find_dead_batches(tmp_path) == []
    _core.ContentStore(str(tmp_path / "store")).mark_abandoned("abandoned")
    assert [d.name for d, _ in find_dead_batches(tmp_path)] == ["abandoned"]


def test_close_cleans_up_and_then_raises_when_the_engines_shutdown_fails(tmp_path):
    """The engine's shutdown fails as it does when condor_rm cannot reach the schedd
    (the real fault runs on the pool: test_faults_schedd_unreachable.py)."""
    from joblib_htcondor import SchedulerError
    from joblib_htcondor._batch import Batch

    batch = Batch(parse_params({"scheduler": "local", "shared_data_dir": str(tmp_path)}),
                  0, "", 2)
    engine = batch.engine

    class ShutdownFails:
        def __getattr__(self, name):
            return getattr(engine, name)

        def shutdown(self):
            engine.shutdown()
            raise SchedulerError("condor_rm exited with 1: ERROR: Failed to connect to "
                                 "local queue manager")

    batch.engine = ShutdownFails()
    with pytest.raises(SchedulerError, match="Failed to connect to local queue manager"):
        batch.close()
    assert not batch._collector.is_alive()
    assert list(batch.dir.iterdir()) == [], "the emptied directory stays for the recovery"
    record = read_record(tmp_path, batch.batch_id)
    assert record.owner.abandoned and record.owner.lineage == batch.lineage
    assert [d.name for d, _ in find_dead_batches(tmp_path)] == [batch.batch_id]
    assert recover(tmp_path)["batches"] == [batch.batch_id]
    assert read_record(tmp_path, batch.batch_id) is None, "the recovery dropped the record"
