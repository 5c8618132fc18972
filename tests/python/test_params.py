"""Every parameter is checked when the backend is created; errors name it."""

import logging

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor
from joblib_htcondor._params import VALID_NAMES, parse_params, parse_size_mb

register_htcondor()


@pytest.mark.parametrize(
    ("text", "megabytes"),
    [("4Gb", 4096), ("4GB", 4096), ("4096MB", 4096), ("4 GiB", 4096), (2048, 2048),
     ("512m", 512), ("1.5GB", 1536), ("1TB", 1048576)],
)
def test_memory_sizes_in_every_documented_form(text, megabytes):
    assert parse_size_mb(text, "request_mem") == megabytes


@pytest.mark.parametrize("bad", ["lots", "", "4 parsecs", -1, 0, True, "GB", None])
def test_bad_memory_names_the_parameter_and_the_accepted_forms(bad):
    with pytest.raises(ValueError, match=r"request_mem must be .*4Gb.*4096MB"):
        parse_params({"request_mem": bad})


def test_request_memory_is_an_alias_of_request_mem():
    assert parse_params({"request_memory": "2GB"}).request_memory == (2048,)
    with pytest.raises(TypeError, match="not both"):
        parse_params({"request_mem": "1GB", "request_memory": "2GB"})


@pytest.mark.parametrize(
    ("bad", "message"),
    [([], r"throttle must be a value or a non-empty list"), (0, r"throttle must be a positive int"),
     (-5, r"throttle must be a positive int"), ([25, -1], r"throttle\[1\] must be a positive int"),
     ("many", r"throttle must be a positive int")],
)
def test_bad_throttle_is_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        parse_params({"throttle": bad})


def test_throttle_list_gives_one_value_per_level_and_the_last_repeats():
    params = parse_params({"throttle": [25, 50]})
    assert [params.value_for_level("throttle", level) for level in range(4)] == [25, 50, 50, 50]


def test_unknown_parameter_lists_the_valid_ones():
    with pytest.raises(TypeError, match="unknown parameter.*'reqest_cpus'") as info:
        parse_params({"reqest_cpus": 1})
    for name in ("request_cpus", "throttle", "shared_data_dir", "max_recursion_level"):
        assert name in str(info.value)
    assert set(VALID_NAMES) >= {
        "request_cpus", "request_mem", "request_memory", "request_disk", "pool", "schedd",
        "universe", "python_path", "initial_dir", "log_dir_prefix", "poll_interval",
        "shared_data_dir", "delete_task_file_on_load", "extra_directives", "worker_log_level",
        "throttle", "batch_size", "max_recursion_level", "export_metadata", "context_func",
        "scheduler"}


def test_parallel_config_refuses_bad_values_on_entry():
    with pytest.raises(ValueError, match="throttle"):
        with parallel_config(backend="htcondor", throttle=0):
            pass


@pytest.mark.parametrize(
    ("name", "bad", "message"),
    [("scheduler", "slurm", r"scheduler must be one of \('htcondor', 'local'\)"),
     ("max_recursion_level", -1, "max_recursion_level must be an int >= 0"),
     ("request_cpus", 0, "request_cpus must be a positive number"),
     ("batch_size", 0, r"batch_size \(or \"auto\"\) must be a positive int"),
     ("export_metadata", "yes", "export_metadata must be True or False"),
     ("fork_server", "0", "fork_server must be True or False"),
     ("context_func", 3, "context_func must be a callable"),
     ("worker_log_level", "LOUD", "worker_log_level must be a logging level"),
     ("extra_directives", {"requirements": "x\nqueue 1000"}, "must be one line"),
     ("extra_directives", {"bad key": "1"}, "not a submit command name"),
     ("poll_interval", 0, "poll_interval must be a positive number")],
)
def test_each_parameter_names_itself_when_bad(name, bad, message):
    with pytest.raises(ValueError, match=message):
        parse_params({name: bad})


def test_log_levels_accept_names_and_numbers():
    assert parse_params({"worker_log_level": "debug"}).worker_log_level == logging.DEBUG
    assert parse_params({"worker_log_level": 15}).worker_log_level == 15


def test_environment_chooses_the_scheduler_unless_given(monkeypatch):
    monkeypatch.setenv("JOBLIB_HTCONDOR_SCHEDULER", "local")
    assert parse_params({}).scheduler == "local"
    assert parse_params({"scheduler": "htcondor"}).scheduler == "htcondor"
    monkeypatch.setenv("JOBLIB_HTCONDOR_SCHEDULER", "pbs")
    with pytest.raises(ValueError, match="JOBLIB_HTCONDOR_SCHEDULER must be one of"):
        parse_params({})


def test_uncreatable_shared_data_dir_names_the_path_and_the_reason(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    target = blocker / "shared"
    with pytest.raises(ValueError,
                       match=rf"shared_data_dir: cannot create '{target}': Not a directory"):
        with parallel_config(backend="htcondor", scheduler="local", shared_data_dir=str(target)):
            Parallel(n_jobs=2)(delayed(abs)(i) for i in range(2))


def test_max_shared_disk_takes_sizes_per_level():
    params = parse_params({"max_shared_disk": ["600GB", "10GB"]})
    assert [params.value_for_level("max_shared_disk", level) for level in range(3)] == [
        600 * 1024, 10 * 1024, 10 * 1024]
    assert parse_params({"max_shared_disk": None}).value_for_level("max_shared_disk", 0) is None


@pytest.mark.parametrize("bad", ["lots", 0, -1, True, "5 parsecs"])
def test_bad_max_shared_disk_is_refused(bad):
    with pytest.raises(ValueError, match=r"max_shared_disk must be"):
        parse_params({"max_shared_disk": bad})


def test_job_failed_error_survives_pickling_as_a_nested_failure_must():
    import pickle

    from joblib_htcondor._errors import JobFailedError

    error = JobFailedError("held: out of memory (code 34)", "12.3", 2, "Killed")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is JobFailedError
    assert (copy.reason, copy.job_id, copy.attempts, copy.stderr_tail) == (
        "held: out of memory (code 34)", "12.3", 2, "Killed")
    assert str(copy) == str(error)


def test_memory_retry_parameters_have_safe_defaults_per_level():
    params = parse_params({})
    assert params.value_for_level("memory_retry_factor", 0) == 2.0
    assert params.value_for_level("max_request_memory", 3) == 64 * 1024
    assert params.value_for_level("request_gpus", 1) == 0
    params = parse_params({"request_mem": ["1GB", "2GB"], "memory_retry_factor": [1.5, 3],
                           "max_request_mem": ["8GB", "32GB"], "request_gpus": [0, 1]})
    assert [params.value_for_level("memory_retry_factor", lv) for lv in range(3)] == [1.5, 3, 3]
    assert [params.value_for_level("max_request_memory", lv) for lv in range(2)] == [8192, 32768]
    assert [params.value_for_level("request_gpus", lv) for lv in range(3)] == [0, 1, 1]
    assert parse_params({"max_request_memory": "4GB"}).max_request_memory == (4096,)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [({"memory_retry_factor": 1}, ValueError, r"memory_retry_factor must be a number > 1"),
     ({"memory_retry_factor": "2"}, ValueError, r"memory_retry_factor must be a number > 1"),
     ({"memory_retry_factor": [2, 0.5]}, ValueError, r"memory_retry_factor\[1\] must be"),
     ({"memory_retry_factor": float("inf")}, ValueError, r"memory_retry_factor must be"),
     ({"max_request_mem": "lots"}, ValueError, r"max_request_mem must be .*4Gb"),
     ({"max_request_mem": "1GB", "max_request_memory": "2GB"}, TypeError, "not both"),
     ({"request_mem": "8GB", "max_request_mem": "4GB"}, ValueError,
      r"max_request_mem \(4096 MB at level 0\) must be at least request_mem \(8192 MB"),
     ({"request_mem": ["1GB", "8GB"], "max_request_mem": "4GB"}, ValueError, r"at level 1"),
     ({"request_gpus": -1}, ValueError, r"request_gpus must be an int >= 0"),
     ({"request_gpus": 1.5}, ValueError, r"request_gpus must be an int >= 0"),
     ({"request_gpus": [0, True]}, ValueError, r"request_gpus\[1\] must be an int >= 0")],
)
def test_bad_memory_retry_and_gpu_values_name_the_parameter(kwargs, error, message):
    with pytest.raises(error, match=message):
        parse_params(kwargs)


def test_max_idle_unmatched_takes_seconds_or_none():
    assert parse_params({}).max_idle_unmatched == 600
    assert parse_params({"max_idle_unmatched": None}).max_idle_unmatched == float("inf")
    for bad in (0, -5, "10", True):
        with pytest.raises(ValueError, match="max_idle_unmatched must be a number of seconds"):
            parse_params({"max_idle_unmatched": bad})
