"""Where the time of a pool run goes, from its HTCondor event log(s).

    python bench/submission/event_gaps.py LOG [LOG...] [--json]

Per job: submitted (000), executing (001, with its SlotName), terminated (005).
Prints the makespan (first submit to last termination), the mean number of
running jobs over it (slot occupancy), the number of dynamic slots (each one a
claim the negotiator had to make), and medians of: queue wait (000 -> 001), run
time in the slot (001 -> 005), the gap a slot stays empty between a termination
and the next execution on the same dynamic slot (claim reused), and the number of
jobs idle in the schedd at each termination (none idle: the claim is released).
Reads the default and the ISO sub-second time formats.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from datetime import datetime

EVENT = re.compile(r"^(\d{3}) \((\d+)\.(\d+)\.\d+\) (\S+) (\S+)")
SLOT = re.compile(r"^\s+SlotName: (\S+)")


def parse_time(date: str, clock: str) -> float:
    text = f"{date} {clock}".rstrip("Z")
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%m/%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).timestamp()
        except ValueError:
            continue
    raise ValueError(f"unknown event time {text!r}")


def read_jobs(paths) -> dict:
    jobs: dict = {}
    for path in paths:
        last = None
        with open(path, errors="replace") as stream:
            for line in stream:
                match = EVENT.match(line)
                if match:
                    code, cluster, proc, date, clock = match.groups()
                    job = jobs.setdefault((path, int(cluster), int(proc)), {})
                    stamp = parse_time(date, clock)
                    if code == "000":
                        job["submit"] = stamp
                    elif code == "001":
                        job["execute"] = stamp
                    elif code == "005":
                        job["terminate"] = stamp
                    last = job if code == "001" else None
                    continue
                slot = SLOT.match(line)
                if slot and last is not None:
                    last["slot"] = slot.group(1)
    complete = {"submit", "execute", "terminate"}
    return {key: job for key, job in jobs.items() if complete <= job.keys()}


def median(values) -> float:
    return round(statistics.median(values), 3) if values else float("nan")


def summarise(jobs: dict) -> dict:
    runs = sorted(jobs.values(), key=lambda j: j["execute"])
    if not runs:
        return {"jobs": 0}
    start = min(j["submit"] for j in runs)
    end = max(j["terminate"] for j in runs)
    busy = sum(j["terminate"] - j["execute"] for j in runs)
    by_slot: dict = {}
    for job in runs:
        by_slot.setdefault(job.get("slot", "?"), []).append(job)
    reuse_gaps = [b["execute"] - a["terminate"]
                  for slot_jobs in by_slot.values() for a, b in zip(slot_jobs, slot_jobs[1:])]
    idle_at_end = [sum(1 for o in runs if o["submit"] <= j["terminate"] < o["execute"])
                   for j in runs]
    return {
        "jobs": len(runs),
        "makespan_s": round(end - start, 2),
        "first_execute_after_s": round(runs[0]["execute"] - start, 2),
        "mean_running": round(busy / (end - start), 2),
        "dynamic_slots": len(by_slot),
        "jobs_per_dynamic_slot": round(len(runs) / len(by_slot), 1),
        "median_queue_wait_s": median([j["execute"] - j["submit"] for j in runs]),
        "median_run_s": median([j["terminate"] - j["execute"] for j in runs]),
        "median_slot_reuse_gap_s": median(reuse_gaps),
        "median_idle_jobs_at_termination": median(idle_at_end),
        "terminations_with_no_idle_job": sum(1 for n in idle_at_end if n == 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    summary = summarise(read_jobs(args.logs))
    if args.json:
        json.dump(summary, sys.stdout)
        print()
    else:
        for key, value in summary.items():
            print(f"{key:34s} {value}")


if __name__ == "__main__":
    main()
