"""The drivers' options travel as typed structs (HTCondorOptions, LocalOptions) and
the level cap as a LevelLimit: what the batch fills in, and the driver's refusal of a
value out of range, naming the field."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from joblib_htcondor import _core
from joblib_htcondor._job_description import JobDescription
from joblib_htcondor._layout import SharedLayout
from joblib_htcondor._params import parse_params


def batch_like(tmp_path: Path, **params) -> JobDescription:
    """The jobs of a level-1 batch with these parameters."""
    return JobDescription(parse_params(params), level=1, batch_id="b2", root_batch_id="b1",
                          lineage="jhtc-r-L0-b1/jhtc-r-L1-b2", layout=SharedLayout(tmp_path),
                          batch_dir=tmp_path / "batch", logs_dir=tmp_path / "logs",
                          event_log=tmp_path / "logs" / "condor.log", throttle=7, threads=1)


def test_the_htcondor_options_carry_typed_values(tmp_path):
    batch = batch_like(tmp_path, pool="cm.example:9618", poll_interval=0.2,
                       extra_directives={"+ProjectName": '"ml"', "requirements": "True"},
                       max_idle_unmatched=90.5, log_dir_prefix=str(tmp_path))
    options = batch.driver_options()
    assert isinstance(options, _core.HTCondorOptions)
    assert options.pool == "cm.example:9618"
    assert options.schedd == ""
    assert options.lineage == "jhtc-r-L0-b1/jhtc-r-L1-b2"
    assert options.level == 1
    assert options.poll_interval == timedelta(milliseconds=200)
    assert options.extra_directives == [("+ProjectName", '"ml"'), ("requirements", "True")]
    assert options.unmatched_after == timedelta(seconds=math.ceil(90.5))
    assert options.event_log == str(tmp_path / "logs" / "condor.log")
    assert options.event_log_inotify is True
    assert options.max_per_submission == 5000


def test_an_unmatched_job_that_may_wait_forever_has_no_deadline(tmp_path):
    options = batch_like(tmp_path, max_idle_unmatched=None).driver_options()
    assert options.unmatched_after is None
    assert options.event_log == ""  # the driver's default, <batch_dir>/condor.log


def test_the_local_scheduler_gets_its_own_options(tmp_path):
    options = batch_like(tmp_path, scheduler="local", fork_server=False).driver_options()
    assert isinstance(options, _core.LocalOptions)
    assert options.fork_server is False
    assert options.cores is None
    assert options.kill_grace == timedelta(seconds=5)


def test_the_level_cap_is_a_level_limit_only_with_throttle_scope_level(tmp_path):
    assert batch_like(tmp_path).level_limit() is None
    limit = batch_like(tmp_path, throttle_scope="level").level_limit()
    assert (limit.level, limit.cap) == (1, 7)
    assert limit.lock_path == str(tmp_path / "batches" / ".b1-L1.lock")
    local = batch_like(tmp_path, throttle_scope="level", scheduler="local")
    assert local.level_limit() is None  # no schedd to count with


def template(tmp_path: Path) -> _core.JobTemplate:
    t = _core.JobTemplate()
    t.batch_name = "jhtc-test-L0-b1"
    t.batch_dir = str(tmp_path / "batch")
    t.log_dir = str(tmp_path / "logs")
    return t


@pytest.mark.parametrize("field, value, words", [
    ("poll_interval", 0.0, "poll_interval: 0 ms is not positive"),
    ("unmatched_after", -1.0, "unmatched_after: -1 s is not positive"),
    ("max_per_submission", 0, "max_per_submission: 0 jobs"),
    ("retry_attempts", 0, "retry_attempts: 0 calls"),
    ("level", 1000, "level: 1000 is not a recursion level"),
    ("extra_directives", [("queue", "5")], 'extra_directives: "queue" is set by the driver'),
])
def test_an_htcondor_option_out_of_range_is_a_value_error_naming_it(tmp_path, field, value,
                                                                    words):
    options = _core.HTCondorOptions()
    setattr(options, field, value)
    with pytest.raises(ValueError, match=words):
        _core.Engine(template(tmp_path), options, 1)


@pytest.mark.parametrize("field, value, words", [
    ("cores", 0, "cores: 0"),
    ("kill_grace", -0.5, "kill_grace: -500 ms"),
])
def test_a_local_option_out_of_range_is_a_value_error_naming_it(tmp_path, field, value, words):
    options = _core.LocalOptions()
    setattr(options, field, value)
    with pytest.raises(ValueError, match=words):
        _core.Engine(template(tmp_path), options, 1)


def test_a_level_limit_without_room_is_a_value_error_naming_it(tmp_path):
    options = _core.LocalOptions()
    options.fork_server = False
    with pytest.raises(ValueError, match="level_limit.cap must be at least 1"):
        _core.Engine(template(tmp_path), options, 1,
                     level_limit=_core.LevelLimit(0, 0, str(tmp_path / "lock")))


def test_a_value_of_the_wrong_type_is_refused_when_set():
    options = _core.HTCondorOptions()
    with pytest.raises(TypeError):
        options.max_per_submission = "many"
    with pytest.raises(TypeError):
        options.poll_interval = "0.25"
    assert options.max_per_submission == 5000
