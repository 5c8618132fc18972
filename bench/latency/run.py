"""Latency of small runs on the testbed pool: which gather, event-log following,
throttle and pre-dispatch make N trivial tasks finish soonest (issue 18, point 1).

    testbed/pool run -- .venv/bin/python bench/latency/run.py [--tasks 100] [--repeats 3] \
        [--markdown bench/results/latency.md] [--json build/bench/latency.json]

Every case runs --repeats times, the cases interleaved (case 1, 2, ..., then again), so
that the machine's load falls on all of them alike; the median makespan is reported
and its ratio to the raw cluster of the same run. Makespan: wall time from the first
submission to the last result (ours: Parallel returns; raw: this process has read the
last termination event, reading the log every 20 ms).

Cases:
- raw: one cluster of N jobs of `python -c pass`;
- before: the settings before issue 18: a fixed 0.25 s gather window per burst
  (quiet = longest = 0.25 s), the event log polled every 0.25 s, and a throttle of
  twice the pool's slots (the default then);
- after, for each throttle in --throttles and pre-dispatch in --pre-dispatch: the
  adaptive gather (quiet and longest gather of _job_description.GATHER_S) and the event log
  followed with inotify.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib_htcondor
from joblib import Parallel, delayed, parallel_config
from joblib_htcondor import _defaults, _job_description
from joblib_htcondor._params import parse_params


def trivial(x: int) -> int:
    return x


def pool() -> str:
    return subprocess.run(["condor_config_val", "COLLECTOR_HOST"], capture_output=True,
                          text=True, check=True).stdout.strip()


def load_average() -> float:
    return os.getloadavg()[0]


def raw_cluster(directory: Path, n: int) -> float:
    log = directory / "raw.log"
    sub = directory / "raw.sub"
    sub.write_text(f"executable = {sys.executable}\narguments = -c pass\nlog = {log}\n"
                   f"transfer_executable = false\nshould_transfer_files = NO\nqueue {n}\n")
    started = time.monotonic()
    subprocess.run(["condor_submit", "-terse", str(sub)], check=True, capture_output=True)
    terminated = 0
    while not log.exists():
        time.sleep(0.02)
    with open(log, "rb") as stream:
        pending = b""
        while terminated < n:
            time.sleep(0.02)
            lines = (pending + stream.read()).split(b"\n")
            pending = lines.pop()
            terminated += sum(1 for line in lines if line.startswith(b"005 ("))
    return time.monotonic() - started


class Settings:
    """Gather timing and event-log following for the batches made inside ``with``."""

    def __init__(self, gather: dict | None, inotify: bool):
        self.gather, self.inotify = gather, inotify

    def __enter__(self):
        self.saved_gather = dict(_job_description.GATHER_S["htcondor"])
        self.saved_options = _job_description.JobDescription.driver_options
        if self.gather is not None:
            _job_description.GATHER_S["htcondor"] = self.gather
        if not self.inotify:
            saved = self.saved_options

            def polling_options(jobs):
                options = saved(jobs)
                options.event_log_inotify = False
                return options
            _job_description.JobDescription.driver_options = polling_options

    def __exit__(self, *exc):
        _job_description.GATHER_S["htcondor"] = self.saved_gather
        _job_description.JobDescription.driver_options = self.saved_options


def ours(directory: Path, n: int, throttle, pre_dispatch: str, settings: Settings) -> float:
    config = {"backend": "htcondor", "n_jobs": -1, "pool": pool(),
              "shared_data_dir": str(directory)}
    if throttle is not None:
        config["throttle"] = throttle
    with settings, parallel_config(**config):
        started = time.monotonic()
        results = Parallel(pre_dispatch=pre_dispatch)(delayed(trivial)(i) for i in range(n))
        wall = time.monotonic() - started
    assert results == list(range(n))
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--throttles", nargs="*", default=["4", "8", "16"],
                        help="throttles of the 'after' cases ('default': the backend's)")
    parser.add_argument("--pre-dispatch", nargs="*", default=["2*n_jobs", "all"])
    parser.add_argument("--no-raw", action="store_true",
                        help="leave the raw cluster out; ratios are then to the 'before' case")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--render", type=Path, default=None,
                        help="only write --markdown from this JSON of an earlier run")
    args = parser.parse_args()
    if args.render:
        args.markdown.write_text(markdown(json.loads(args.render.read_text())))
        return
    joblib_htcondor.register_htcondor("WARNING")
    before = Settings({"quiet": 0.25, "most": 0.25}, inotify=False)
    slots = _defaults.pool_slots(parse_params({"pool": pool()}), 0)
    after = Settings(None, inotify=True)
    cases = {"raw cluster of `python -c pass`": lambda d: raw_cluster(d, args.tasks),
             "before: fixed 0.25 s gather, log polled every 0.25 s, throttle 2 x slots":
                 lambda d: ours(d, args.tasks, 2 * slots, "2*n_jobs", before)}
    for throttle in args.throttles:
        value = None if throttle == "default" else int(throttle)
        for pre in args.pre_dispatch:
            cases[f"after: adaptive gather, inotify, throttle {throttle}, pre_dispatch {pre}"] = \
                (lambda d, v=value, p=pre: ours(d, args.tasks, v, p, after))
    if args.no_raw:
        del cases["raw cluster of `python -c pass`"]
    walls: dict = {name: [] for name in cases}
    loads = []
    base = Path(os.environ.get("JHTC_TESTBED_SHARED", tempfile.gettempdir()))
    for repeat in range(args.repeats):
        for name, run in cases.items():
            with tempfile.TemporaryDirectory(prefix="latency-bench-", dir=base) as tmp:
                loads.append(load_average())
                walls[name].append(run(Path(tmp)))
                print(f"repeat {repeat + 1} {name}: {walls[name][-1]:.2f} s", flush=True)
    reference = statistics.median(next(iter(walls.values())))  # raw, or else 'before'
    rows = [{"case": name, "median_s": round(statistics.median(w), 2),
             "runs_s": [round(x, 2) for x in w],
             "over_first": round(statistics.median(w) / reference, 2)}
            for name, w in walls.items()]
    summary = {"tasks": args.tasks, "repeats": args.repeats,
               "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "gather_after": _job_description.GATHER_S["htcondor"],
               "load_average": [round(min(loads), 1), round(max(loads), 1)], "rows": rows}
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=1) + "\n")
    if args.markdown:
        args.markdown.parent.mkdir(parents=True, exist_ok=True)
        args.markdown.write_text(markdown(summary))


def markdown(s: dict) -> str:
    lines = ["<!-- generated by bench/latency/run.py; do not edit -->",
             f"{s['tasks']} trivial tasks on the testbed pool, {s['date']}, medians of "
             f"{s['repeats']} interleaved runs, load average {s['load_average'][0]}-"
             f"{s['load_average'][1]}; adaptive gather: quiet {s['gather_after']['quiet']} s, "
             f"at most {s['gather_after']['most']} s.", "",
             f"| case | makespan (s) | / {s['rows'][0]['case'].split(':')[0]} | runs (s) |",
             "|---|---:|---:|---|"]
    for row in s["rows"]:
        runs = ", ".join(f"{x:.2f}" for x in row["runs_s"])
        ratio = row.get("over_first", row.get("over_raw"))  # the key of earlier runs
        lines.append(f"| {row['case']} | {row['median_s']:.2f} | {ratio:.2f} | "
                     f"{runs} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
