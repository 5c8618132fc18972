"""The throttle of a batch, resolved here and nowhere else (resolve_throttle), and
its defaults.

On the local scheduler the default keeps every worker slot of this machine fed,
with one task in reserve each: twice the slots. On HTCondor it is chosen so that
parents never hold every slot:

A job of level L < max_recursion_level waits for its children while it holds a
slot. If such parents filled the pool, their children would never start: the run
would hang (docs/recursion.md). So when no throttle is given, the levels that have
children together take at most half of the slots the pool can give this request,
and the leaf level, whose jobs never wait, gets the pool's slots (every slot fed), at
most DEFAULT_LEAF_THROTTLE. joblib takes the throttle as n_jobs, pre-dispatches
2 x n_jobs tasks one per job and spreads the last tasks over 10 x n_jobs batches: a
throttle above the pool's size makes more, smaller jobs, which queue for the same
slots. Measured on the testbed pool (docs/benchmarks.md, "Latency defaults"): the
pool's slots finish 100 and 1000 trivial tasks sooner than twice the slots.
"""

from __future__ import annotations

import functools
import logging

from . import _core
from ._params import BackendParams

logger = logging.getLogger("joblib_htcondor")

#: Jobs of a leaf level (one without children) in the scheduler at once, per batch.
DEFAULT_LEAF_THROTTLE = 100
#: Parents at once when the pool's size cannot be asked.
FALLBACK_PARENT_THROTTLE = 2


@functools.lru_cache(maxsize=16)
def _machines(pool: str | None) -> tuple:
    """(TotalCpus, TotalMemory MB) of every machine of the pool, each once (asked once)."""
    return tuple((m.cpus, m.memory_mb) for m in _core.pool_capacity("htcondor", pool))


def pool_slots(params: BackendParams, level: int) -> int | None:
    """How many jobs of this level's request the pool runs at once; None if unknown."""
    cpus = float(params.value_for_level("request_cpus", level) or 1)
    memory = params.value_for_level("request_memory", level)
    try:
        machines = _machines(params.pool)
    except (_core.SchedulerError, ValueError) as error:
        logger.warning("could not ask the pool's size (condor_status): %s", error)
        return None
    if not machines:
        return None
    return int(sum(min(total_cpus // max(cpus, 1),
                       total_memory // memory if memory else float("inf"))
                   for total_cpus, total_memory in machines))


def default_htcondor_throttle(params: BackendParams, level: int) -> int:
    """The throttle of ``level`` when none is given (see the module's docstring)."""
    if level >= params.max_recursion_level:
        slots = pool_slots(params, level)
        if slots is None:
            return DEFAULT_LEAF_THROTTLE
        return max(1, min(DEFAULT_LEAF_THROTTLE, slots))
    if level > 0:  # an intermediate parent: one at a time per grand-parent
        return 1
    slots = pool_slots(params, level)
    if slots is None:
        return FALLBACK_PARENT_THROTTLE
    # levels 0 .. max-1 hold at most t0 * max_recursion_level slots: half the pool
    throttle = max(1, slots // (2 * params.max_recursion_level))
    if slots < 2:
        logger.warning("the pool runs only %d job(s) of this request at once: parents waiting "
                       "for their children can hold every slot (see docs/recursion.md)", slots)
    return throttle


def default_throttle(params: BackendParams, level: int) -> int:
    """The throttle of ``level`` when neither ``throttle`` nor a positive n_jobs is given."""
    if params.scheduler == "local":  # keep every worker slot fed, one task in reserve
        cpus = params.value_for_level("request_cpus", level)
        cores = _core.pool_capacity("local")[0].cpus
        return 2 * max(1, int(cores // cpus))
    return default_htcondor_throttle(params, level)


def resolve_throttle(params: BackendParams, level: int, n_jobs: int | None = None) -> int:
    """Most tasks of one batch of ``level`` in the scheduler (queued or running) at once.

    Parameters
    ----------
    params : BackendParams
        The backend's parameters: ``throttle`` (per level), ``scheduler``, the request.
    level : int
        The batch's recursion level (0: the user's own call).
    n_jobs : int, optional
        joblib's ``n_jobs`` as the backend resolved it; ignored unless positive.

    Returns
    -------
    int
        In order: the ``throttle`` given for ``level``; else ``n_jobs`` when positive
        (logged, as the user may not know it caps the batch); else default_throttle().
    """
    throttle = params.value_for_level("throttle", level)
    if throttle is not None:
        return throttle
    if n_jobs is not None and n_jobs > 0:
        logger.info("no throttle given: at most %d tasks of this batch in the scheduler "
                    "at once (set throttle=... to change it)", n_jobs)
        return n_jobs
    return default_throttle(params, level)
