"""Shared test configuration: the ``htcondor`` marker and the testbed pool's fixtures.

Tests marked ``htcondor`` need the real pool of ``testbed/pool`` and run only inside it
(``testbed/pool run`` sets ``JHTC_TESTBED=1``); everywhere else they are skipped with a
reason that says how to run them. Other test files add their own fixtures beside their
tests; only what several files share belongs here.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TESTBED_SKIP_REASON = (
    "needs the real HTCondor pool: start it with `testbed/pool up`, "
    "then run `testbed/pool run -- pytest -m htcondor`"
)


def _load_build_id_module():
    path = Path(__file__).resolve().parents[2] / "scripts" / "build_id.py"
    spec = importlib.util.spec_from_file_location("jhtc_build_id", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pytest_configure(config):
    # The tests import the installed package, not python/: refuse to run them against a
    # build of another tree (a failed or forgotten rebuild), instead of passing on old code.
    message = _load_build_id_module().mismatch_message()
    if message:
        raise pytest.UsageError(message)


def pytest_report_header(config):
    return f"joblib_htcondor build id: {_load_build_id_module().tree_build_id()} (matches the tree)"


def in_testbed() -> bool:
    """True when running inside the pool (``testbed/pool run``)."""
    return os.environ.get("JHTC_TESTBED") == "1"


TESTBED_HOST_SKIP_REASON = (
    "runs on the host and drives the testbed pool: `testbed/pool up`, then "
    "`JHTC_TESTBED_HOST=1 pytest -m testbed_host` (scripts/test-all does)"
)


def pytest_collection_modifyitems(config, items):
    host_run = os.environ.get("JHTC_TESTBED_HOST") == "1" and not in_testbed()
    skip_host = pytest.mark.skip(reason=TESTBED_HOST_SKIP_REASON)
    for item in items:
        if "testbed_host" in item.keywords and not host_run:
            item.add_marker(skip_host)
    if in_testbed():
        return
    skip = pytest.mark.skip(reason=TESTBED_SKIP_REASON)
    for item in items:
        if "htcondor" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Lets testbed_shared_dir keep the files of a failed test for a post-mortem.
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.jhtc_call_failed = report.failed


@pytest.fixture
def testbed_shared_dir(request) -> Iterator[Path]:
    """A fresh directory under the pool's shared data directory, one per test.

    Jobs run as the pool user and can read and write it. Removed after a passing test,
    kept after a failing one (its path is in the test's name and a uuid).
    """
    base = os.environ.get("JHTC_TESTBED_SHARED")
    if not base:
        pytest.skip(TESTBED_SKIP_REASON)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:60]
    path = Path(base) / f"{name}-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    yield path
    if not getattr(request.node, "jhtc_call_failed", True):
        shutil.rmtree(path, ignore_errors=True)


@dataclass(frozen=True)
class CondorEvent:
    """One event of an HTCondor job event log: ``NNN (C.P.S) TIME text``, body, ``...``."""

    code: int
    cluster: int
    proc: int
    header: str
    body: tuple[str, ...]

    @property
    def text(self) -> str:
        return "\n".join((self.header, *self.body))


_EVENT_HEADER = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.\d+\) ")


def parse_condor_event_log(text: str) -> list[CondorEvent]:
    """Complete events of a job event log, in order.

    A last event without its closing ``...`` is still being written and is left out;
    a line that is neither a header nor inside an event raises ValueError.
    """
    events, current = [], None
    for line in text.splitlines():
        if current is None:
            match = _EVENT_HEADER.match(line)
            if not match:
                raise ValueError(f"not an event header: {line!r}")
            current = (match, line, [])
        elif line == "...":
            match, header, body = current
            code, cluster, proc = (int(g) for g in match.groups())
            events.append(CondorEvent(code, cluster, proc, header, tuple(body)))
            current = None
        else:
            current[2].append(line)
    return events


def wait_for_condor_events(
    path: Path,
    done: Callable[[list[CondorEvent]], bool],
    timeout: float = 60.0,
) -> list[CondorEvent]:
    """Polls the event log at ``path`` until ``done(events)``; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        text = path.read_text() if path.exists() else ""
        events = parse_condor_event_log(text)
        if done(events):
            return events
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met after {timeout:.0f}s; event log {path}:\n{text}")
        time.sleep(0.25)


@pytest.fixture
def condor_event_log():
    """The event-log helpers as a fixture: ``.parse(text)`` and ``.wait_for(path, done)``."""

    class Helpers:
        parse = staticmethod(parse_condor_event_log)
        wait_for = staticmethod(wait_for_condor_events)

    return Helpers
