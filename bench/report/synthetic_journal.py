"""Writes the journal of a synthetic two-level run, as a real run's journal looks.

    python bench/report/synthetic_journal.py DIR --tasks 100000 [--batches 1000] [--seed 1]

Level 0: one root batch of ``batches`` parent tasks; each parent's child batch (level 1)
holds ``tasks / batches`` tasks. Every job has queued, submitted, running and an end;
about 1 job in 200 is held and retried, 1 in 500 fails, and every ended job carries
the usage figures of the agreed journal schema (docs/monitor.md). Times advance by
a simulated clock (a throttle of 50 children per parent on a pool of 400 slots), so
the run spans hours. Lines are written directly (a JournalWriter stamps the real
time): the format is the one ``encode_journal_line`` writes.

Used by bench/report/run (size and seconds of a report at 100,000 tasks) and by
tests/python/test_report.py.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

START = 1_790_000_000.0


def _line(ts: float, name: str, context: dict) -> str:
    return json.dumps({"ts": round(ts, 6), "name": name, "context": context},
                      separators=(",", ":")) + "\n"


def _usage(rng: random.Random, wall: float, request_mb: int) -> dict:
    return {"wall_s": round(wall, 3), "cpu_user_s": round(wall * rng.uniform(0.6, 0.97), 3),
            "cpu_sys_s": round(wall * 0.02, 3),
            "memory_mb": int(request_mb * rng.uniform(0.2, 1.1)),
            "alloc_cpus": 1, "request_memory_mb": request_mb}


def _batch_jobs(rng: random.Random, tasks: int, t0: float, throttle: int, request_mb: int,
                job_base: int, duration: float, hold_rate: float,
                fail_rate: float) -> tuple[list[str], float]:
    """Lines of one batch's tasks; returns them and when its last task ended."""
    lines = []
    slots = [t0] * throttle  # when each slot of the throttle is free again
    end_all = t0
    for task in range(tasks):
        lines.append(_line(t0, "task_queued", {"task": task, "calls": 1}))
        attempt = 0
        while True:
            slot = min(range(throttle), key=slots.__getitem__)
            submitted = max(slots[slot], t0) + rng.uniform(0.01, 0.2)
            job = f"{job_base + task}.{attempt}"
            running = submitted + rng.uniform(1, 20)
            end = running + duration * rng.uniform(0.5, 1.5)
            lines.append(_line(submitted, "task_submitted", {"task": task, "job": job}))
            lines.append(_line(running, "task_running", {"task": task, "job": job}))
            slots[slot] = end
            end_all = max(end_all, end)
            usage = _usage(rng, end - running, request_mb)
            roll = rng.random()
            if roll < hold_rate and attempt == 0:
                lines.append(_line(end, "task_retried", {
                    "task": task, "reason": f"job {job} was held: memory usage exceeded "
                    "request_memory (HoldReasonCode 34, HoldReasonSubCode 102)",
                    "hold_code": 34, "hold_subcode": 102, "request_memory_mb": request_mb * 2,
                    "usage": usage}))
                attempt += 1
                continue
            if roll < hold_rate + fail_rate:
                lines.append(_line(end, "task_failed", {
                    "task": task, "reason": "the worker exited with code 1: ValueError: "
                    "Input contains NaN", "job": job, "usage": usage}))
            else:
                lines.append(_line(end, "task_done", {"task": task, "usage": usage}))
            break
    return lines, end_all


def _started(ts: float, batch: str, parent: str, root: str, level: int, throttle: int) -> str:
    return _line(ts, "batch_started", {
        "batch": batch, "parent": parent, "root": root, "level": level, "throttle": throttle,
        "host": "submit.example.org", "pid": 4242, "scheduler": "htcondor",
        "request_cpus": 1, "request_memory_mb": 2048, "request_gpus": 0})


def write_run(journal_dir: str | Path, tasks: int = 100_000, batches: int = 1000,
              seed: int = 1, root: str = "synthetic-root", hold_rate: float = 0.005,
              fail_rate: float = 0.002) -> Path:
    """Write the run under ``journal_dir/<root>/``; returns that directory."""
    rng = random.Random(seed)
    run_dir = Path(journal_dir) / root
    run_dir.mkdir(parents=True, exist_ok=True)
    per_child = max(1, tasks // batches)
    root_lines = [_started(START, root, "", root, 0, 400)]
    # Parents start as the pool's 400 slots allow; each runs its child batch.
    parent_slots = [START] * 400
    end_all = START
    for parent in range(batches):
        slot = min(range(400), key=parent_slots.__getitem__)
        start = parent_slots[slot] + rng.uniform(0.05, 0.5)
        job = f"{1000 + parent}.0"
        root_lines.append(_line(START, "task_queued", {"task": parent, "calls": 1}))
        root_lines.append(_line(start, "task_submitted", {"task": parent, "job": job}))
        running = start + rng.uniform(1, 10)
        root_lines.append(_line(running, "task_running", {"task": parent, "job": job}))
        child = f"{root}-c{parent}"
        child_lines = [_started(running + 2, child, root, root, 1, 50)]
        jobs, child_end = _batch_jobs(rng, per_child, running + 2, 50, 2048,
                                      100_000 + parent * 1000, 60, hold_rate, fail_rate)
        child_lines += jobs
        child_lines.append(_line(child_end, "bytes_held", {"bytes": 0}))
        child_lines.append(_line(child_end + 0.5, "batch_finished", {"state": "done"}))
        (run_dir / f"{child}.jsonl").write_text("".join(child_lines))
        end = child_end + 1
        root_lines.append(_line(end, "task_done", {"task": parent, "usage": _usage(
            rng, end - running, 2048)}))
        parent_slots[slot] = end
        end_all = max(end_all, end)
        if parent % 50 == 0:
            root_lines.append(_line(start, "bytes_held", {"bytes": 10_000_000 + parent * 1000}))
    root_lines.append(_line(end_all, "bytes_held", {"bytes": 0}))
    root_lines.append(_line(end_all + 1, "batch_finished", {"state": "done"}))
    (run_dir / f"{root}.jsonl").write_text("".join(root_lines))
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("journal_dir")
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print(write_run(args.journal_dir, args.tasks, args.batches, args.seed))


if __name__ == "__main__":
    main()
