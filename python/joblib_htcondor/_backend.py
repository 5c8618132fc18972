"""The joblib backend "htcondor".

joblib calls, per ``Parallel`` call: ``configure`` (we start a Batch and its C++
engine), ``submit`` for each batch of calls (pickled to the shared directory and
queued in the engine), ``retrieve_result_callback`` when a future completes,
``abort_everything`` on error, timeout or KeyboardInterrupt (jobs removed from
the scheduler), and ``terminate`` at the end (engine stopped, files removed).
Nested ``Parallel`` calls inside a task get a backend one level deeper until
``max_recursion_level``, then a sequential one.
"""

from __future__ import annotations

from joblib._parallel_backends import (
    AutoBatchingMixin,
    ParallelBackendBase,
    SequentialBackend,
)

from ._batch import Batch
from ._defaults import resolve_throttle
from ._params import BackendParams, parse_params


class HTCondorBackend(AutoBatchingMixin, ParallelBackendBase):
    """Runs each joblib task as a job of HTCondor or of the embedded local scheduler.

    Parameters are those of ``parallel_config(backend="htcondor", ...)``; see the
    README for the list. They are all checked here, when the backend is created.
    """

    supports_retrieve_callback = True
    supports_timeout = True
    supports_return_generator = True
    # Each job's OpenMP/BLAS thread pools are capped at inner_max_num_threads, or
    # by default at the job's request_cpus (see _batch.thread_cap).
    supports_inner_max_num_threads = True
    supports_sharedmem = False
    uses_threads = False
    default_n_jobs = -1

    # A job costs seconds of scheduling; grouping tiny tasks until one job runs
    # this long keeps the overhead a small fraction (joblib's default is 0.2 s).
    MIN_IDEAL_BATCH_DURATION = 2.0
    MAX_IDEAL_BATCH_DURATION = 30.0

    def __init__(self, nesting_level: int | None = None, inner_max_num_threads=None,
                 _level: int = 0, _parent_lineage: str = "", _params: BackendParams | None = None,
                 **params):
        super().__init__(nesting_level=nesting_level, inner_max_num_threads=inner_max_num_threads)
        _refuse_initializer(params)  # parallel_config(backend="htcondor", initializer=...)
        self.params = _params if _params is not None else parse_params(params)
        self.level = _level
        self.parent_lineage = _parent_lineage
        self._batch: Batch | None = None

    # joblib pickles the nested backend into every task: only the settings travel.
    def __getstate__(self):
        return {"nesting_level": self.nesting_level, "params": self.params,
                "level": self.level, "parent_lineage": self.parent_lineage}

    def __setstate__(self, state):
        self.__init__(nesting_level=state["nesting_level"], _level=state["level"],
                      _parent_lineage=state["parent_lineage"], _params=state["params"])

    def effective_n_jobs(self, n_jobs):
        if n_jobs == 0:
            raise ValueError("n_jobs == 0 in Parallel has no meaning")
        if n_jobs is None or n_jobs < 0:
            return resolve_throttle(self.params, self.level)
        return n_jobs

    def configure(self, n_jobs=1, parallel=None, prefer=None, require=None, **backend_kwargs):
        # backend_kwargs are Parallel's memmapping options (max_nbytes, mmap_mode,
        # temp_folder, ...): meaningless across machines, so unused. Our own
        # parameters were checked when parallel_config created this backend.
        _refuse_initializer(backend_kwargs)  # Parallel(initializer=..., initargs=...)
        self.parallel = parallel
        n_jobs = self.effective_n_jobs(n_jobs)
        if n_jobs == 1:
            # joblib then runs the calls itself and never calls terminate(): a batch
            # made here would leak its engine threads (the worker aborted at exit).
            return 1
        self._batch = Batch(self.params, self.level, self.parent_lineage, n_jobs,
                            inner_max_num_threads=self.inner_max_num_threads)
        return n_jobs

    def compute_batch_size(self):
        if self.params.batch_size != "auto":
            return self.params.batch_size
        return super().compute_batch_size()

    def batch_completed(self, batch_size, duration):
        # joblib times a batch from dispatch to result, which on a cluster is mostly
        # the job's queueing and start-up: batches would never grow. The worker's own
        # run time says whether the job ran long enough to be worth its overhead.
        run_time = getattr(self._batch.run_time, "seconds", None) if self._batch else None
        super().batch_completed(batch_size, duration if run_time is None else max(run_time, 1e-6))

    def submit(self, func, callback=None):
        return self._batch.submit(func, callback)

    apply_async = submit  # joblib < 1.5 calls apply_async

    def retrieve_result_callback(self, out):
        return out.get()

    def abort_everything(self, ensure_ready=True):
        if self._batch is not None:
            self._batch.cancel("joblib aborted the call")
            if not ensure_ready:
                self.terminate()

    def terminate(self):
        if self._batch is not None:
            batch, self._batch = self._batch, None
            batch.close("cancelled" if batch.cancelled else "done")
        self.reset_batch_stats()

    def get_nested_backend(self):
        nesting_level = (self.nesting_level or 0) + 1
        if self.level + 1 > self.params.max_recursion_level:
            return SequentialBackend(nesting_level=nesting_level), None
        lineage = self._batch.lineage if self._batch is not None else self.parent_lineage
        nested = HTCondorBackend(nesting_level=nesting_level, _level=self.level + 1,
                                 _parent_lineage=lineage, _params=self.params)
        return nested, None


def _refuse_initializer(kwargs: dict) -> None:
    """joblib 1.5+'s ``initializer``/``initargs`` set up loky's long-lived workers; our
    jobs are fresh processes on other machines. Refused with the way that does apply,
    rather than ignored: a task relying on its initializer would silently run without."""
    given = [name for name in ("initializer", "initargs") if kwargs.get(name) is not None]
    if given:
        raise ValueError(
            f"{given[0]}: joblib's initializer/initargs are not supported by the htcondor "
            "backend (every job is a fresh process, on another machine); use "
            'parallel_config(backend="htcondor", context_func=functools.partial(initializer, '
            "*initargs)), which runs in every job before its tasks")
