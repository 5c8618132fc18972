"""The Markdown table of bench/results/results.json (README shows it)."""

from __future__ import annotations

CASES = [
    ("parallel-auto", "ours, automatic batching"),
    ("parallel-batch1", "ours, batch_size=1"),
    ("raw-cluster", "raw HTCondor, one cluster of `python -c pass`"),
    ("reference-poll5", "reference (PyPI joblib-htcondor), poll_interval=5 (default)"),
    ("reference-poll1", "reference, poll_interval=1 (shortest: it takes whole seconds)"),
]


def _yes(flag) -> str:
    return "met" if flag else "**missed**"


def _cpp(part: dict) -> list[str]:
    lines = ["## C++ micro-benchmarks (Google Benchmark, medians of 3)", "",
             f"Measured {part.get('measured', '?')}.", "",
             "| benchmark | CPU time | throughput |", "|---|---:|---:|"]
    for name, b in part["benchmarks"].items():
        rate = []
        if "items_per_second" in b:
            rate.append(f"{b['items_per_second'] / 1e6:.2f} M items/s")
        if "bytes_per_second" in b:
            rate.append(f"{b['bytes_per_second'] / 2**30:.2f} GiB/s")
        lines.append(f"| `{name}` | {b['cpu_time']:.3g} {b['time_unit']} | {', '.join(rate)} |")
    events = part.get("parse_events_per_s_min")
    if events:
        lines += ["", f"Event-log parsing: {events / 1e6:.2f} M events/s (slowest case); "
                      f"target > 1 M events/s: {_yes(part.get('parse_target_met'))}."]
    return lines + [""]


def _loky(part: dict) -> list[str]:
    med = part["median_seconds"]
    return ["## Local scheduler against loky (julearn cross-validation, zscore + SVM grid)", "",
            f"Measured {part.get('measured', '?')}: {part['tasks']} tasks (outer folds, each a "
            f"GridSearchCV) of about {part['task_seconds_sequential'] * 1000:.0f} ms, "
            f"{part['workers']} workers, batch_size={part['batch_size']}.", "",
            "| backend | makespan (median) | all runs |", "|---|---:|---|",
            f"| loky | {med['loky']:.2f} s | {', '.join(f'{s:.2f}' for s in part['seconds']['loky'])} |",
            f"| htcondor, scheduler=\"local\" | {med['local']:.2f} s | "
            f"{', '.join(f'{s:.2f}' for s in part['seconds']['local'])} |", "",
            f"Ratio local/loky: **{part['ratio_local_over_loky']:.2f}** (target <= 1.3: "
            f"{_yes(part['met'])}).", ""]


def _pool(part: dict) -> list[str]:
    lines = ["## Trivial tasks on the testbed pool (4 slots) through `Parallel(n_jobs=-1)`", "",
             f"Measured {part.get('measured', '?')}. Makespan (s); CPU s and peak RSS of the "
             "submitting process. `x` = error (why, in the cell).", ""]
    counts = list(part["tasks"])
    lines.append("| case | " + " | ".join(f"{n} tasks: makespan, CPU, RSS" for n in counts) + " |")
    lines.append("|---|" + "---|" * len(counts))
    for key, label in CASES:
        cells = []
        for n in counts:
            fig = part["tasks"][n]["cases"].get(key, {})
            if "wall_s" in fig:
                cpu = "-" if key == "raw-cluster" else f"{fig.get('cpu_s')} s"
                rss = "-" if key == "raw-cluster" else f"{fig.get('peak_rss_mb')} MB"
                cells.append(f"{fig['wall_s']} s, {cpu}, {rss}")
            else:
                cells.append(f"x: {fig.get('error', 'not run')}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    for n in counts:
        r = part["tasks"][n]["ratios"]
        text = ", ".join(f"{k} = {v}" for k, v in r.items() if not isinstance(v, dict))
        lines.append(f"- {n} tasks: {text or 'no ratio (a case is missing)'}")
        cost = r.get("submitting_machine_per_1000_tasks", {})
        if cost:
            lines.append("  - submitting machine per 1000 tasks: " + "; ".join(
                f"{k} {v['cpu_s_per_1000']} CPU s, peak RSS {v['peak_rss_mb']} MB"
                for k, v in cost.items() if k != "raw-cluster"))
        if "targets" in r:
            t = r["targets"]
            lines.append(f"  - targets at 1000 tasks: automatic batching faster than raw: "
                         f"{_yes(t['auto_faster_than_raw'])}; batch_size=1 within 1.5x of raw: "
                         f"{_yes(t['batch1_within_1.5x_raw'])}; reference >= 3x slower than ours: "
                         f"{_yes(t['reference_3x_slower_than_auto'])}")
    return lines + [""]


def markdown(results: dict) -> str:
    m = results["machine"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items())
    lines = ["# Benchmark results", "",
             f"Reproduce: `bench/run_all` (as root, testbed pool up). Report written {results['date']}, "
             f"commit {m['commit']}.", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['os']}; load average at report "
             f"{', '.join(f'{x:.1f}' for x in m['load_average_at_report'])} (the machine is shared: "
             f"timings are noisy). Versions: {v}. Pool: {results.get('pool_used')}.", ""]
    for name, render in (("cpp", _cpp), ("local_vs_loky", _loky), ("pool", _pool)):
        if results.get(name):
            lines += render(results[name])
        else:
            lines += [f"## {name}", "", "Not measured (skipped or failed; see build/bench/raw/).", ""]
    return "\n".join(lines)
