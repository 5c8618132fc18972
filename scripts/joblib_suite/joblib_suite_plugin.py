"""pytest plugin: joblib's own test_parallel.py with "htcondor" among its process backends.

Loaded by scripts/test-joblib-suite (``-p joblib_suite_plugin``). test_parallel.py lists
its backends in module-level lists (PROCESS_BACKENDS, PARALLEL_BACKENDS, ...) that its
``@parametrize`` decorators hold by reference, and pytest expands them only when it
collects the module. So the plugin registers the backend (ALL_VALID_BACKENDS and
RETURN_GENERATOR_BACKENDS are built from joblib's BACKENDS at import), imports the module
first and appends "htcondor" to the lists it does not build from BACKENDS. Only the cases
parametrized with our backend are kept; the rest test joblib itself. The cases in
EXCLUDED cannot apply to a backend whose workers are separate jobs; they are reported as
skipped with their reason, never as passed.
"""

from __future__ import annotations

import os

import pytest

BACKEND = "htcondor"

# Test name, or test name with its parameters, -> why it cannot apply to "htcondor".
_FOREIGN_WORKER = ("the inner backend is named inside a loky/multiprocessing-spawned worker "
                   "that never imported joblib_htcondor, so the name is unknown there")
_MANAGER = "multiprocessing Manager proxies, which cannot cross machines"
EXCLUDED = {
    "test_nested_loop[loky-htcondor]": _FOREIGN_WORKER,
    "test_nested_loop[back_compat_backend-htcondor]": _FOREIGN_WORKER,
    "test_backend_nesting_level[parallel_config-htcondor-loky]": _FOREIGN_WORKER,
    "test_backend_nesting_level[parallel_backend-htcondor-loky]": _FOREIGN_WORKER,
    "test_parallel_with_interactively_defined_functions":
        "runs a fresh python subprocess that never imported joblib_htcondor",
    "test_dispatch_multiprocessing": _MANAGER,
    "test_initializer_context": _MANAGER + "; and initializer/initargs are refused, pointing "
        "to context_func (tests/python/test_backend_local.py proves both)",
    "test_initializer_parallel": _MANAGER + "; and initializer/initargs are refused, pointing "
        "to context_func (tests/python/test_backend_local.py proves both)",
    "test_error_capture": "asserts a worker pool object (_pool/_workers) restarted after an "
        "error; jobs have none (a task's KeyboardInterrupt: test_backend_local.py)",
    "test_auto_memmap_on_arrays_from_generator": "asserts np.memmap arguments; ours arrive as "
        "read-only mapped ndarrays (docs/data-transfer.md)",
    "test_memmapping_leaks": "checks joblib's own memmapping temp folder (max_nbytes), which "
        "the backend does not use: arrays are mapped from the shared store",
}


def _is_ours(value) -> bool:
    return value == BACKEND or type(value).__name__ == "HTCondorBackend"


def pytest_configure(config):
    # Every Parallel call runs on the embedded local scheduler, in a scratch directory.
    os.environ.setdefault("JOBLIB_HTCONDOR_SCHEDULER", "local")
    from joblib_htcondor import register_htcondor

    register_htcondor()
    import joblib.test.test_parallel as suite

    lists = ["PROCESS_BACKENDS", "PARALLEL_BACKENDS", "all_backends_for_context_manager"]
    for name in lists:
        backends = getattr(suite, name, None)
        if backends is None:
            raise pytest.UsageError(f"joblib's test_parallel.py has no {name} any more")
        if BACKEND not in backends:
            backends.append(BACKEND)


def pytest_collection_modifyitems(config, items):
    ours, others = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        (ours if any(_is_ours(v) for v in params.values()) else others).append(item)
    if not ours:
        raise pytest.UsageError(f"no test of test_parallel.py is parametrized with {BACKEND!r}")
    config.hook.pytest_deselected(items=others)
    items[:] = ours
    for item in ours:
        reason = EXCLUDED.get(item.name) or EXCLUDED.get(item.originalname)
        if reason:
            item.add_marker(pytest.mark.skip(reason=f"cannot apply to {BACKEND}: {reason}"))
