"""What a task file holds, and how a worker runs it without importing joblib.

joblib hands a backend a ``BatchedCalls``: the calls, and the backend that nested
``Parallel`` calls inside them must use. Unpickling it imports ``joblib.parallel``,
and with it numpy: 0.3-0.4 CPU seconds per job, most of a trivial job's cost.
The submitting side therefore writes a ``TaskCalls`` instead: the same calls,
and the nested backend as a ``NestedBackend`` description, importable without
joblib. The worker applies it the moment joblib is imported (``JoblibScope``),
which for a task that uses joblib (scikit-learn, julearn, a nested ``Parallel``)
is while the task is unpickled, and for a task that never does is never.

This module must stay light: the worker imports it for every job.
"""

from __future__ import annotations

import importlib.util
import sys
import threading

#: What joblib calls the batch of calls it hands a backend.
_JOBLIB_BATCH = ("joblib.parallel", "BatchedCalls")


def result_path_for(task_path: str) -> str:
    """The worker writes its result beside the task file (the protocol's one rule)."""
    return task_path[: -len(".task")] + ".result"


class NestedBackend:
    """The joblib backend nested ``Parallel`` calls in a task use, described so that
    unpickling the description needs no joblib: ours by its settings, joblib's
    sequential one by its nesting level; any other backend object as itself."""

    __slots__ = ("kind", "nesting_level", "n_jobs", "state")

    def __init__(self, kind: str, nesting_level, n_jobs, state) -> None:
        self.kind = kind
        self.nesting_level = nesting_level
        self.n_jobs = n_jobs
        self.state = state

    def __reduce__(self):
        return NestedBackend, (self.kind, self.nesting_level, self.n_jobs, self.state)

    @classmethod
    def describe(cls, backend, n_jobs) -> NestedBackend | None:
        if backend is None:
            return None
        module, name = type(backend).__module__, type(backend).__qualname__
        if (module, name) == ("joblib_htcondor._backend", "HTCondorBackend"):
            return cls("htcondor", backend.nesting_level, n_jobs, backend.__getstate__())
        if (module, name) == ("joblib._parallel_backends", "SequentialBackend"):
            return cls("sequential", backend.nesting_level, n_jobs, None)
        return cls("object", backend.nesting_level, n_jobs, backend)

    def make(self):
        """The backend itself: imports joblib (the caller's task already did)."""
        if self.kind == "htcondor":
            from ._backend import HTCondorBackend

            backend = HTCondorBackend.__new__(HTCondorBackend)
            backend.__setstate__(self.state)
            return backend
        if self.kind == "sequential":
            from joblib._parallel_backends import SequentialBackend

            return SequentialBackend(nesting_level=self.nesting_level)
        return self.state


class TaskCalls:
    """joblib's calls of one task, ``(function, args, kwargs)`` each, and the
    backend nested ``Parallel`` calls use. Calling it runs the calls in order and
    returns their values, as ``BatchedCalls`` does; the worker applies ``nested``
    around it (``JoblibScope``)."""

    __slots__ = ("items", "nested")

    def __init__(self, items: list, nested: NestedBackend | None) -> None:
        self.items = items
        self.nested = nested

    def __reduce__(self):
        return TaskCalls, (self.items, self.nested)

    def __call__(self) -> list:
        return [func(*args, **kwargs) for func, args, kwargs in self.items]

    def __len__(self) -> int:
        return len(self.items)

    @classmethod
    def from_joblib(cls, func):
        """joblib's ``BatchedCalls`` as a ``TaskCalls``; anything else unchanged
        (it is pickled and called as it is)."""
        if (type(func).__module__, type(func).__qualname__) != _JOBLIB_BATCH:
            return func
        return cls(list(func.items), NestedBackend.describe(func._backend, func._n_jobs))


class _AfterImport:  # a sys.meta_path finder (importlib.abc costs 14 ms to import)
    """Calls ``callback(module)`` right after the top-level module ``name`` has been
    executed by its own loader. It only observes: the module is found and loaded
    by the finders after it on ``sys.meta_path``. It stays until the module is
    loaded, as a library may look the module up (``importlib.util.find_spec``)
    without importing it."""

    def __init__(self, name: str, callback) -> None:
        self.name = name
        self.callback = callback
        self._looking = threading.local()

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name or getattr(self._looking, "now", False):
            return None
        self._looking.now = True  # the lookup below must find the module's own spec
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            self._looking.now = False
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module

        def exec_module(module):
            del loader.exec_module  # the loader is as before from here on
            original(module)
            self.remove()
            self.callback(module)

        loader.exec_module = exec_module
        return spec


class JoblibScope:
    """For the duration of a task: once joblib is imported (now, or later by the
    task), registers the backend "htcondor" so that the task may name it, and
    enters ``parallel_config(backend=nested, n_jobs=...)`` as joblib's
    ``BatchedCalls`` does. The settings hold in the thread that imports joblib,
    the worker's main thread unless the task imports joblib first in another."""

    def __init__(self, nested: NestedBackend | None) -> None:
        self.nested = nested
        self._finder: _AfterImport | None = None
        self._config = None
        self._config_thread = None

    def __enter__(self) -> JoblibScope:
        if "joblib" in sys.modules:
            self._joblib_loaded(sys.modules["joblib"])
        else:
            self._finder = _AfterImport("joblib", self._joblib_loaded)
            sys.meta_path.insert(0, self._finder)
        return self

    def __exit__(self, *exc_info) -> None:
        if self._finder is not None:
            self._finder.remove()
        if self._config is not None and self._config_thread is threading.current_thread():
            self._config.__exit__(None, None, None)
        self._config = None

    def _joblib_loaded(self, joblib) -> None:
        from ._backend import HTCondorBackend

        joblib.register_parallel_backend("htcondor", HTCondorBackend)
        if self.nested is None:
            return
        config = joblib.parallel_config(backend=self.nested.make(), n_jobs=self.nested.n_jobs)
        config.__enter__()
        self._config, self._config_thread = config, threading.current_thread()
