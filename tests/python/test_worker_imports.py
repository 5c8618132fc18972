"""The worker imports joblib (and numpy) only when the task needs it, and then
applies the nested backend joblib asked for, as joblib's BatchedCalls would.

Each test writes a task file and runs ``python -m joblib_htcondor.worker`` on it,
as a job does. The tasks' functions live in a module of their own that imports
nothing heavy, so what the worker imports is what the worker chose to import.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from joblib.parallel import BatchedCalls
from joblib_htcondor._backend import HTCondorBackend
from joblib_htcondor._params import parse_params
from joblib_htcondor._serialization import TaskCodec
from joblib_htcondor._task import NestedBackend, TaskCalls, result_path_for

PROBES = textwrap.dedent('''
    import importlib.util
    import sys

    def loaded(_):
        return "joblib" in sys.modules, "numpy" in sys.modules

    def nested_backend(_):
        from joblib.parallel import get_active_backend
        backend, n_jobs = get_active_backend()
        return type(backend).__name__, getattr(backend, "level", None), backend.nesting_level

    def probe_then_nested_backend(_):
        assert importlib.util.find_spec("joblib") is not None  # a look that imports nothing
        assert "joblib" not in sys.modules
        return nested_backend(_)

    def htcondor_registered(_):
        import joblib.parallel
        return "htcondor" in joblib.parallel.BACKENDS
''')


@pytest.fixture
def probes(tmp_path, monkeypatch):
    directory = tmp_path / "probes"
    directory.mkdir()
    (directory / "jhtc_probes.py").write_text(PROBES)
    monkeypatch.syspath_prepend(str(directory))
    import jhtc_probes

    yield jhtc_probes
    sys.modules.pop("jhtc_probes", None)


def run_worker(tmp_path, probes, func):
    """Writes ``func`` as task 0, runs the worker on it, returns its outcome."""
    shared = tmp_path / "shared"
    codec = TaskCodec(shared, "batch-1")
    task = shared / "0.task"
    codec.dump({"func": func, "context_func": None}, task)
    env = dict(os.environ, JOBLIB_HTCONDOR_SHARED_DIR=str(shared), JOBLIB_HTCONDOR_BATCH="batch-1",
               JOBLIB_HTCONDOR_SYS_PATH=os.path.dirname(probes.__file__))
    done = subprocess.run([sys.executable, "-m", "joblib_htcondor.worker", str(task)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = codec.load(result_path_for(str(task)), delete=True)
    assert result.ok, result.traceback
    return result.value


def htcondor_nested(level: int) -> HTCondorBackend:
    return HTCondorBackend(nesting_level=level, _level=level, _params=parse_params({}))


def test_a_task_that_does_not_use_joblib_runs_without_it(tmp_path, probes):
    calls = TaskCalls([(probes.loaded, (0,), {})], NestedBackend.describe(htcondor_nested(1), None))
    assert run_worker(tmp_path, probes, calls) == [(False, False)]


def test_joblibs_own_batch_object_would_import_joblib(tmp_path, probes):
    # The control: what the worker paid for every job before TaskCalls.
    batch = BatchedCalls([(probes.loaded, (0,), {})], (htcondor_nested(1), None))
    assert run_worker(tmp_path, probes, batch) == [(True, True)]


def test_from_joblib_keeps_the_calls_and_the_nested_backend(probes):
    nested = htcondor_nested(2)
    calls = TaskCalls.from_joblib(BatchedCalls([(probes.loaded, (1,), {"a": 2})], (nested, 3)))
    assert isinstance(calls, TaskCalls)
    assert calls.items == [(probes.loaded, (1,), {"a": 2})]
    nested = calls.nested
    assert (nested.kind, nested.n_jobs, nested.nesting_level) == ("htcondor", 3, 2)
    assert calls.nested.make().level == 2


def test_from_joblib_leaves_anything_else_as_it_is(probes):
    assert TaskCalls.from_joblib(probes.loaded) is probes.loaded


@pytest.mark.parametrize("probe", ["nested_backend", "probe_then_nested_backend"])
def test_nested_htcondor_backend_applies_when_the_task_imports_joblib(tmp_path, probes, probe):
    calls = TaskCalls([(getattr(probes, probe), (0,), {})],
                      NestedBackend.describe(htcondor_nested(1), None))
    assert run_worker(tmp_path, probes, calls) == [("HTCondorBackend", 1, 1)]


def test_nested_sequential_backend_applies(tmp_path, probes):
    from joblib._parallel_backends import SequentialBackend

    calls = TaskCalls([(probes.nested_backend, (0,), {})],
                      NestedBackend.describe(SequentialBackend(nesting_level=2), None))
    assert run_worker(tmp_path, probes, calls) == [("SequentialBackend", None, 2)]


def test_nested_backend_applies_when_unpickling_imported_joblib(tmp_path, probes):
    from joblib._parallel_backends import SequentialBackend

    # An argument of joblib's own makes the worker import joblib while unpickling.
    calls = TaskCalls([(probes.nested_backend, (SequentialBackend(nesting_level=5),), {})],
                      NestedBackend.describe(htcondor_nested(1), None))
    assert run_worker(tmp_path, probes, calls) == [("HTCondorBackend", 1, 1)]


def test_a_task_may_name_the_htcondor_backend(tmp_path, probes):
    calls = TaskCalls([(probes.htcondor_registered, (0,), {})], None)
    assert run_worker(tmp_path, probes, calls) == [True]
