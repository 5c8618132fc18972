"""A pytest plugin (``-p before_settings``, with bench/latency on PYTHONPATH) that runs
the backend with the latency settings before issue 18: a fixed 0.25 s gather window on
HTCondor, the event log polled every 0.25 s (no inotify), and a leaf throttle of twice
the pool's slots. For before/after timings of the pool tests with the same build."""

from joblib_htcondor import _defaults, _job_description

_job_description.GATHER_S["htcondor"] = {"quiet": 0.25, "most": 0.25}
_options = _job_description.JobDescription.driver_options


def _polling_options(jobs):
    options = _options(jobs)
    options.event_log_inotify = False
    return options


_job_description.JobDescription.driver_options = _polling_options


def _twice_the_slots(params, level):
    if level >= params.max_recursion_level:
        slots = _defaults.pool_slots(params, level)
        if slots is not None:
            return max(1, min(_defaults.DEFAULT_LEAF_THROTTLE, 2 * slots))
    return _leaf_throttle(params, level)


_leaf_throttle = _defaults.default_htcondor_throttle
_defaults.default_htcondor_throttle = _twice_the_slots
