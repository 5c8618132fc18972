"""A pytest plugin (``-p before_settings``, with bench/latency on PYTHONPATH) that runs
the backend with the latency settings before issue 18: a fixed 0.25 s gather window on
HTCondor and the event log polled every 0.25 s (no inotify). For before/after timings
of the pool tests in one session of the same build."""

from joblib_htcondor import _batch

_batch.GATHER_S["htcondor"] = {"quiet": 0.25, "most": 0.25}
_template = _batch.Batch._job_template


def _polling_template(batch, shared):
    template = _template(batch, shared)
    options = dict(template.options)
    options["event_log_inotify"] = "0"
    template.options = options
    return template


_batch.Batch._job_template = _polling_template
