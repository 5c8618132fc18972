"""bench/report.py and bench/tables.py: medians of interleaved runs, the ratios and
targets judged on them, and the generated blocks of the docs (no figure by hand)."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))
import report  # noqa: E402
import tables  # noqa: E402
from report_md import sections  # noqa: E402


def write_run(raw: Path, n: int, case: str, rep: int, wall: float, cpu: float = 1.0) -> None:
    fig = {"case": case, "tasks": n, "wall_s": wall, "cpu_s": cpu, "peak_rss_mb": 50.0,
           "load_average": [2.0 + rep, 1.0, 1.0], "reference_version": "0.2.3",
           "joblib_version": "1.4.2"}
    if case.startswith("reference-"):
        fig["poll_interval_s"] = 5 if case == "reference-default" else 0.1
    (raw / f"pool_{n}_{case}_r{rep}.json").write_text("noise\n" + json.dumps(fig) + "\n")


@pytest.fixture
def raw(tmp_path):
    walls = {"parallel-auto": [10, 30, 20], "parallel-batch1": [50, 40, 60],
             "raw-cluster": [40, 41, 39], "raw-worker-cluster": [45, 45, 45],
             "reference-default": [200, 210, 190], "reference-best": [100, 90, 110]}
    for case, values in walls.items():
        for rep, wall in enumerate(values, 1):
            write_run(tmp_path, 1000, case, rep, wall)
    return tmp_path


def test_cases_are_judged_on_the_median_of_their_runs(raw):
    part = report.pool_part(raw)
    row = part["tasks"]["1000"]
    assert part["reps"] == 3
    assert row["cases"]["parallel-auto"]["median"]["makespan_s"] == 20
    assert [r["makespan_s"] for r in row["cases"]["parallel-auto"]["runs"]] == [10, 30, 20]
    assert row["cases"]["parallel-auto"]["load_average_1min"] == [3.0, 4.0, 5.0]
    r = row["ratios"]
    assert r["auto_over_raw"] == 0.5
    assert r["reference_best_over_auto"] == 5.0
    assert r["reference_best_over_batch1"] == 2.0  # equal job counts
    assert r["reference_default_over_batch1"] == 4.0
    assert r["reference_best_over_raw"] == 2.5  # the bound of the equal-count ratio
    assert r["targets"]["auto_over_raw"]["met"] is True
    assert r["targets"]["reference_best_over_batch1"]["met"] is True
    polls = part["reference_poll_interval_s"]
    assert (polls["reference-default"], polls["reference-best"]) == (5, 0.1)


def test_a_failed_run_is_named_and_the_others_still_count(raw):
    (raw / "pool_1000_parallel-auto_r2.json").write_text("")
    (raw / "pool_1000_parallel-auto_r2.err").write_text("Traceback\nRuntimeError: schedd gone\n")
    fig = report.pool_part(raw)["tasks"]["1000"]["cases"]["parallel-auto"]
    assert fig["n_runs"] == 2 and fig["median"]["makespan_s"] == 15
    assert fig["errors"] == ["RuntimeError: schedd gone"]


def test_a_missed_target_is_reported_missed(tmp_path):
    for case, wall in (("parallel-auto", 30), ("raw-cluster", 40)):
        write_run(tmp_path, 1000, case, 1, wall)
    t = report.pool_part(tmp_path)["tasks"]["1000"]["ratios"]["targets"]
    assert t["auto_over_raw"] == {"value": 0.75, "bound": "<= 0.5", "met": False}


def scale_run(raw: Path, n: int, cpu: float, rss: float) -> None:
    fig = {"case": "scale-auto", "tasks": n, "wall_s": 1.0, "cpu_s": cpu, "peak_rss_mb": rss,
           "cpu_ms_per_task": cpu * 1000 / n, "jobs": 10, "journal_bytes": 2048,
           "journal_lines": 40, "monitor_summary_s": 0.1, "load_average": [1.0, 1.0, 1.0]}
    (raw / f"scale_{n}.json").write_text(json.dumps(fig) + "\n")


def test_scale_curve_and_targets(tmp_path):
    scale_run(tmp_path, 1000, 1.0, 60)
    scale_run(tmp_path, 100000, 130.0, 160)
    part = report.scale_part(tmp_path)
    assert part["cpu_per_task_over_smallest"] == {"1000": 1.0, "100000": 1.3}
    assert part["targets"]["cpu_per_task_100000_over_1000"]["met"] is False
    assert part["targets"]["peak_rss_mb_at_100000"]["met"] is False


def results_of(raw: Path) -> dict:
    return {"date": "d", "note": "shared by 7 engineers", "pool_used": "p",
            "machine": {"cpu": "c", "cores": 2, "os": "o", "commit": "abc",
                        "load_average_at_report": [1.0, 1.0, 1.0], "versions": {}},
            "pool": report.pool_part(raw)}


def test_blocks_are_replaced_whole_from_the_results(raw):
    text = ("intro\n<!-- bench:begin targets -->\nstale 18.7 s\n<!-- bench:end targets -->\n"
            "<!-- bench:begin run -->\n<!-- bench:end run -->\nend\n")
    out = tables.fill(text, sections(results_of(raw)), "README.md")
    assert "stale" not in out
    assert out.startswith("intro\n") and out.endswith("end\n")
    assert "| 1000 trivial tasks, automatic batching / raw cluster" in out
    assert "shared by 7 engineers" in out
    assert "joblib-htcondor 0.2.3 with joblib 1.4.2" in sections(results_of(raw))["pool"][0]
    assert tables.fill(out, sections(results_of(raw)), "README.md") == out  # idempotent


@pytest.mark.parametrize("text, message", [
    ("<!-- bench:begin pool -->\n", "do not pair"),
    ("<!-- bench:begin nope -->\nx\n<!-- bench:end nope -->\n", "no section 'nope'"),
])
def test_bad_markers_are_refused_naming_the_file(raw, text, message):
    with pytest.raises(ValueError, match=f"docs/benchmarks.md: .*{message}"):
        tables.fill(text, sections(results_of(raw)), "docs/benchmarks.md")


def test_tables_refuses_a_bad_file_and_leaves_it_unchanged(raw, tmp_path, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(results_of(raw)))
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- bench:begin run -->\nold\n")
    assert tables.main([str(results), str(doc)]) == 2
    assert doc.read_text() == "<!-- bench:begin run -->\nold\n"
    assert "do not pair" in capsys.readouterr().err


def warm_call_json(local: float) -> dict:
    return {"tasks": 4, "n_jobs": 2, "calls_per_repeat": 20, "repeats": 3,
            "repeat_medians_s": {"loky": [0.012, 0.011, 0.013], "local": [local] * 3},
            "median_s": {"loky": 0.012, "local": local}, "cold_s": {"loky": [0.5], "local": [0.4]},
            "ratio_local_over_loky": local / 0.012, "target_s": 0.1, "met": local <= 0.1,
            "load_average": [1.5, 1.0, 1.0]}


@pytest.mark.parametrize(("local", "verdict"), [(0.05, "met"), (0.4, "**missed**")])
def test_warm_call_gets_its_block_and_a_target_row(tmp_path, local, verdict):
    (tmp_path / "warm_call.json").write_text(json.dumps(warm_call_json(local)))
    results = results_of(tmp_path)
    results["warm_call"] = report.load_part(tmp_path, "warm_call", report.warm_call_part, {})
    blocks = sections(results)
    block = "\n".join(blocks["warm_call"])
    assert f"| htcondor, scheduler=\"local\" | {local:.3f} s |" in block
    assert "| loky | 0.012 s | 0.012, 0.011, 0.013 | 0.500 s |" in block  # repeat 1's first
    row = [line for line in blocks["targets"] if line.startswith("| warm `Parallel` call")]
    assert row and row[0].endswith(f"| {verdict} |")


def test_warm_call_not_run_says_so(tmp_path):
    assert sections(results_of(tmp_path))["warm_call"][0].startswith("Not measured")


def test_a_run_without_pool_parts_keeps_the_pool_of_the_kept_figures(raw, tmp_path, monkeypatch):
    monkeypatch.setenv("JHTC_TESTBED_PORT", "9641")
    previous = {"pool_used": "collector port 9637: the pool of the kept figures"}
    empty = tmp_path / "empty"
    empty.mkdir()
    assert report.pool_of_run(empty, previous) == previous["pool_used"]
    assert report.pool_of_run(raw, previous).startswith("collector port 9641")


def test_a_pool_run_of_one_count_keeps_the_other_counts_with_their_date(raw, monkeypatch):
    kept_100 = {**report.pool_part(raw)["tasks"]["1000"], "build": "HEAD old"}
    kept_100["ratios"] = {"auto_over_raw": 0.75}  # an older run's set: made again from the medians
    previous = {"pool": {"reps": 3, "measured": "2026-12-01 06:15 UTC",
                         "tasks": {"100": kept_100, "1000": {"cases": {}, "ratios": {}}}}}
    monkeypatch.setattr(report, "now", lambda: "2026-12-02 11:00 UTC")
    part = report.load_part(raw, "pool", report.pool_part, previous)
    assert list(part["tasks"]) == ["100", "1000"]
    assert part["tasks"]["100"]["ratios"]["auto_over_raw"] == 0.5
    assert part["tasks"]["100"]["ratios"]["reference_best_over_raw"] == 2.5
    assert part["tasks"]["100"]["build"] == "HEAD old"
    assert part["tasks"]["100"]["measured"] == "2026-12-01 06:15 UTC"
    # the count this run measured replaces the kept one whole
    assert part["tasks"]["1000"]["measured"] == "2026-12-02 11:00 UTC"
    assert part["tasks"]["1000"]["cases"]["parallel-auto"]["median"]["makespan_s"] == 20
    text = "\n".join(sections({**results_of(raw), "pool": part})["pool"])
    assert "100 tasks (3 of 3 runs per case, measured 2026-12-01 06:15 UTC)" in text
    assert "1000 tasks (3 of 3 runs per case, measured 2026-12-02 11:00 UTC)" in text
    assert "Each case was to run 3 times" in text


@pytest.mark.parametrize("name", ["cpp", "local_vs_loky", "warm_call", "data_transfer"])
def test_a_part_this_run_skipped_keeps_its_previous_figures(tmp_path, name):
    # The parts without a format key were dropped instead of kept: a run of the pool
    # alone erased the julearn and warm-call figures of the run before.
    kept = {"measured": "2026-12-02 11:35 UTC", "figure": 1.0}
    assert report.load_part(tmp_path, name, lambda raw: None, {name: kept}) == kept


def test_a_kept_part_of_an_older_format_is_dropped(tmp_path):
    old_pool = {"tasks": {}, "measured": "2026-11-01"}  # no "reps": an older format
    assert report.load_part(tmp_path, "pool", lambda raw: None, {"pool": old_pool}) is None
