"""Claims that cross machines, on the multi-node pool (``testbed/pool up --nodes N``).

The submit side runs the schedd and this test; every job runs on an execute node
``node1..nodeN`` with its own host name, PID namespace, /tmp and an sshfs mount of
the shared directory (docs/testbed.md). Level-1 batches are therefore submitted
from execute nodes to the central schedd, write their journals and blobs through
the network filesystem, and are judged alive or dead from another machine.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import register_htcondor
from joblib_htcondor._recovery import find_dead_batches
from joblib_htcondor._serialization import collect_garbage
from owner_records import read_record
from pool_helpers import condor, last_cluster, pool_address

register_htcondor()

NODES = int(os.environ.get("JHTC_TESTBED_NODES", "0"))

pytestmark = [
    pytest.mark.htcondor,
    pytest.mark.multinode,
    pytest.mark.timeout(600),
    pytest.mark.skipif(NODES < 2 or os.environ.get("JHTC_TESTBED_SHARED_ON_NODES") == "no",
                       reason="needs the multi-node pool with the shared directory on the "
                       "nodes: testbed/pool up --nodes 3, then testbed/pool run -- "
                       "pytest -m multinode"),
]

ARRAY_ITEMS = 2**16  # 512 KiB of float64: large enough to go to the content store


def node_facts(shared_mount):
    """Where a job runs: its host name, its PID namespace's view, its shared mount."""
    with open("/proc/mounts") as mounts:
        fs_type = next((line.split()[2] for line in mounts
                        if line.split()[1] == shared_mount), "none")
    return {"host": socket.gethostname(), "pid1": Path("/proc/1/comm").read_text().strip(),
            "shared_fs": fs_type}


def inner_sum(data, start):
    return float(data[start:].sum())


def outer_with_shared_data(i, pause):
    """A level-0 task on a node: builds the same array on every node and passes it to
    a level-1 batch (submitted from this node), whose jobs load it from the store."""
    data = np.arange(ARRAY_ITEMS, dtype=np.float64)
    time.sleep(pause)
    sums = Parallel()(delayed(inner_sum)(data, j) for j in range(3))
    return socket.gethostname(), sums


def expected_sums():
    data = np.arange(ARRAY_ITEMS, dtype=np.float64)
    return [float(data[j:].sum()) for j in range(3)]


def journal_files(shared: Path) -> dict:
    """Every journal file's events; each line must be whole JSON."""
    files = {}
    for path in sorted((shared / "journal").glob("*/*.jsonl")):
        events = files[path] = []
        for number, line in enumerate(path.read_text().splitlines(), 1):
            try:
                events.append(json.loads(line))
            except ValueError:
                pytest.fail(f"{path}:{number} is not a whole JSON line: {line!r}")
    return files


def journal_events(shared: Path) -> list:
    return [event for events in journal_files(shared).values() for event in events]


def machines_of_clusters(floor: int) -> dict:
    """ClusterId.ProcId -> the machine the job last ran on, for clusters above floor."""
    out = condor("condor_history", "-constraint", f"ClusterId > {floor}",
                 "-af", "ClusterId", "ProcId", "LastRemoteHost")
    return {f"{c}.{p}": host.split("@")[-1] for c, p, host in
            (line.split() for line in out.splitlines() if line.strip())}


def test_every_job_runs_on_an_execute_node_with_its_own_namespaces(testbed_shared_dir):
    with parallel_config(backend="htcondor", n_jobs=-1, shared_data_dir=str(testbed_shared_dir),
                         batch_size=1, request_mem="200MB", pool=pool_address()):
        facts = Parallel()(delayed(node_facts)(os.environ["JHTC_TESTBED_SHARED"])
                           for _ in range(2 * NODES))
    hosts = {f["host"] for f in facts}
    assert hosts <= {f"node{i}" for i in range(1, NODES + 1)}, facts
    assert socket.gethostname() not in hosts
    # PID 1 of a node's namespace is its condor_master, not the machine's init.
    assert {f["pid1"] for f in facts} == {"condor_master"}, facts
    assert {f["shared_fs"] for f in facts} == {"fuse.sshfs"}, facts


def test_level1_batches_submitted_from_nodes_share_one_blob_and_journal(testbed_shared_dir):
    floor = last_cluster()
    with parallel_config(backend="htcondor", n_jobs=-1, shared_data_dir=str(testbed_shared_dir),
                         batch_size=1, request_mem="300MB", max_recursion_level=1,
                         throttle=[NODES, 2 * NODES], export_metadata=True,
                         pool=pool_address()):
        results = Parallel()(delayed(outer_with_shared_data)(i, 0.0) for i in range(NODES))
    assert [sums for _, sums in results] == [expected_sums()] * NODES

    events = journal_events(testbed_shared_dir)
    started = [e["context"] for e in events if e["name"] == "batch_started"]
    level0 = [c for c in started if c["level"] == 0]
    level1 = [c for c in started if c["level"] == 1]
    assert [c["host"] for c in level0] == [socket.gethostname()]
    assert len(level1) == NODES
    # Every level-1 batch was submitted from an execute node, to the central schedd.
    assert {c["host"] for c in level1} == {host for host, _ in results}
    assert all(c["host"].startswith("node") for c in level1), level1
    finished = [e for e in events if e["name"] == "batch_finished"]
    assert len(finished) == 1 + NODES
    ran_on = machines_of_clusters(floor)
    assert len(ran_on) == NODES + 3 * NODES, ran_on
    assert all(host.startswith("node") for host in ran_on.values()), ran_on


def test_store_keeps_one_blob_written_from_several_nodes(testbed_shared_dir):
    """Every node makes the same array and stores it: the store holds it once, intact,
    while garbage collection runs on the submit side as the nodes read it."""
    stop = threading.Event()
    gc_runs, array_copies = [], []
    blobs = testbed_shared_dir / "store" / "sha256"

    def collect_while_running():
        while not stop.is_set():
            gc_runs.append(collect_garbage(testbed_shared_dir))
            sizes = [p.stat().st_size for p in blobs.glob("??/*")] if blobs.is_dir() else []
            array_copies.append(sizes.count(ARRAY_ITEMS * 8))
            time.sleep(0.5)

    collector = threading.Thread(target=collect_while_running)
    collector.start()
    try:
        with parallel_config(backend="htcondor", n_jobs=-1,
                             shared_data_dir=str(testbed_shared_dir), batch_size=1,
                             request_mem="300MB", max_recursion_level=1,
                             throttle=[NODES, 2 * NODES], pool=pool_address()):
            results = Parallel()(delayed(outer_with_shared_data)(i, 2.0)
                                 for i in range(NODES))
    finally:
        stop.set()
        collector.join()
    assert [sums for _, sums in results] == [expected_sums()] * NODES
    assert len(gc_runs) >= 2
    # NODES nodes stored the same array at once: the store held one copy.
    assert max(array_copies) == 1, array_copies
    assert all(run["batches_removed"] == 0 for run in gc_runs), gc_runs
    # Every run released its data: the blob written from NODES nodes is gone once,
    # and nothing half-written is left.
    leftovers = [p for p in (testbed_shared_dir / "store" / "sha256").rglob("*") if p.is_file()]
    assert leftovers == []


def slow_inner(j):
    time.sleep(6)
    return j


def outer_slow(i):
    return sum(Parallel()(delayed(slow_inner)(j) for j in range(2)))


def test_cleanup_on_the_submit_side_leaves_live_batches_on_nodes_alone(testbed_shared_dir):
    """While level-1 batches run on the nodes, the cleanup command on the submit side
    finds no dead batch and removes no job; the run finishes with every result."""
    results = {}

    def run():
        with parallel_config(backend="htcondor", n_jobs=-1,
                             shared_data_dir=str(testbed_shared_dir), batch_size=1,
                             request_mem="200MB", max_recursion_level=1,
                             throttle=[NODES, 2 * NODES], pool=pool_address()):
            results["sums"] = Parallel()(delayed(outer_slow)(i) for i in range(NODES))

    runner = threading.Thread(target=run)
    runner.start()
    batches = testbed_shared_dir / "batches"
    deadline = time.monotonic() + 240
    # Wait until level-1 batches exist (their owners run on the nodes).
    while time.monotonic() < deadline and runner.is_alive():
        records = [read_record(testbed_shared_dir, d.name) for d in batches.glob("*-L*")]
        if sum(r.owner.host.startswith("node") for r in records if r is not None) >= 1:
            break
        time.sleep(0.5)
    else:
        runner.join()
        pytest.fail("no level-1 batch started on a node")
    assert find_dead_batches(testbed_shared_dir) == []
    cleanup = subprocess.run(
        [sys.executable, "-m", "joblib_htcondor.cleanup", "--path", str(testbed_shared_dir)],
        capture_output=True, text=True, timeout=120)
    assert cleanup.returncode == 0, cleanup.stderr
    summary = json.loads(cleanup.stdout)
    runner.join(timeout=400)
    assert not runner.is_alive()
    assert results["sums"] == [1] * NODES, summary
    assert not summary.get("dead_batches"), summary


def test_max_shared_disk_holds_for_a_batch_submitted_from_a_node(testbed_shared_dir):
    """A level-1 batch with a budget, submitted from an execute node, writes its task
    files through the network filesystem and finishes every task within the budget."""
    with parallel_config(backend="htcondor", n_jobs=-1, shared_data_dir=str(testbed_shared_dir),
                         batch_size=1, request_mem="200MB", max_recursion_level=1,
                         throttle=[2, 4], max_shared_disk=["1GB", "1MB"],
                         export_metadata=True, pool=pool_address()):
        totals = Parallel()(delayed(budgeted_outer)(i) for i in range(2))
    assert totals == [6 * 300_000] * 2
    level1 = [events for events in journal_files(testbed_shared_dir).values()
              if events[0]["context"]["level"] == 1]
    assert len(level1) == 2
    for events in level1:
        assert events[0]["context"]["host"].startswith("node")
        held = [e["context"]["bytes"] for e in events if e["name"] == "bytes_held"]
        assert held and max(held) <= 1_000_000, held
        # Six 300 kB tasks cannot all be written at once under a 1 MB budget.
        assert max(held) >= 300_000, held


def budgeted_outer(_):
    payloads = [os.urandom(300_000) for _ in range(6)]
    return sum(Parallel()(delayed(len)(p) for p in payloads))
