"""The testbed pool works: jobs submitted in one transaction finish, condor_rm aborts.

These tests prove the harness of the integration tier, with plain HTCondor tools only.
Run them with ``testbed/pool up && testbed/pool run -- pytest -m htcondor``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
TERSE_RANGE = re.compile(r"^(\d+)\.(\d+) - (\d+)\.(\d+)$")


def condor(*args: str, timeout: float = 60) -> str:
    """Runs an HTCondor tool; a non-zero exit fails the test with the tool's output."""
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def submit(directory: Path, description: str) -> tuple[int, list[int]]:
    """Submits one description with ``condor_submit -terse``; returns cluster and procs."""
    submit_file = directory / "job.sub"
    submit_file.write_text(textwrap.dedent(description))
    line = condor("condor_submit", "-terse", str(submit_file)).strip()
    match = TERSE_RANGE.match(line)
    assert match, f"unexpected condor_submit -terse output: {line!r}"
    cluster, first, cluster_again, last = (int(g) for g in match.groups())
    assert cluster == cluster_again
    return cluster, list(range(first, last + 1))


def return_value(event) -> int:
    """The ``return value N`` of a normal 005 termination event."""
    match = re.search(r"Normal termination \(return value (\d+)\)", event.text)
    assert match, f"not a normal termination:\n{event.text}"
    return int(match.group(1))


@pytest.mark.htcondor
def test_pool_runs_tests_as_the_pool_user_with_the_project_environment():
    import julearn  # noqa: F401  (the point: these import inside the pool)
    import numpy  # noqa: F401
    import sklearn  # noqa: F401

    assert os.getuid() != 0, "HTCondor refuses jobs from root; the pool user must run tests"
    assert os.environ["CONDOR_CONFIG"]
    assert Path(os.environ["JHTC_TESTBED_SHARED"]).is_dir()


@pytest.mark.htcondor
def test_pool_advertises_at_least_one_cpu():
    # The slots' sizes, not their free CPUs: a partitionable slot's Cpus is what is
    # left unclaimed, 0 while an earlier test's claims still hold every CPU (seen in CI).
    sizes = condor("condor_status", "-constraint", "DynamicSlot =!= true", "-af", "TotalSlotCpus")
    assert sum(int(float(v)) for v in sizes.split()) >= 1, sizes


@pytest.mark.htcondor
def test_one_transaction_submits_every_job_and_the_log_shows_each_exit_code(
    testbed_shared_dir, condor_event_log
):
    log = testbed_shared_dir / "events.log"
    cluster, procs = submit(
        testbed_shared_dir,
        f"""
        universe = vanilla
        executable = /bin/sh
        arguments = "-c 'exit $(Process)'"
        log = {log}
        queue 5
        """,
    )
    assert procs == [0, 1, 2, 3, 4]

    events = condor_event_log.wait_for(
        log, lambda evs: sum(e.code == 5 for e in evs) == len(procs), timeout=120
    )
    assert {e.proc for e in events if e.code == 0} == set(procs)
    assert {e.cluster for e in events} == {cluster}
    exits = {e.proc: return_value(e) for e in events if e.code == 5}
    assert exits == {proc: proc for proc in procs}


@pytest.mark.htcondor
def test_a_job_runs_the_project_python_and_writes_the_shared_directory(
    testbed_shared_dir, condor_event_log
):
    log = testbed_shared_dir / "events.log"
    out = testbed_shared_dir / "out.txt"
    script = testbed_shared_dir / "job.py"
    script.write_text(f"import julearn\nopen({str(out)!r}, 'w').write(julearn.__version__)\n")
    submit(
        testbed_shared_dir,
        f"""
        executable = {sys.executable}
        arguments = {script}
        log = {log}
        queue
        """,
    )
    events = condor_event_log.wait_for(log, lambda evs: any(e.code == 5 for e in evs), timeout=120)
    assert return_value(events[-1]) == 0
    import julearn

    assert out.read_text() == julearn.__version__


@pytest.mark.htcondor
def test_condor_rm_aborts_a_running_job(testbed_shared_dir, condor_event_log):
    log = testbed_shared_dir / "events.log"
    cluster, _ = submit(
        testbed_shared_dir,
        f"""
        executable = /bin/sleep
        arguments = 600
        log = {log}
        queue
        """,
    )
    condor_event_log.wait_for(log, lambda evs: any(e.code == 1 for e in evs), timeout=120)
    condor("condor_rm", str(cluster))

    events = condor_event_log.wait_for(log, lambda evs: any(e.code == 9 for e in evs), timeout=60)
    aborted = next(e for e in events if e.code == 9)
    assert aborted.cluster == cluster
    assert "via condor_rm" in aborted.text
    assert not any(e.code == 5 for e in events), "a removed job must not report termination"


# --- the helpers and the skip rule, checked without a pool ------------------------------


def test_event_log_parser_returns_complete_events_and_leaves_out_a_partial_one(
    condor_event_log,
):
    text = (
        "000 (012.003.000) 2026-11-24 05:06:07 Job submitted from host: <127.0.0.1:9618>\n"
        "...\n"
        "005 (012.003.000) 2026-11-24 05:06:09 Job terminated.\n"
        "\t(1) Normal termination (return value 3)\n"
    )
    events = condor_event_log.parse(text)
    assert [(e.code, e.cluster, e.proc) for e in events] == [(0, 12, 3)]
    assert condor_event_log.parse(text + "...\n")[-1].body == (
        "\t(1) Normal termination (return value 3)",
    )


def test_event_log_parser_rejects_a_line_outside_any_event(condor_event_log):
    with pytest.raises(ValueError, match="not an event header"):
        condor_event_log.parse("garbage\n")


def test_waiting_for_events_fails_the_test_on_timeout(tmp_path, condor_event_log):
    with pytest.raises(pytest.fail.Exception, match="condition not met"):
        condor_event_log.wait_for(tmp_path / "missing.log", lambda evs: bool(evs), timeout=0.3)


def test_htcondor_tests_skip_outside_the_pool_naming_the_way_to_run_them():
    env = {k: v for k, v in os.environ.items() if not k.startswith("JHTC_TESTBED")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-m", "htcondor", "-rs",
         str(Path(__file__))],
        capture_output=True, text=True, env=env, cwd=HERE, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"\b5 skipped\b", result.stdout), result.stdout
    assert "testbed/pool up" in result.stdout
    assert "testbed/pool run -- pytest -m htcondor" in result.stdout
