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
import subprocess
import sys
from pathlib import Path

TARGET_EVENTS_PER_S = 1e6
TARGET_BYTES_OVER_DATA = 1.1


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
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
    lines = [l for l in (err.read_text().splitlines() if err.exists() else [])
             if l.strip() and "leaked" not in l and "nanobind" not in l]
    return lines[-1][:200] if lines else "no figures printed"


def pool_part(raw: Path) -> dict | None:
    counts = sorted({int(m.group(1)) for p in raw.glob("*.txt")
                     if (m := re.match(r"(?:ours|reference)_(\d+)", p.name))})
    if not counts:
        return None
    rows = {}
    for n in counts:
        cases = {}
        skip = raw / f"skipped_{n}.txt"  # cases run_all left out at this count, and why
        left_out = f"left out: {skip.read_text().strip()}" if skip.exists() else None
        ours = raw / f"ours_{n}.txt"
        for fig in dict_lines(ours.read_text() if ours.exists() else ""):
            cases[fig["case"]] = fig
        for name in ("parallel-auto", "parallel-batch1", "raw-cluster", "raw-worker-cluster"):
            cases.setdefault(name, {"case": name, "error": left_out or error_of(raw, f"ours_{n}")})
        for poll in (5, 1):
            stem = f"reference_{n}_poll{poll}"
            path = raw / f"{stem}.txt"
            figs = dict_lines(path.read_text() if path.exists() else "")
            cases[f"reference-poll{poll}"] = figs[0] if figs else {
                "case": f"reference-poll{poll}", "error": left_out or error_of(raw, stem)}
        for fig in cases.values():
            if "wall_s" in fig:
                fig["makespan_s"] = makespan(fig)
        rows[str(n)] = {"cases": cases, "ratios": ratios(cases, n)}
        stamp = raw / f"build_{n}.txt"  # the commit and .venv build this count ran with
        if stamp.exists():
            rows[str(n)]["build"] = stamp.read_text().strip()
    status = (raw / "pool_status.txt").read_text() if (raw / "pool_status.txt").exists() else ""
    return {"tasks": rows, "pool_status_before": status.strip().splitlines()}


def makespan(fig: dict) -> float:
    """The figure a case is judged on: its wall time, but for the raw worker cluster
    the time from condor_submit on (its wall time also holds writing its task files)."""
    if fig["case"] == "raw-worker-cluster" and "from_submit_s" in fig:
        return fig["from_submit_s"]
    return fig["wall_s"]


def wall(cases: dict, name: str):
    return cases.get(name, {}).get("makespan_s")


def ratios(cases: dict, n: int) -> dict:
    auto, batch1, raw = wall(cases, "parallel-auto"), wall(cases, "parallel-batch1"), wall(cases, "raw-cluster")
    ref = [w for w in (wall(cases, "reference-poll5"), wall(cases, "reference-poll1")) if w]
    best_ref = min(ref) if ref else None
    out = {}
    if auto and raw:
        out["auto_over_raw"] = round(auto / raw, 2)
    if batch1 and raw:
        out["batch1_over_raw"] = round(batch1 / raw, 2)
    raw_worker = wall(cases, "raw-worker-cluster")
    if raw_worker and raw:
        out["raw_worker_over_raw"] = round(raw_worker / raw, 2)
    if batch1 and raw_worker:
        out["batch1_over_raw_worker"] = round(batch1 / raw_worker, 2)
    if auto and best_ref:
        out["best_reference_over_auto"] = round(best_ref / auto, 2)
    per1000 = {}
    for name, fig in cases.items():
        if fig.get("cpu_s") is not None and fig.get("tasks"):
            per1000[name] = {"cpu_s_per_1000": round(fig["cpu_s"] * 1000 / fig["tasks"], 2),
                             "peak_rss_mb": fig.get("peak_rss_mb")}
    out["submitting_machine_per_1000_tasks"] = per1000
    if n == 1000:
        out["targets"] = {
            "auto_faster_than_raw": bool(auto and raw and auto < raw),
            "batch1_within_1.5x_raw": bool(batch1 and raw and batch1 <= 1.5 * raw),
            "reference_3x_slower_than_auto": bool(auto and best_ref and best_ref >= 3 * auto),
        }
    return out


def pool_used() -> str:
    port = os.environ.get("JHTC_TESTBED_PORT")
    if not port or port == "9618":
        return "collector port 9618: the shared testbed pool"
    return (f"collector port {port}, root {os.environ.get('JHTC_TESTBED_DIR', '?')}: "
            "a pool of this benchmark's own")


def load_part(raw: Path, name: str, loader, previous: dict) -> dict | None:
    part = loader(raw)
    if part is not None:
        part["measured"] = now()
        return part
    return previous.get(name)


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


def main() -> int:
    raw, out = Path(sys.argv[1]), Path(sys.argv[2])
    previous_path = out / "results.json"
    previous = json.loads(previous_path.read_text()) if previous_path.exists() else {}
    results = {"date": now(), "machine": machine(),
               "pool_used": pool_used()}
    versions = results["machine"]["versions"]
    old = previous.get("machine", {}).get("versions", {}).get("htcondor")
    if "htcondor" not in versions and old:  # the pool was down when the report was written
        versions["htcondor"] = f"{old} (asked when the pool was last up)"
    parts = (("cpp", cpp_part), ("local_vs_loky", loky_part), ("data_transfer", data_part),
             ("pool", pool_part))
    for name, loader in parts:
        results[name] = load_part(raw, name, loader, previous)
    previous_path.write_text(json.dumps(results, indent=2) + "\n")
    from report_md import markdown  # beside this file

    (out / "results.md").write_text(markdown(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    sys.exit(main())
