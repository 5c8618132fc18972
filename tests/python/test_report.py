"""The HTML run report (`--report`), from synthetic journals: what the page holds, that
it loads nothing, how it fails, and its size at 100,000 tasks. The report of a real run
on the pool, in headless Chromium, is test_report_real_run.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from chromium_page import open_page
from joblib_htcondor import _core, ui
from joblib_htcondor._report import ReportDependencyError, load_report, write_report

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench" / "report"))
from synthetic_journal import write_run  # noqa: E402

# Anything a page could fetch: src/href/url() not pointing inside the page itself.
OUTSIDE_REFERENCE = re.compile(r"""(?:\ssrc|\shref|xlink:href)\s*=\s*["'](?!#|data:)|url\((?!#)""")


def report_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "joblib_htcondor.ui", *args],
                          capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory) -> Path:
    """A finished two-level run: 4 parents of 50 children, some held and retried, some failed."""
    shared = tmp_path_factory.mktemp("shared")
    write_run(shared / "journal", tasks=400, batches=4, seed=3, root="small", hold_rate=0.02,
              fail_rate=0.02)
    return shared


@pytest.fixture(scope="module")
def small_report(small_run, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("out") / "run.html"
    result = report_cli("--path", str(small_run), "--report", str(out))
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    return out


def test_report_has_a_band_per_level_the_failure_rows_and_the_header(small_report, small_run):
    page = small_report.read_text()
    model = load_report(str(small_run / "journal"))
    assert [lv["level"] for lv in model["levels"]] == [0, 1]
    for level in (0, 1):
        assert f'id="band-level-{level}"' in page
    held = [f for f in model["failures"] if f["outcome"] == "held_retried"]
    failed = [f for f in model["failures"] if f["outcome"] == "failed"]
    assert held and failed, "the synthetic run holds and fails some jobs"
    assert page.count('<tr class="held_retried">') == len(held)
    assert page.count('<tr class="failed">') == len(failed)
    assert f"<td>{held[0]['job']}</td>" in page
    assert "HoldReasonCode 34" in page
    assert 'id="header"' in page and "Run small" in page
    assert model["header"]["tasks"] == 404  # 4 parents and their 400 children
    assert "404 tasks holding 404 calls in 5 batches" in page
    assert model["header"]["request_memory_mb"] == 2048
    assert model["levels"][1]["usage"]["jobs"] == model["levels"][1]["jobs"]


def test_report_is_self_contained(small_report):
    page = small_report.read_text()
    assert "<script" not in page.lower()
    assert "Content-Security-Policy" in page
    assert not OUTSIDE_REFERENCE.search(page), OUTSIDE_REFERENCE.search(page)


def test_report_opens_in_headless_chromium_without_console_messages(small_report, tmp_path):
    page = open_page(small_report, tmp_path / "shot.png")
    assert page.console == []
    assert 'id="band-level-0"' in page.dom and 'id="band-level-1"' in page.dom
    assert 'class="held_retried"' in page.dom
    assert (tmp_path / "shot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_console_check_catches_a_page_that_fetches_or_throws(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                   "content=\"default-src 'none'\"></head><body><p>x</p>"
                   '<img src="http://example.invalid/x.png"></body></html>')
    thrower = tmp_path / "thrower.html"
    thrower.write_text("<!DOCTYPE html><html><body><script>no_such_function()</script>"
                       "</body></html>")
    assert any("Content Security Policy" in m for m in open_page(bad, tmp_path / "a.png").console)
    assert any("no_such_function" in m for m in open_page(thrower, tmp_path / "b.png").console)


def test_report_of_a_run_still_going_ends_at_now_with_open_jobs(tmp_path):
    journal = tmp_path / "journal"
    writer = _core.JournalWriter(str(journal), "live", "", "live", 0, 2, "htcondor")
    writer.task_queued(0)
    writer.task_submitted(0, "5.0")
    writer.task_running(0, "5.0")
    writer.task_queued(1)
    out = tmp_path / "live.html"
    assert report_cli("--path", str(tmp_path), "--report", str(out)).returncode == 0
    model = load_report(str(journal))
    assert model["header"]["finished"] is False
    assert [b["outcome"] for b in model["levels"][0]["bars"]] == ["unfinished", "unfinished"]
    assert "still running" in out.read_text()


def test_missing_matplotlib_names_the_report_extra_and_writes_nothing(small_run, tmp_path,
                                                                     monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    out = tmp_path / "never.html"
    with pytest.raises(ReportDependencyError, match=r"joblib-htcondor\[report\]"):
        write_report(str(small_run / "journal"), out)
    assert ui.main(["--path", str(small_run), "--report", str(out)]) == 2
    assert "joblib-htcondor[report]" in capsys.readouterr().err
    assert not out.exists()


def test_bad_arguments_name_the_parameter(small_run, tmp_path):
    missing = report_cli("--path", str(tmp_path / "nope"), "--report", str(tmp_path / "a.html"))
    assert missing.returncode == 2
    assert "--path" in missing.stderr and "not a directory" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = report_cli("--path", str(tmp_path / "empty"), "--report", str(tmp_path / "a.html"))
    assert empty.returncode == 2 and "no runs" in empty.stderr
    unknown = report_cli("--path", str(small_run), "--root", "nope", "--report",
                         str(tmp_path / "a.html"))
    assert unknown.returncode == 2 and "--root 'nope'" in unknown.stderr
    assert "no run with root batch nope" in unknown.stderr and "runs there: small" in unknown.stderr
    unwritable = report_cli("--path", str(small_run), "--report", str(tmp_path / "no" / "a.html"))
    assert unwritable.returncode == 2 and "--report" in unwritable.stderr
    assert not list(tmp_path.rglob("*.html"))


def test_jhtc_monitor_report_hands_over_to_python(small_run, tmp_path):
    monitor = str(ui.monitor_executable())
    out = tmp_path / "from-monitor.html"
    env = dict(os.environ, JHTC_PYTHON=sys.executable)
    result = subprocess.run([monitor, "--path", str(small_run), "--report", str(out)],
                            capture_output=True, text=True, timeout=300, env=env)
    assert result.returncode == 0, result.stderr
    assert 'id="band-level-1"' in out.read_text()
    env["JHTC_PYTHON"] = str(tmp_path / "no-python")
    broken = subprocess.run([monitor, "--path", str(small_run), "--report", str(out)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert broken.returncode == 2
    assert "JHTC_PYTHON" in broken.stderr and "no-python" in broken.stderr


def test_report_of_100k_tasks_is_binned_and_stays_under_3_mb(tmp_path):
    write_run(tmp_path / "journal", tasks=100_000, batches=1000, seed=1)
    out = tmp_path / "big.html"
    started = time.perf_counter()
    result = report_cli("--path", str(tmp_path), "--report", str(out))
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    size = out.stat().st_size
    print(f"[figure] report of 100,000 tasks in 1,000 batches: {size / 1e6:.2f} MB "
          f"in {seconds:.1f} s (journal "
          f"{sum(p.stat().st_size for p in (tmp_path / 'journal').rglob('*.jsonl')) / 1e6:.0f} MB)")
    assert size < 3_000_000
    model = json.loads(_core.run_report_json(str(tmp_path / "journal"), "", time.time()))
    level1 = model["levels"][1]
    assert level1["binned"] and not level1["bars"]
    assert sum(sum(b["ended"].values()) for b in level1["outcome_bins"]) == level1["jobs"]
