"""Folds bench/run_all's raw outputs into results.json and results.md.

    .venv/bin/python bench/report.py RAW_DIR RESULTS_DIR

A part missing from RAW_DIR (skipped, or its run failed) keeps the figures of the
previous results.json, marked with the date they were measured on.
"""

from __future__ import annotations

import ast
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from pathlib import Path

TARGET_EVENTS_PER_S = 1e6
TARGET_BYTES_OVER_DATA = 1.1


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo
                if line.startswith("model name")), platform.processor())
    versions = {"python": platform.python_version()}
    for name in ("joblib", "sklearn", "julearn", "numpy"):
        try:
            versions[name] = __import__(name).__version__
        except ImportError:
            pass
    try:
        versions["htcondor"] = subprocess.run(
            ["testbed/pool", "run", "--", "condor_version"], capture_output=True, text=True,
            timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        commit = "?"
    return {"cpu": cpu, "cores": os.cpu_count(), "os": platform.platform(),
            "load_average_at_report": os.getloadavg(), "commit": commit, "versions": versions}


def cpp_part(raw: Path) -> dict | None:
    figures = {}
    for path in sorted(raw.glob("cpp_*.json")):
        for bench in json.loads(path.read_text()).get("benchmarks", []):
            if bench.get("aggregate_name", "median") != "median":
                continue
            entry = {"cpu_time": bench["cpu_time"], "time_unit": bench["time_unit"]}
            for key in ("items_per_second", "bytes_per_second"):
                if key in bench:
                    entry[key] = bench[key]
            figures[bench["run_name"]] = entry
    if not figures:
        return None
    parse = [v["items_per_second"] for k, v in figures.items() if k.startswith("BM_Parse")]
    return {"benchmarks": figures, "parse_events_per_s_min": min(parse) if parse else None,
            "parse_target_met": bool(parse) and min(parse) > TARGET_EVENTS_PER_S}


def dict_lines(text: str) -> list[dict]:
    """The figures the scripts print: one dict per line (JSON or Python repr)."""
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            try:
                out.append(ast.literal_eval(line))
            except (ValueError, SyntaxError):
                pass
    return out


def error_of(raw: Path, stem: str) -> str:
    err = raw / f"{stem}.err"
    lines = [line for line in (err.read_text().splitlines() if err.exists() else [])
             if line.strip() and "leaked" not in line and "nanobind" not in line]
    return lines[-1][:200] if lines else "no figures printed"


POOL_CASES = ("parallel-auto", "parallel-batch1", "raw-cluster", "raw-worker-cluster",
              "reference-default", "reference-best")


def median(values: list):
    values = [v for v in values if v is not None]
    if not values:
        return None
    middle = statistics.median(values)
    return int(middle) if float(middle).is_integer() else round(middle, 2)


def makespan(fig: dict) -> float:
    """The one makespan rule of every case: the wall time in the submitting process
    from the case's first action (writing its first task file, or submitting) until
    its last result is known to that process (bench/submission measure(),
    bench/reference, bench/scale). No case is judged on a part of its run."""
    return fig["wall_s"]


def case_figures(runs: list[dict], errors: list[str]) -> dict:
    """The median of a case's runs, with every run kept."""
    out = {"runs": runs, "errors": errors, "n_runs": len(runs)}
    if runs:
        out["median"] = {key: median([r.get(key) for r in runs])
                         for key in ("makespan_s", "cpu_s", "peak_rss_mb")}
        out["load_average_1min"] = [r["load_average"][0] for r in runs if r.get("load_average")]
        jobs = [r.get("events", {}).get("jobs") for r in runs if isinstance(r.get("events"), dict)]
        if any(j is not None for j in jobs):
            out["jobs"] = median(jobs)
    return out


def pool_part(raw: Path) -> dict | None:
    found = {}  # (n, case) -> list of (rep, path)
    for path in raw.glob("pool_*_r*.json"):
        m = re.fullmatch(r"pool_(\d+)_(.+)_r(\d+)\.json", path.name)
        if m:
            found.setdefault((int(m.group(1)), m.group(2)), []).append((int(m.group(3)), path))
    if not found:
        return None
    rows = {}
    for n in sorted({n for n, _ in found}):
        skip = raw / f"skipped_{n}.txt"  # cases run_all left out at this count, and why
        left_out = f"left out: {skip.read_text().strip()}" if skip.exists() else "not run"
        cases = {}
        for case in POOL_CASES:
            runs, errors = [], []
            for _, path in sorted(found.get((n, case), [])):
                figs = dict_lines(path.read_text())
                if figs:
                    fig = figs[-1]
                    fig["makespan_s"] = makespan(fig)
                    runs.append(fig)
                else:
                    errors.append(error_of(raw, path.stem))
            if not runs and not errors:
                errors.append(left_out)
            cases[case] = case_figures(runs, errors)
        rows[str(n)] = {"cases": cases, "ratios": ratios(cases, n)}
        stamp = raw / f"build_{n}.txt"  # the commit and .venv build this count ran with
        if stamp.exists():
            rows[str(n)]["build"] = stamp.read_text().strip()
    status = (raw / "pool_status.txt").read_text() if (raw / "pool_status.txt").exists() else ""
    reps = max(rep for runs in found.values() for rep, _ in runs)
    return {"tasks": rows, "reps": reps, "pool_status_before": status.strip().splitlines(),
            "reference_poll_interval_s": reference_polls(found)}


def reference_polls(found: dict) -> dict:
    polls = {}
    for (_, case), runs in found.items():
        for _, path in runs:
            for fig in dict_lines(path.read_text()):
                if case.startswith("reference-") and "poll_interval_s" in fig:
                    polls[case] = fig["poll_interval_s"]
                    polls["versions"] = (f"joblib-htcondor {fig.get('reference_version')} "
                                         f"with joblib {fig.get('joblib_version')}")
    return polls


def wall(cases: dict, name: str):
    return cases.get(name, {}).get("median", {}).get("makespan_s")


def _ratio(a, b):
    return round(a / b, 2) if a and b else None


# Issue 18's targets on the pool comparison: (count, name, numerator, denominator,
# bound, "<=" or ">=").
POOL_TARGETS = [
    (100, "auto_over_raw", "parallel-auto", "raw-cluster", 1.0, "<="),
    (100, "batch1_over_raw_worker", "parallel-batch1", "raw-worker-cluster", 1.2, "<="),
    (1000, "auto_over_raw", "parallel-auto", "raw-cluster", 0.5, "<="),
    (1000, "reference_best_over_auto", "reference-best", "parallel-auto", 5.0, ">="),
    (1000, "reference_best_over_batch1", "reference-best", "parallel-batch1", 2.0, ">="),
]


def ratios(cases: dict, n: int) -> dict:
    pairs = {
        "auto_over_raw": ("parallel-auto", "raw-cluster"),
        "batch1_over_raw": ("parallel-batch1", "raw-cluster"),
        "raw_worker_over_raw": ("raw-worker-cluster", "raw-cluster"),
        "batch1_over_raw_worker": ("parallel-batch1", "raw-worker-cluster"),
        # default settings on both sides (ours batches, the reference cannot)
        "reference_default_over_auto": ("reference-default", "parallel-auto"),
        "reference_best_over_auto": ("reference-best", "parallel-auto"),
        # equal job counts: one job per task on both sides
        "reference_default_over_batch1": ("reference-default", "parallel-batch1"),
        "reference_best_over_batch1": ("reference-best", "parallel-batch1"),
        # the most "reference / ours at equal job counts" could reach: ours costing no
        # more per job than `python -c pass`
        "reference_best_over_raw": ("reference-best", "raw-cluster"),
    }
    out = {}
    for key, (a, b) in pairs.items():
        value = _ratio(wall(cases, a), wall(cases, b))
        if value is not None:
            out[key] = value
    per1000 = {}
    for name, fig in cases.items():
        med = fig.get("median", {})
        if med.get("cpu_s") is not None and not name.startswith("raw-"):
            per1000[name] = {"cpu_s_per_1000": round(med["cpu_s"] * 1000 / n, 2),
                             "peak_rss_mb": med.get("peak_rss_mb")}
    out["submitting_machine_per_1000_tasks"] = per1000
    targets = {}
    for count, key, _, _, bound, sense in POOL_TARGETS:
        if count == n and key in out:
            met = out[key] <= bound if sense == "<=" else out[key] >= bound
            targets[key] = {"value": out[key], "bound": f"{sense} {bound}", "met": met}
    if targets:
        out["targets"] = targets
    return out


SCALE_CPU_RATIO_BOUND = 1.2
SCALE_RSS_BOUND_MB = 150


def scale_part(raw: Path) -> dict | None:
    runs, errors = {}, {}
    for path in raw.glob("scale_*.json"):
        m = re.fullmatch(r"scale_(\d+)\.json", path.name)
        if not m:
            continue
        figs = dict_lines(path.read_text())
        if figs:
            fig = figs[-1]
            fig["makespan_s"] = makespan(fig)
            stamp = raw / f"scale_build_{m.group(1)}.txt"
            if stamp.exists():
                fig["build"] = stamp.read_text().strip()
            runs[m.group(1)] = fig
        else:
            errors[m.group(1)] = error_of(raw, path.stem)
    if not runs and not errors:
        return None
    counts = sorted(runs, key=int)
    out = {"runs": {n: runs[n] for n in counts}, "errors": errors}
    if counts:
        base, top = counts[0], counts[-1]
        out["cpu_per_task_over_smallest"] = {
            n: _ratio(runs[n]["cpu_ms_per_task"], runs[base]["cpu_ms_per_task"]) for n in counts}
        targets = {}
        if "1000" in runs and "100000" in runs:
            value = out["cpu_per_task_over_smallest"]["100000"] if base == "1000" else None
            if value is not None:
                targets["cpu_per_task_100000_over_1000"] = {
                    "value": value, "bound": f"<= {SCALE_CPU_RATIO_BOUND}",
                    "met": value <= SCALE_CPU_RATIO_BOUND}
        if "100000" in runs:
            rss = runs["100000"]["peak_rss_mb"]
            targets["peak_rss_mb_at_100000"] = {"value": rss, "bound": f"<= {SCALE_RSS_BOUND_MB}",
                                                "met": rss <= SCALE_RSS_BOUND_MB}
        out["targets"] = targets
        out["largest"] = top
    return out


def pool_used() -> str:
    port = os.environ.get("JHTC_TESTBED_PORT")
    if not port or port == "9618":
        return "collector port 9618: the shared testbed pool"
    return (f"collector port {port}, root {os.environ.get('JHTC_TESTBED_DIR', '?')}: "
            "a pool of this benchmark's own")


def pool_of_run(raw: Path, previous: dict) -> str:
    """This run's pool if it ran a pool part; else the pool the kept figures came from."""
    ran_on_pool = any(raw.glob("pool_*.json")) or any(raw.glob("scale_*.json"))
    if ran_on_pool or "pool_used" not in previous:
        return pool_used()
    return previous["pool_used"]


# A key each part's current format has: a previous part without it (an older
# format of results.json) is dropped, not rendered wrongly.
FORMAT_KEYS = {"pool": "reps", "scale": "runs"}


def load_part(raw: Path, name: str, loader, previous: dict) -> dict | None:
    part = loader(raw)
    kept = previous.get(name)
    if kept and name in FORMAT_KEYS and FORMAT_KEYS[name] not in kept:
        kept = None
    if part is not None:
        part["measured"] = now()
        if name == "pool":
            keep_other_task_counts(part, kept)
        return part
    return kept


def keep_other_task_counts(part: dict, kept: dict | None) -> None:
    """A pool run of some task counts (JHTC_BENCH_TASKS="1000") keeps the previous
    figures of the counts it did not run, each with the date it was measured: every
    ratio still compares cases of one run, and no count's rows vanish."""
    for row in part["tasks"].values():
        row["measured"] = part["measured"]
    for n, row in ((kept or {}).get("tasks") or {}).items():
        if n not in part["tasks"]:  # its ratios again from its medians: this code's set
            part["tasks"][n] = {**row, "measured": row.get("measured", kept.get("measured", "?")),
                                "ratios": ratios(row["cases"], int(n))}
    part["tasks"] = dict(sorted(part["tasks"].items(), key=lambda item: int(item[0])))


def data_part(raw: Path) -> dict | None:
    path = raw / "data_transfer.json"
    if not path.exists():
        return None
    part = json.loads(path.read_text())
    ours = part["designs"]["ours"]
    part["ours_bytes_over_data"] = round(ours["written"] / part["dataset_bytes"], 3)
    part["target_met"] = part["ours_bytes_over_data"] <= TARGET_BYTES_OVER_DATA
    return part


def loky_part(raw: Path) -> dict | None:
    path = raw / "local_vs_loky.json"
    return json.loads(path.read_text()) if path.exists() else None


def warm_call_part(raw: Path) -> dict | None:
    path = raw / "warm_call.json"
    return json.loads(path.read_text()) if path.exists() else None


def main() -> int:
    raw, out = Path(sys.argv[1]), Path(sys.argv[2])
    previous_path = out / "results.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    results = {"date": now(), "machine": machine(), "pool_used": pool_of_run(raw, previous)}
    # What else ran on the machine, in the words of whoever started the run
    # (JHTC_BENCH_NOTE): printed next to the figures.
    results["note"] = os.environ.get("JHTC_BENCH_NOTE", "")
    versions = results["machine"]["versions"]
    old = previous.get("machine", {}).get("versions", {}).get("htcondor")
    if "htcondor" not in versions and old:  # the pool was down when the report was written
        suffix = " (asked when the pool was last up)"
        versions["htcondor"] = old if old.endswith(suffix) else old + suffix
    parts = (("cpp", cpp_part), ("local_vs_loky", loky_part), ("warm_call", warm_call_part),
             ("data_transfer", data_part),
             ("pool", pool_part), ("scale", scale_part))
    for name, loader in parts:
        results[name] = load_part(raw, name, loader, previous)
    previous_path.write_text(json.dumps(results, indent=2) + "\n")
    from report_md import markdown  # beside this file

    (out / "results.md").write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
