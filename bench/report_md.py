"""The Markdown table of bench/results/results.json (README shows it)."""

from __future__ import annotations

CASES = [
    ("parallel-auto", "ours, automatic batching (default settings)"),
    ("parallel-batch1", "ours, batch_size=1 (one job per task)"),
    ("raw-cluster", "raw HTCondor, one cluster of `python -c pass`"),
    ("raw-worker-cluster", "raw HTCondor, one cluster of our worker on task files (no engine)"),
    ("reference-default",
     "reference (PyPI joblib-htcondor), poll_interval={default} (its default)"),
    ("reference-best", "reference, poll_interval={best} (its shortest that changes anything)"),
]


def _yes(flag) -> str:
    return "met" if flag else "**missed**"


def _cpp(part: dict) -> list[str]:
    lines = ["Google Benchmark, medians of 3. "
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
    return [f"julearn cross-validation (zscore + SVM grid), measured "
            f"{part.get('measured', '?')}: {part['tasks']} tasks (outer folds, each a "
            f"GridSearchCV) of about {part['task_seconds_sequential'] * 1000:.0f} ms, "
            f"{part['workers']} workers, batch_size={part['batch_size']}.", "",
            "| backend | makespan (median) | all runs |", "|---|---:|---|",
            f"| loky | {med['loky']:.2f} s | "
            f"{', '.join(f'{s:.2f}' for s in part['seconds']['loky'])} |",
            f"| htcondor, scheduler=\"local\" | {med['local']:.2f} s | "
            f"{', '.join(f'{s:.2f}' for s in part['seconds']['local'])} |", "",
            f"Ratio local/loky: **{part['ratio_local_over_loky']:.2f}** (target <= 1.1: "
            f"{_yes(part['ratio_local_over_loky'] <= 1.1)}).", ""]


def _warm(part: dict) -> list[str]:
    med, reps = part["median_s"], part["repeat_medians_s"]
    cold = part.get("cold_s", {})
    target = part["target_s"]

    def row(name: str, key: str) -> str:
        first = f"{cold[key][0]:.3f} s" if cold.get(key) else "-"
        return (f"| {name} | {med[key]:.3f} s | {', '.join(f'{s:.3f}' for s in reps[key])} | "
                f"{first} |")

    return [f"A warm `Parallel` call of {part['tasks']} trivial tasks, `n_jobs={part['n_jobs']}`, "
            f"measured {part.get('measured', '?')} (`bench/local_vs_loky/warm_call.py`): per "
            f"repeat the median of {part['calls_per_repeat']} calls after a first one (cold "
            "only in repeat 1: loky's workers and the fork server live on), "
            f"loky then local, {part['repeats']} repeats interleaved; load average "
            f"{part['load_average'][0]:.1f}.", "",
            "| backend | warm call (median) | repeat medians | first call of the run |",
            "|---|---:|---|---:|", row("loky", "loky"), row('htcondor, scheduler="local"', "local"),
            "", f"Local: **{med['local']:.3f} s**, {part['ratio_local_over_loky']:.1f}x loky "
                f"(target <= {target} s: {_yes(med['local'] <= target)}).", ""]


def _data(part: dict) -> list[str]:
    data = part["dataset_bytes"]
    lines = ["Cross-validation over one dataset. "
             f"Measured {part.get('measured', '?')}: `bench/data_transfer/run.py`, a dataset of "
             f"{data / 2**20:.1f} MiB (float64) in {part['tasks']} tasks, each task "
             "`(estimator, X, y, train, test)` as scikit-learn dispatches it. Written = bytes "
             "written to the shared directory by the submitting process; serialize = time to "
             "write all task files; load = time for a worker to load one task.", "",
             "| design | written | x dataset | serialize | load 1 task |",
             "|---|---:|---:|---:|---:|"]
    for key in ("ours", "copying", "reference"):
        d = part["designs"].get(key)
        if d:
            lines.append(f"| {d['name']} | {d['written'] / 2**20:.1f} MiB | "
                         f"{d['written'] / data:.3f} | {d['serialize_s']:.2f} s | "
                         f"{d['load_s']:.3f} s |")
    ref = part["designs"].get("reference")
    lines += ["", f"Ours: {part['ours_bytes_over_data']:.3f} x the data (target <= 1.1: "
                  f"{_yes(part['target_met'])})."]
    if ref:
        ours = part["designs"]["ours"]
        lines.append(f"The reference writes {ref['written'] / ours['written']:.0f}x the bytes "
                     f"of ours and takes {ref['serialize_s'] / ours['serialize_s']:.1f}x the "
                     f"time; its task file is {ref['task_file_bytes'] / 2**20:.0f} MiB each, "
                     "and with n_jobs=-1 (throttle 1000) all of them exist at once.")
    return lines + [""]


_EVENT_COLUMNS = [("mean_running", "mean running jobs"),
                  ("dynamic_slots", "claims (dynamic slots)"),
                  ("median_queue_wait_s", "queue wait (median)"),
                  ("median_run_s", "in-slot run time (median)"),
                  ("median_slot_reuse_gap_s", "slot empty between jobs (median)")]


def _events(part: dict) -> list[str]:
    """Where the time went, from the event logs of each case's first run that kept them."""
    lines = []
    for n, row in part["tasks"].items():
        rows = []
        for key, fig in row["cases"].items():
            run = next((r for r in fig.get("runs", []) if isinstance(r.get("events"), dict)
                        and "jobs" in r["events"]), None)
            if run:
                rows.append((key, run))
        if not rows:
            continue
        lines += [f"At {n} tasks (HTCondor event logs of each case's first run; "
                  "`bench/submission/event_gaps.py`):", "",
                  "| case | jobs | " + " | ".join(c for _, c in _EVENT_COLUMNS)
                  + " | busy cores of 2 |",
                  "|---|---:|" + "---:|" * (len(_EVENT_COLUMNS) + 1)]
        for key, fig in rows:
            e = fig["events"]
            cells = " | ".join(str(e.get(c)) for c, _ in _EVENT_COLUMNS)
            busy = fig.get("machine_busy_cores", "-")
            lines.append(f"| {key} | {e['jobs']} | {cells} | {busy} |")
        lines.append("")
    return lines


def _fmt(value, unit="") -> str:
    return "-" if value is None else f"{value}{unit}"


def _load(values: list) -> str:
    if not values:
        return "-"
    low, high = f"{min(values):.1f}", f"{max(values):.1f}"
    return low if low == high else f"{low}-{high}"


def _label(key: str, label: str, part: dict) -> str:
    polls = part.get("reference_poll_interval_s", {})
    return label.format(default=_fmt(polls.get("reference-default")),
                        best=_fmt(polls.get("reference-best")))


def _pool(part: dict) -> list[str]:
    reps = part.get("reps", "?")
    lines = [f"Trivial tasks through `Parallel(n_jobs=-1)` on the testbed pool (4 slots); "
             f"each task count gives the date it was measured. Each case was to run {reps} "
             "times, the cases interleaved (every round runs each case once, in an order "
             "rotated by one per round); the figures are medians. Makespan: the wall time "
             "from the case's first action (its first task file or submission) to its last "
             "result known to the "
             "submitting process, for every case. CPU s and peak RSS: the submitting process. "
             "Load: the 1-minute load average before each run (min-max)."
             + (f" The reference ran as {polls['versions']}."
                if (polls := part.get("reference_poll_interval_s", {})).get("versions") else ""),
             ""]
    for n, row in part["tasks"].items():
        counts = sorted({f["n_runs"] for f in row["cases"].values() if f.get("n_runs")})
        runs = "-".join(str(c) for c in (counts[:1] + counts[-1:] if len(counts) > 1 else counts))
        when = f", measured {row['measured']}" if row.get("measured") else ""
        lines += [f"{n} tasks ({runs or 0} of {reps} runs per case{when}):", "",
                  "| case | makespan | jobs | CPU s | peak RSS | load | runs (makespan) |",
                  "|---|---:|---:|---:|---:|---|---|"]
        for key, label in CASES:
            fig = row["cases"].get(key, {})
            med = fig.get("median")
            if med:
                runs = ", ".join(f"{r['makespan_s']}" for r in fig["runs"])
                errors = f"; {len(fig['errors'])} failed" if fig.get("errors") else ""
                raw = key.startswith("raw-")
                # the reference keeps no event log here; it has no batching: a job per task
                jobs = f"{n} (one per task)" if key.startswith("reference-") else _fmt(
                    fig.get("jobs"))
                lines.append(
                    f"| {_label(key, label, part)} | {med['makespan_s']} s | "
                    f"{jobs} | {'-' if raw else _fmt(med['cpu_s'])} | "
                    f"{'-' if raw else _fmt(med['peak_rss_mb'], ' MB')} | "
                    f"{_load(fig.get('load_average_1min', []))} | {runs}{errors} |")
            else:
                errors = fig.get("errors", [])
                why = "; ".join(e + (f" ({errors.count(e)} of {len(errors)} runs)"
                                     if len(errors) > 1 else "")
                                for e in dict.fromkeys(errors)) or "not run"
                lines.append(f"| {_label(key, label, part)} | x: {why} | | | | | |")
        r = row["ratios"]
        named = [("automatic batching / raw", "auto_over_raw"),
                 ("batch_size=1 / raw worker", "batch1_over_raw_worker"),
                 ("batch_size=1 / raw", "batch1_over_raw"),
                 ("reference default / ours default", "reference_default_over_auto"),
                 ("reference best / ours default", "reference_best_over_auto"),
                 ("reference default / ours batch_size=1 (equal job counts)",
                  "reference_default_over_batch1"),
                 ("reference best / ours batch_size=1 (equal job counts)",
                  "reference_best_over_batch1"),
                 ("reference best / raw (the bound of the equal-count ratio)",
                  "reference_best_over_raw")]
        text = "; ".join(f"{name} {r[key]}" for name, key in named if key in r)
        lines += ["", f"Ratios of medians at {n} tasks: {text or 'none (a case is missing)'}."]
        if row.get("build"):
            lines.append(f"Ran with: {row['build']}.")
        lines.append("")
    return lines


def _scale(part: dict) -> list[str]:
    lines = [f"N trivial tasks through `Parallel(n_jobs=-1)` with automatic batching on the "
             f"testbed pool, one run per count, measured {part.get('measured', '?')}. CPU s "
             "and peak RSS of the submitting process; journal: the run's journal "
             "(export_metadata=True); monitor: `python -m joblib_htcondor.ui --path SHARED "
             "--summary` from scratch (median of 3), an upper bound of one refresh.", "",
             "| tasks | makespan | jobs | CPU s | CPU ms per task | x smallest | peak RSS | "
             "journal | monitor summary | load |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    curve = part.get("cpu_per_task_over_smallest", {})
    for n, fig in part["runs"].items():
        lines.append(
            f"| {int(n):,} | {fig['makespan_s']} s | {_fmt(fig.get('jobs'))} | {fig['cpu_s']} | "
            f"{fig['cpu_ms_per_task']} | {_fmt(curve.get(n))} | {fig['peak_rss_mb']} MB | "
            f"{fig['journal_bytes'] / 2**20:.2f} MiB ({fig['journal_lines']:,} lines) | "
            f"{fig['monitor_summary_s']} s | {_load(fig.get('load_average', [])[:1])} |")
    for n, error in part.get("errors", {}).items():
        lines.append(f"| {int(n):,} | x: {error} | | | | | | | | |")
    if "100000" not in part["runs"]:
        lines += ["", "100,000 tasks: not measured in this run."]
    return lines + [""]


def _targets(results: dict) -> list[str]:
    """The targets of issues 8 and 18, met or missed, with the figures they were judged on."""
    rows = []
    pool = results.get("pool") or {}
    names = {"auto_over_raw": "trivial tasks, automatic batching / raw cluster of `python -c pass`",
             "batch1_over_raw_worker": "trivial tasks, batch_size=1 / raw cluster of our worker",
             "reference_best_over_auto": "trivial tasks, reference (best settings) / ours "
                                         "(default settings)",
             "reference_best_over_batch1": "trivial tasks, reference (best settings) / ours at "
                                           "equal job counts (batch_size=1)"}
    for n, row in pool.get("tasks", {}).items():
        for key, t in row["ratios"].get("targets", {}).items():
            rows.append((f"{n} {names.get(key, key)}", f"{t['value']} (target {t['bound']})",
                         t["met"]))
    scale = results.get("scale") or {}
    for key, t in scale.get("targets", {}).items():
        name = {"cpu_per_task_100000_over_1000": "submit-side CPU per task, 100,000 / 1,000 tasks",
                "peak_rss_mb_at_100000": "submit-side peak RSS at 100,000 tasks (MB)"}.get(key, key)
        rows.append((name, f"{t['value']} (target {t['bound']})", t["met"]))
    if scale and "100000" not in scale.get("runs", {}):
        rows.append(("submit-side CPU per task 100,000 / 1,000, peak RSS at 100,000",
                     "100,000 tasks not measured in this run", None))
    loky = results.get("local_vs_loky")
    if loky:
        ratio = loky["ratio_local_over_loky"]
        rows.append(("local scheduler / loky, julearn cross-validation",
                     f"{ratio:.2f} (target <= 1.1; measured {loky.get('measured', '?')})",
                     ratio <= 1.1))
    warm = results.get("warm_call")
    if warm:
        local, loky_s = warm["median_s"]["local"], warm["median_s"]["loky"]
        rows.append(("warm `Parallel` call of 4 trivial tasks, local scheduler (s)",
                     f"{local:.3f} (target <= {warm['target_s']}; loky {loky_s:.3f}; "
                     f"measured {warm.get('measured', '?')})", local <= warm["target_s"]))
    data = results.get("data_transfer")
    if data:
        rows.append(("shared-directory bytes at most 1.1x the data",
                     f"{data['ours_bytes_over_data']}x (measured {data.get('measured', '?')})",
                     data["target_met"]))
    cpp = results.get("cpp")
    if cpp and cpp.get("parse_events_per_s_min"):
        rows.append(("event-log parsing above 1 M events/s",
                     f"{cpp['parse_events_per_s_min'] / 1e6:.2f} M events/s (slowest case; "
                     f"measured {cpp.get('measured', '?')})", cpp.get("parse_target_met")))
    if not rows:
        return []
    return ["| target | figure | |", "|---|---|---|"] + [
        f"| {name} | {figure} | {'not measured' if flag is None else _yes(flag)} |"
        for name, figure, flag in rows] + [""]


def _run(results: dict) -> list[str]:
    m = results["machine"]
    v = ", ".join(f"{k} {val}" for k, val in m["versions"].items())
    note = f" {results['note'].rstrip('.')}." if results.get("note") else ""
    return [f"Report written {results['date']}, commit {m['commit']}. Machine: {m['cpu']}, "
            f"{m['cores']} cores, {m['os']}; load average at report "
            f"{', '.join(f'{x:.1f}' for x in m['load_average_at_report'])}.{note} "
            f"Versions: {v}. Pool: {results.get('pool_used')}. Reproduce: `bench/run_all` "
            "(as root, testbed pool up).", ""]


def sections(results: dict) -> dict[str, list[str]]:
    """Every generated block, by the name bench/tables.py finds between its markers."""
    out = {"run": _run(results), "targets": _targets(results)}
    renderers = (("cpp", _cpp), ("local_vs_loky", _loky), ("warm_call", _warm),
                 ("data_transfer", _data),
                 ("pool", _pool), ("scale", _scale))
    for name, render in renderers:
        part = results.get(name)
        out[name] = render(part) if part else [
            "Not measured (skipped or failed; see build/bench/raw/).", ""]
    out["events"] = (_events(results["pool"]) if results.get("pool") else None) or [
        "Not measured (no pool part in this run).", ""]
    return out


def markdown(results: dict) -> str:
    parts = sections(results)
    titles = [("targets", "Targets of issues 8 and 18"), ("pool", "Trivial tasks on the pool"),
              ("scale", "Scale: 1,000 to 100,000 tasks"), ("events", "Where the time went"),
              ("local_vs_loky", "Local scheduler against loky"),
              ("warm_call", "A warm Parallel call: local scheduler against loky"),
              ("data_transfer", "Shared-directory bytes"), ("cpp", "C++ micro-benchmarks")]
    lines = ["# Benchmark results", ""] + parts["run"]
    for name, title in titles:
        if name in parts:
            lines += [f"## {title}", ""] + parts[name]
    return "\n".join(lines) + "\n"
