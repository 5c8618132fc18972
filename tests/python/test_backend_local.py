"""joblib semantics through the backend, on the embedded local scheduler."""

import multiprocessing
import os
import signal
import time
from pathlib import Path

import joblib
import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import JobFailedError, RemoteTraceback, register_htcondor

register_htcondor()

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def shared(tmp_path):
    return tmp_path / "shared"


def local_config(shared, **overrides):
    params = dict(backend="htcondor", scheduler="local", n_jobs=-1, shared_data_dir=str(shared),
                  poll_interval=0.05)
    params.update(overrides)
    return parallel_config(**params)


def square(x):
    return x * x


def fail_on(x, bad):
    if x == bad:
        raise KeyError(f"task {x} failed on purpose")
    return x


def nested_backend_name(_):
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return type(backend).__name__, getattr(backend, "level", None)


def read_env(name):
    return os.environ.get(name)


def kill_myself(_):
    os.kill(os.getpid(), signal.SIGKILL)


def worker_processes(shared):
    """The worker processes still alive whose task lives under `shared`."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if "joblib_htcondor.worker" in cmdline and str(shared) in cmdline:
            found.append(int(proc.name))
    return found


def assert_nothing_left(shared):
    assert worker_processes(shared) == []
    batches = shared / "batches"
    leftovers = list(batches.iterdir()) if batches.exists() else []
    assert leftovers == [], f"batch directories left behind: {leftovers}"


def test_results_are_in_order_and_equal_to_sequential(shared):
    with local_config(shared):
        results = Parallel()(delayed(square)(i) for i in range(20))
    assert results == [i * i for i in range(20)]
    assert_nothing_left(shared)


def test_task_exception_is_reraised_with_the_remote_traceback(shared):
    with local_config(shared), pytest.raises(KeyError, match="task 3 failed on purpose") as info:
        Parallel()(delayed(fail_on)(i, 3) for i in range(6))
    cause = info.value.__cause__
    assert isinstance(cause, RemoteTraceback)
    assert "fail_on" in cause.traceback_text and "raise KeyError" in cause.traceback_text
    assert_nothing_left(shared)


def test_numpy_arguments_and_results_round_trip(shared):
    data = np.arange(200_000, dtype=np.float64)
    with local_config(shared):
        sums = Parallel()(delayed(np.sum)(data[i::4]) for i in range(4))
    assert sums == [data[i::4].sum() for i in range(4)]


JOBLIB_VERSION = tuple(int(part) for part in joblib.__version__.split(".")[:2])


@pytest.mark.parametrize("return_as", [
    "generator",
    pytest.param("generator_unordered", marks=pytest.mark.skipif(
        JOBLIB_VERSION < (1, 4), reason="joblib added generator_unordered in 1.4")),
])
def test_generators_yield_every_result(shared, return_as):
    with local_config(shared):
        out = Parallel(return_as=return_as)(delayed(square)(i) for i in range(8))
        results = list(out)
    expected = [i * i for i in range(8)]
    assert (results if return_as == "generator" else sorted(results)) == expected


def test_timeout_cancels_the_job_in_the_scheduler(shared):
    started = time.monotonic()
    with local_config(shared), pytest.raises((TimeoutError, multiprocessing.TimeoutError)):
        Parallel(timeout=3)(delayed(time.sleep)(s) for s in (0.1, 600))
    assert time.monotonic() - started < 60
    assert_nothing_left(shared)


def test_killed_worker_fails_with_the_signal_after_retries(shared):
    with local_config(shared, max_retries=1), pytest.raises(JobFailedError) as info:
        Parallel()(delayed(kill_myself)(i) for i in range(1))
    assert "signal 9" in str(info.value)
    assert info.value.attempts == 2
    assert_nothing_left(shared)


def test_nested_calls_get_the_next_level_until_max_recursion_level(shared):
    def inner(_):
        return Parallel(n_jobs=2)(delayed(nested_backend_name)(i) for i in range(2))

    with local_config(shared, max_recursion_level=1):
        levels = Parallel()(delayed(inner)(i) for i in range(2))
    # level-1 tasks run on the htcondor backend at level 1; inside them, sequential.
    assert levels == [[("SequentialBackend", None)] * 2] * 2

    with local_config(shared, max_recursion_level=0):
        levels = Parallel()(delayed(nested_backend_name)(i) for i in range(2))
    assert levels == [("SequentialBackend", None)] * 2


def test_nested_parallel_runs_as_jobs_of_level_one(shared):
    def outer(i):
        from joblib.parallel import get_active_backend

        backend, _ = get_active_backend()
        inner = Parallel()(delayed(square)(j) for j in range(3))
        return type(backend).__name__, backend.level, inner

    with local_config(shared, max_recursion_level=1, throttle=[2, 2]):
        results = Parallel()(delayed(outer)(i) for i in range(2))
    assert results == [("HTCondorBackend", 1, [0, 1, 4])] * 2
    assert_nothing_left(shared)


def test_context_func_runs_before_each_task(shared):
    def set_marker():
        os.environ["JHTC_CONTEXT_MARK"] = "set"

    with local_config(shared, context_func=set_marker):
        marks = Parallel()(delayed(read_env)("JHTC_CONTEXT_MARK") for _ in range(3))
    assert marks == ["set"] * 3


def test_htcondor_without_a_pool_names_the_local_scheduler(shared, monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    from joblib_htcondor import SchedulerUnavailable

    with parallel_config(backend="htcondor", scheduler="htcondor", shared_data_dir=str(shared)):
        with pytest.raises(SchedulerUnavailable, match='scheduler="local"'):
            Parallel(n_jobs=2)(delayed(square)(i) for i in range(2))
    assert_nothing_left(shared)


def interrupt_and_count(x, counter):
    with open(counter, "a") as f:
        f.write(f"{x}\n")
    if x == 1:
        raise KeyboardInterrupt("raised by the task")
    return x


def test_keyboard_interrupt_raised_by_a_task_reaches_the_caller_and_is_not_retried(
    shared, tmp_path
):
    # loky re-raises a task's KeyboardInterrupt in the caller; a job stopped by a signal
    # is another matter (the engine's), so only the task's own raise is a result.
    counter = tmp_path / "runs"
    with local_config(shared, max_retries=3, batch_size=1):
        with pytest.raises(KeyboardInterrupt, match="raised by the task"):
            Parallel(n_jobs=2)(delayed(interrupt_and_count)(i, str(counter)) for i in range(2))
    runs = counter.read_text().split()
    assert runs.count("1") == 1, f"the interrupted task ran {runs.count('1')} times: retried"


def set_marker(value):
    os.environ["JHTC_TEST_INITIALIZED"] = value


@pytest.mark.skipif(tuple(int(p) for p in joblib.__version__.split(".")[:2]) < (1, 5),
                    reason="joblib < 1.5 has no initializer/initargs")
def test_initializer_is_refused_with_an_error_naming_context_func(shared):
    with local_config(shared):
        with pytest.raises(ValueError, match=r"initializer: .*context_func"):
            Parallel(n_jobs=2, initializer=set_marker, initargs=("yes",))(
                delayed(read_env)("JHTC_TEST_INITIALIZED") for _ in range(2))
    with pytest.raises(ValueError, match=r"initializer: .*context_func"):
        with parallel_config(backend="htcondor", scheduler="local", shared_data_dir=str(shared),
                             initializer=set_marker, initargs=("yes",)):
            pass


def test_context_func_as_the_initializer_runs_in_every_job_before_its_tasks(shared):
    # What the refusal above points to: the initializer's environment variable, set by
    # context_func, is what every task sees (no Manager: a variable cannot leak back).
    import functools

    with local_config(shared, batch_size=1, context_func=functools.partial(set_marker, "yes")):
        values = Parallel(n_jobs=2)(delayed(read_env)("JHTC_TEST_INITIALIZED") for _ in range(6))
    assert values == ["yes"] * 6
    assert os.environ.get("JHTC_TEST_INITIALIZED") is None
