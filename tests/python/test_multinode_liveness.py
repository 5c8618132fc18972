"""Liveness of batches on other machines when host names do not tell machines apart.

On ``testbed/pool up --nodes 2 --same-host-name`` every execute node answers
``gethostname()`` with the submit side's name, while each has its own PID namespace,
as jobs in containers may. A batch that runs on a node is alive; the submit side must
never judge it dead, whatever its pid means here.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor
from joblib_htcondor._recovery import find_dead_batches
from owner_records import owner_path, read_record
from pool_helpers import pool_address

register_htcondor()

pytestmark = [
    pytest.mark.htcondor,
    pytest.mark.multinode,
    pytest.mark.timeout(400),
    pytest.mark.skipif(os.environ.get("JHTC_TESTBED_SAME_HOST_NAME") != "yes",
                       reason="needs nodes named like the submit side: "
                       "testbed/pool up --nodes 2 --same-host-name"),
]


def slow_inner(j):
    time.sleep(6)
    return j


def outer(i):
    return socket.gethostname(), sum(Parallel()(delayed(slow_inner)(j) for j in range(2)))


def test_a_live_batch_on_a_node_with_the_callers_host_name_is_never_judged_dead(
        testbed_shared_dir):
    results, dead_seen = {}, []

    def run():
        with parallel_config(backend="htcondor", n_jobs=-1,
                             shared_data_dir=str(testbed_shared_dir), batch_size=1,
                             request_mem="200MB", max_recursion_level=1, throttle=[2, 4],
                             pool=pool_address()):
            results["out"] = Parallel()(delayed(outer)(i) for i in range(2))

    runner = threading.Thread(target=run)
    runner.start()
    batches = testbed_shared_dir / "batches"
    try:
        while runner.is_alive():
            level1 = [d for d in batches.glob("*-L1-*") if owner_path(testbed_shared_dir,
                                                                       d.name).exists()]
            if level1:
                # Judged, not acted upon: no job is removed by this test.
                dead_seen = [d.name for d, _ in find_dead_batches(testbed_shared_dir)]
                break
            time.sleep(0.3)
    finally:
        runner.join(timeout=300)
    assert not runner.is_alive()
    hosts = {host for host, _ in results["out"]}
    assert hosts == {socket.gethostname()}  # the nodes do answer with our name
    owners = [read_record(testbed_shared_dir, d.name) for d in batches.glob("*-L1-*")]
    owners = [(r.owner, r.heartbeat_age_s) for r in owners if r is not None]
    assert level1, "no level-1 batch was seen running"
    assert dead_seen == [], (dead_seen, owners)
