"""Submission figures on the testbed pool (issue 4's closing note).

    testbed/pool run -- .venv/bin/python bench/submission/submission_bench.py [--tasks 1000] \
        [--submit-tasks 2000] [--skip batch1]

Measures, each in the submitting process:
- submit: wall time until N tasks handed to the backend are all accepted by the
  schedd (task files written, condor_submit done), then the jobs are removed;
- parallel-auto / parallel-batch1: makespan of N trivial tasks through
  joblib.Parallel (automatic batching; batch_size=1), with the CPU seconds
  (user+system, all threads) and the peak RSS of this process;
- raw: the same N jobs submitted as one cluster of `python -c pass`, makespan
  from condor_submit to the last termination event;
- raw-worker: one cluster of N jobs that each run our worker on a task file
  written beforehand (the same trivial call as through Parallel): what the pool
  gives our worker with no engine, no joblib and no throttle in front of it.
  ours/raw-worker is the cost of the engine; raw-worker/raw the cost of a Python
  worker that loads a task and writes a result.
Each case's makespan follows one rule (see measure); --case runs one case only, so
that bench/run_all can interleave the repetitions of every case.
For the pool cases it also prints where the time went, from the event logs
(bench/submission/event_gaps.py: slot occupancy, claims, queue wait, in-slot run
time, slot reuse gaps), and how many of the machine's cores were busy (/proc/stat).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib_htcondor
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor._batch import Batch
from joblib_htcondor._params import parse_params

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import event_gaps  # noqa: E402


def trivial(x: int) -> int:
    return x


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pool() -> str:
    return subprocess.run(["condor_config_val", "COLLECTOR_HOST"], capture_output=True,
                          text=True, check=True).stdout.strip()


def machine_jiffies() -> tuple:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    with open("/proc/stat") as stream:
        fields = [int(v) for v in stream.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def measure(label: str, run) -> dict:
    """Runs one case. wall_s is its makespan, by the one rule of bench/report.py: from
    the case's first action (its first task file or submission) until its last result
    is known to this process, which polls for it at 0.05 s at most. What comes after
    (reading the event logs for where the time went) is outside the timing."""
    load = os.getloadavg()
    cpu, wall, jiffies = cpu_seconds(), time.monotonic(), machine_jiffies()
    extra = run() or {}
    wall = time.monotonic() - wall
    cpu = cpu_seconds() - cpu
    busy, total = (b - a for a, b in zip(jiffies, machine_jiffies()))
    cores = round(busy / total * (os.cpu_count() or 1), 2) if total else None
    figures = {"case": label, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
               "peak_rss_mb": round(peak_rss_mb(), 1), "machine_busy_cores": cores,
               "load_average": [round(x, 2) for x in load]}
    logs = extra.pop("logs", None)
    figures.update(extra)
    if logs is not None:
        figures["events"] = events_of(logs())
    print(json.dumps(figures), flush=True)
    return figures


def submit_only(shared: Path, n: int) -> dict:
    """N tasks into one batch with throttle N; time until the schedd holds them all."""
    params = parse_params({"pool": pool(), "shared_data_dir": str(shared), "batch_size": 1})
    batch = Batch(params, 0, "", n)
    started = time.monotonic()
    for i in range(n):
        batch.submit(_Call(i), None)
    handed = time.monotonic() - started
    while True:
        stats = batch.engine.stats()
        if stats["queued"] == 0 and stats["submitted"] + stats["running"] + stats["done"] >= n:
            break
        time.sleep(0.05)
    accepted = time.monotonic() - started
    batch.cancel("benchmark: submission measured")
    batch.close("cancelled")
    return {"tasks": n, "handed_to_engine_s": round(handed, 2),
            "accepted_by_schedd_s": round(accepted, 2), "transactions": stats["transactions"]}


class _Call:
    """A picklable nullary call, as joblib hands BatchedCalls to the backend."""

    def __init__(self, x):
        self.x = x

    def __call__(self):
        return [self.x]

    def __len__(self):  # the number of calls, as BatchedCalls says it
        return 1


def events_of(logs) -> dict:
    try:
        return event_gaps.summarise(event_gaps.read_jobs([str(p) for p in logs]))
    except (OSError, ValueError) as error:
        return {"error": str(error)}


def through_parallel(shared: Path, n: int, batch_size, logs: Path) -> dict:
    # log_dir_prefix keeps the batch's event log (<prefix>/<batch>/condor.log) for event_gaps
    with parallel_config(backend="htcondor", n_jobs=-1, pool=pool(), shared_data_dir=str(shared),
                         batch_size=batch_size, log_dir_prefix=str(logs)):
        results = Parallel()(delayed(trivial)(i) for i in range(n))
    assert results == list(range(n))
    return {"tasks": n, "batch_size": batch_size, "logs": lambda: logs.glob("*/condor.log")}


def raw_cluster(directory: Path, n: int, keep_logs=None) -> dict:
    return _one_cluster(directory, "raw", n, "-c pass", "", keep_logs)


def raw_worker_cluster(directory: Path, n: int, keep_logs=None) -> dict:
    """N jobs of `python -m joblib_htcondor.worker <i>.task`, the task files written
    first as a batch of ours writes them (signed, holding TaskCalls([trivial(i)])) and
    the results read at the end: timed, as through Parallel (from_submit_s without)."""
    shared, batch = directory / "w", "raw-worker"
    codec, tasks = write_worker_tasks(shared, batch, n)
    environment = (f'environment = "JOBLIB_HTCONDOR_SHARED_DIR={shared} '
                   f'JOBLIB_HTCONDOR_BATCH={batch}"\n')
    figures = _one_cluster(directory, "raw-worker", n,
                           f"-m joblib_htcondor.worker {tasks}/$(Process).task", environment,
                           keep_logs)
    check_worker_results(codec, tasks, n)  # known to this process once read, as through Parallel
    return figures


def write_worker_tasks(shared: Path, batch: str, n: int):
    """N task files as a batch of ours writes them (signed, each holding
    TaskCalls([trivial(i)])) under shared/tasks; returns the codec and that directory."""
    from joblib_htcondor._serialization import TaskCodec
    from joblib_htcondor._task import TaskCalls

    codec = TaskCodec(shared, batch)
    tasks = shared / "tasks"
    tasks.mkdir(parents=True)
    for i in range(n):
        codec.dump({"func": TaskCalls([(trivial, (i,), {})], None), "context_func": None},
                   tasks / f"{i}.task")
    return codec, tasks


def check_worker_results(codec, tasks: Path, n: int) -> None:
    """Reads the N results as the batch's collector does; any other value fails the run."""
    from joblib_htcondor._task_result import read_task_result

    for i in range(n):
        result = read_task_result(codec, str(tasks / f"{i}.result"), attempt=0)
        if result.error is not None or result.value != [i]:
            raise AssertionError(f"task {i}: {result!r}")


def _one_cluster(directory: Path, name: str, n: int, arguments: str, extra: str,
                 keep_logs=None) -> dict:
    log = (keep_logs or directory) / f"{name}.log"
    sub = directory / f"{name}.sub"
    sub.write_text(f"executable = {sys.executable}\narguments = {arguments}\nlog = {log}\n"
                   f"transfer_executable = false\nshould_transfer_files = NO\n{extra}queue {n}\n")
    started = time.monotonic()
    subprocess.run(["condor_submit", "-terse", str(sub)], check=True, capture_output=True)
    terminated = 0
    log.touch()  # condor_submit creates it; the schedd may not have written to it yet
    with open(log, "rb") as stream:  # read only what was appended (5000 jobs: 3 MB of log)
        pending = b""
        while terminated < n:
            time.sleep(0.05)  # the poll of every case (measure's rule)
            lines = (pending + stream.read()).split(b"\n")
            pending = lines.pop()  # a line HTCondor is still writing
            terminated += sum(1 for line in lines if line.startswith(b"005 ("))
    return {"tasks": n, "from_submit_s": round(time.monotonic() - started, 2),
            "logs": lambda: [log]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--submit-tasks", type=int, default=2000)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["submit", "auto", "batch1", "raw", "raw-worker"])
    parser.add_argument("--keep-logs", type=Path, default=None,
                        help="keep the event logs (auto/, batch1/, raw.log, raw-worker.log) "
                        "here; default: a temporary directory, removed at the end")
    parser.add_argument("--case", choices=["submit", "auto", "batch1", "raw", "raw-worker"],
                        help="run this case only (default: every case not skipped)")
    args = parser.parse_args()
    if args.case:
        args.skip = [c for c in ("submit", "auto", "batch1", "raw", "raw-worker")
                     if c != args.case]
    joblib_htcondor.register_htcondor("WARNING")
    base = Path(os.environ.get("JHTC_TESTBED_SHARED", tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix="submission-bench-", dir=base) as tmp:
        shared = Path(tmp)
        keep = args.keep_logs or shared / "logs"
        keep.mkdir(parents=True, exist_ok=True)
        if "submit" not in args.skip:
            measure("submit", lambda: submit_only(shared / "s", args.submit_tasks))
        if "auto" not in args.skip:
            measure("parallel-auto", lambda: through_parallel(shared / "a", args.tasks, "auto",
                                                              keep / "auto"))
        if "batch1" not in args.skip:
            measure("parallel-batch1", lambda: through_parallel(shared / "b", args.tasks, 1,
                                                                keep / "batch1"))
        if "raw" not in args.skip:
            measure("raw-cluster", lambda: raw_cluster(shared, args.tasks, keep))
        if "raw-worker" not in args.skip:
            measure("raw-worker-cluster", lambda: raw_worker_cluster(shared, args.tasks, keep))


if __name__ == "__main__":
    main()
