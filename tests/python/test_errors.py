"""Every exception the package defines derives from JoblibHTCondorError, and still from
the built-in base it had, so that code catching RuntimeError or ValueError keeps working."""

from __future__ import annotations

import os
import pickle

import joblib_htcondor
import pytest
from joblib_htcondor import JoblibHTCondorError, _core, _errors
from joblib_htcondor._report import ReportDependencyError

OLD_BASES = {
    "SchedulerError": RuntimeError,
    "SchedulerUnavailable": RuntimeError,
    "IntegrityError": RuntimeError,
    "UnsafePathError": RuntimeError,
    "JobFailedError": RuntimeError,
    "SharedDiskBudgetError": ValueError,
    "TaskCancelledError": RuntimeError,
    "RemoteTraceback": Exception,
    "IncompatibleResultError": TypeError,
}


def exception_classes(module) -> set:
    return {name for name, value in vars(module).items()
            if isinstance(value, type) and issubclass(value, BaseException)}


def test_every_exception_class_of_the_package_is_listed_here():
    assert exception_classes(_errors) == set(OLD_BASES) | {"JoblibHTCondorError"}
    exported = {name for name in joblib_htcondor.__all__ if name in exception_classes(_errors)}
    # every one is public: the README tells users to catch UnsafePathError by name
    assert exported == set(OLD_BASES) | {"JoblibHTCondorError"}
    for name in exported:
        assert getattr(joblib_htcondor, name) is getattr(_errors, name)


@pytest.mark.parametrize("name", sorted(OLD_BASES))
def test_each_exception_derives_from_the_common_base_and_its_old_one(name):
    cls = getattr(_errors, name)
    assert issubclass(cls, JoblibHTCondorError)
    assert issubclass(cls, OLD_BASES[name])


def test_the_report_dependency_error_is_still_an_import_error():
    assert issubclass(ReportDependencyError, JoblibHTCondorError)
    assert issubclass(ReportDependencyError, ImportError)


def test_an_error_raised_in_cpp_is_caught_as_the_common_base_and_as_its_old_one(
        tmp_path, monkeypatch):
    tool = tmp_path / "condor_status"
    tool.write_text("#!/bin/sh\necho 'ERROR: Permission denied' >&2\nexit 1\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(JoblibHTCondorError, match="condor_status exited with 1"):
        _core.pool_capacity("htcondor")
    with pytest.raises(RuntimeError, match="Permission denied"):
        _core.pool_capacity("htcondor")


def test_job_failed_error_still_pickles_with_its_fields():
    error = pickle.loads(pickle.dumps(joblib_htcondor.JobFailedError("held", "12.0", 3, "tail")))
    assert isinstance(error, JoblibHTCondorError)
    assert (error.reason, error.job_id, error.attempts) == ("held", "12.0", 3)
