"""Default throttles on HTCondor: waiting parents never get more than half of the
slots the pool has for their request (docs/recursion.md). The pool's size is
faked here, but for the htcondor-marked test, which asks the real pool;
test_htcondor_backend.py runs recursion on the real pool."""

from __future__ import annotations

import logging
import os
import subprocess

import pytest
from joblib_htcondor import _core, _defaults
from joblib_htcondor._params import parse_params


@pytest.fixture
def pool_of(monkeypatch):
    """Makes condor_status report these (TotalCpus, TotalMemory) machines."""

    def set_machines(*machines):
        monkeypatch.setattr(_defaults, "_machines", lambda pool: tuple(machines))

    return set_machines


def throttle(level, **params):
    return _defaults.default_htcondor_throttle(parse_params(params), level)


def test_without_recursion_the_leaf_default_feeds_every_slot(pool_of):
    pool_of((4, 4096))
    assert throttle(0) == 4
    pool_of(*[(64, 262144)] * 10)
    assert throttle(0) == _defaults.DEFAULT_LEAF_THROTTLE == 100


def test_parents_take_at_most_half_of_the_pool_and_children_the_leaf_default(pool_of):
    pool_of((4, 4096))
    assert throttle(0, max_recursion_level=1) == 2
    assert throttle(1, max_recursion_level=1) == 4


def test_every_waiting_level_together_takes_at_most_half_of_the_pool(pool_of):
    pool_of((8, 32768), (8, 32768))
    assert [throttle(level, max_recursion_level=2) for level in range(3)] == [4, 1, 16]


def test_memory_bounds_the_slots_and_a_pool_too_small_for_two_parents_warns(pool_of, caplog):
    pool_of((4, 4096))
    with caplog.at_level(logging.WARNING, logger="joblib_htcondor"):
        assert throttle(0, max_recursion_level=1, request_mem="4Gb") == 1
    assert "can hold every slot" in caplog.text
    assert throttle(0, max_recursion_level=1, request_mem=["1Gb", "4Gb"]) == 2


def test_an_unreachable_pool_falls_back_to_a_small_parent_throttle(monkeypatch, caplog):
    def fail(pool):
        raise _core.SchedulerError("condor_status exited with 1: no collector")

    monkeypatch.setattr(_defaults, "_machines", fail)
    with caplog.at_level(logging.WARNING, logger="joblib_htcondor"):
        assert throttle(0, max_recursion_level=1) == _defaults.FALLBACK_PARENT_THROTTLE
        assert throttle(1, max_recursion_level=1) == _defaults.DEFAULT_LEAF_THROTTLE
    assert "condor_status" in caplog.text


def test_a_failing_condor_status_on_path_gives_no_slot_count_and_a_warning(
        tmp_path, monkeypatch, caplog):
    tool = tmp_path / "condor_status"
    tool.write_text("#!/bin/sh\necho 'ERROR: Permission denied by the collector' >&2\nexit 1\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    _defaults._machines.cache_clear()
    with caplog.at_level(logging.WARNING, logger="joblib_htcondor"):
        assert _defaults.pool_slots(parse_params({"pool": "cm.example.org"}), 0) is None
    assert "Permission denied by the collector" in caplog.text


def test_a_malformed_pool_name_gives_no_slot_count_and_a_warning(caplog):
    _defaults._machines.cache_clear()
    with caplog.at_level(logging.WARNING, logger="joblib_htcondor"):
        assert _defaults.pool_slots(parse_params({"pool": "-constraint"}), 0) is None
    assert "pool" in caplog.text


@pytest.mark.htcondor
def test_on_the_real_pool_the_slots_are_those_condor_status_reports():
    # The figure the Python code computed from condor_status before the query moved to C++.
    out = subprocess.run(["condor_status", "-af", "Machine", "TotalCpus", "TotalMemory"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    machines = {}
    for line in out.splitlines():
        name, cpus, memory = line.split()
        if "undefined" not in (cpus, memory):
            machines[name] = (float(cpus), float(memory))
    expected = int(sum(min(cpus // 1, memory // 1024) for cpus, memory in machines.values()))
    _defaults._machines.cache_clear()
    params = parse_params({"request_mem": "1Gb", "max_recursion_level": 1})
    assert expected > 0
    assert _defaults.pool_slots(params, 0) == expected
    assert throttle(0, max_recursion_level=1, request_mem="1Gb") == max(1, expected // 2)


def resolve(level, n_jobs=None, **params):
    params.setdefault("scheduler", "htcondor")  # whatever JOBLIB_HTCONDOR_SCHEDULER says
    return _defaults.resolve_throttle(parse_params(params), level, n_jobs)


def test_a_given_throttle_wins_over_n_jobs_and_the_default(pool_of):
    pool_of((4, 4096))
    assert resolve(0, throttle=[3, 7], max_recursion_level=1) == 3
    assert resolve(1, 5, throttle=[3, 7], max_recursion_level=1) == 7


def test_without_a_throttle_a_positive_n_jobs_caps_the_batch_and_says_so(pool_of, caplog):
    pool_of((4, 4096))
    with caplog.at_level(logging.INFO, logger="joblib_htcondor"):
        assert resolve(0, 6) == 6
    assert "no throttle given: at most 6 tasks" in caplog.text
    assert resolve(0, -1) == resolve(0) == 4  # not positive: the pool's default


def test_the_local_default_feeds_twice_the_worker_slots_of_this_machine():
    cores = len(os.sched_getaffinity(0))
    assert resolve(0, scheduler="local") == 2 * cores
    assert resolve(0, scheduler="local", request_cpus=cores) == 2
