"""The run report as one self-contained HTML file: a thin layer over the C++ model.

``_core.run_report_json`` computes everything (bars, bins, concurrency, usage,
failures; ``include/jhtc/run_report.hpp``); this module only draws it with
matplotlib's SVG backend and inlines the SVG. The page loads nothing: no script,
no font, no image from anywhere (docs/monitor.md says why matplotlib).

matplotlib is the optional extra ``joblib-htcondor[report]``; it is imported only
when a report is written, and its absence is a :class:`ReportDependencyError`
naming the extra.
"""

from __future__ import annotations

import html
import io
import json
import time
from pathlib import Path
from typing import Any

from ._errors import JoblibHTCondorError

#: Colour of each job outcome (Okabe-Ito: told apart with the common colour blindnesses).
OUTCOME_COLORS = {
    "done": "#009E73",
    "failed": "#D55E00",
    "held_retried": "#E69F00",
    "retried": "#CC79A7",
    "cancelled": "#999999",
    "unfinished": "#0072B2",
}
OUTCOME_LABELS = {
    "done": "done",
    "failed": "failed",
    "held_retried": "held, retried",
    "retried": "retried (not held)",
    "cancelled": "cancelled",
    "unfinished": "still queued or running",
}


class ReportDependencyError(JoblibHTCondorError, ImportError):
    """Raised when the report is asked for and matplotlib (the ``report`` extra) is missing."""


def _pyplot_free_matplotlib():
    try:
        import matplotlib
        import matplotlib.collections  # noqa: F401  (used as matplotlib.collections.*)
        import matplotlib.patches  # noqa: F401
        import matplotlib.ticker  # noqa: F401
        from matplotlib.backends.backend_svg import FigureCanvasSVG
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError as err:
        raise ReportDependencyError(
            "the HTML report draws its charts with matplotlib, which is not installed: "
            "pip install 'joblib-htcondor[report]' (or pip install matplotlib)") from err
    return matplotlib, FigureCanvasSVG, Figure, FuncFormatter


def load_report(journal_dir: str, root_batch_id: str = "", now: float | None = None,
                **options: int) -> dict[str, Any]:
    """Read a run's journals and return the report model as a dict (see docs/monitor.md).

    Raises
    ------
    ValueError
        When ``journal_dir`` holds no run, or not ``root_batch_id``.
    """
    from . import _core

    raw = _core.run_report_json(journal_dir, root_batch_id,
                                time.time() if now is None else now, **options)
    # A scheduler's reason may carry bytes that are not UTF-8: shown, not fatal.
    return json.loads(raw.decode("utf-8", errors="replace"))


def write_report(journal_dir: str, out: str | Path, root_batch_id: str = "") -> dict[str, Any]:
    """Write the HTML report of one run (the newest when ``root_batch_id`` is empty) to ``out``.

    The model is computed first, so a missing matplotlib is reported before anything
    is read, and nothing is written unless the whole page was drawn. Returns the model.
    """
    _pyplot_free_matplotlib()
    report = load_report(journal_dir, root_batch_id)
    page = render_html(report)
    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(out)
    return report


# ---------------------------------------------------------------- formatting

def _duration(seconds: float) -> str:
    """"3 d 4 h", "2 h 03 min", "10 min 15 s", "4.2 s": for a person, in words."""
    if seconds < 60:
        return f"{max(seconds, 0):.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    whole = int(round(seconds))
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


def _tick_step(span: float) -> float:
    """Seconds between time ticks: a step a clock reads well, about 6-12 ticks."""
    for step in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
                 21600, 43200, 86400):
        if span / step <= 12:
            return step
    return 86400 * max(1, round(span / 86400 / 10))


def _clock_axis(span: float) -> tuple[str, Any]:
    """Tick label format for a time axis of ``span`` seconds: (its name, formatter)."""
    if span >= 3 * 3600:
        return "h:mm", lambda x: f"{int(x // 3600)}:{int(x % 3600 // 60):02d}"
    return "m:ss", lambda x: f"{int(x // 60)}:{int(x % 60):02d}"


def _clock(ts: float) -> str:
    if ts <= 0:
        return "unknown"
    return time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(ts))


def _bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


# ---------------------------------------------------------------- charts

class _Charts:
    """Draws each chart as an inline ``<svg>`` (matplotlib, no pyplot: no global state)."""

    def __init__(self, report: dict[str, Any]) -> None:
        self.mpl, self.canvas, self.figure_class, formatter = _pyplot_free_matplotlib()
        self.report = report
        self.span = max(report["t1"] - report["t0"], 1e-9)
        self.time_unit, tick = _clock_axis(self.span)
        self.time_axis = formatter(lambda x, _pos: tick(x))
        self.rc = {"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                   "axes.spines.right": False, "svg.hashsalt": "jhtc-report"}

    def svg(self, fig) -> str:
        buf = io.StringIO()
        self.canvas(fig).print_svg(buf, metadata={"Date": None})
        text = buf.getvalue()
        return text[text.index("<svg"):]  # drop the XML prolog and DOCTYPE inside HTML

    def _time_x(self, ax) -> None:
        ax.set_xlim(0, self.span)
        ax.xaxis.set_major_locator(self.mpl.ticker.MultipleLocator(_tick_step(self.span)))
        ax.xaxis.set_major_formatter(self.time_axis)

    def timeline(self) -> str:
        levels = self.report["levels"]
        with self.mpl.rc_context(self.rc):
            heights = [self._band_height(lv) for lv in levels]
            fig = self.figure_class(figsize=(11, sum(heights) + 0.9), layout="constrained")
            axes = fig.subplots(len(levels), 1, sharex=True, squeeze=False,
                                height_ratios=heights)[:, 0]
            for ax, level in zip(axes, levels):
                if level["binned"]:
                    self._binned_band(ax, level)
                else:
                    self._bar_band(ax, level)
                ax.set_ylabel(f"level {level['level']}", rotation=0, ha="right", va="center",
                              fontweight="bold")
                ax.set_gid(f"band-level-{level['level']}")
                self._time_x(ax)
            axes[-1].set_xlabel(f"time since the run started ({self.time_unit})")
            handles = [self.mpl.patches.Patch(color=OUTCOME_COLORS[k], label=OUTCOME_LABELS[k])
                       for k in OUTCOME_COLORS]
            handles.append(self.mpl.patches.Patch(color="#bbbbbb", label="waiting (queued, idle)"))
            fig.legend(handles=handles, loc="outside upper center", ncols=7, frameon=False)
            return self.svg(fig)

    @staticmethod
    def _band_height(level: dict[str, Any]) -> float:
        if level["binned"]:
            return 1.8
        return min(4.0, max(0.7, 0.25 + 0.11 * level["lanes"]))

    def _bar_band(self, ax, level: dict[str, Any]) -> None:
        waiting, running = [], {k: [] for k in OUTCOME_COLORS}
        ends = {k: [] for k in OUTCOME_COLORS}  # where each job ended (held before running too)
        for bar in level["bars"]:
            end = self.span if bar["end"] is None else bar["end"]
            start_run = end if bar["running"] is None else bar["running"]
            lane = bar["lane"]
            if start_run > bar["queued"]:
                waiting.append((bar["queued"], start_run, lane))
            if bar["running"] is not None:
                running[bar["outcome"]].append((start_run, end, lane))
            if bar["end"] is not None:
                ends[bar["outcome"]].append((end, lane))
        min_width = self.span / 400  # a job of a blink still shows
        for spans, color, alpha in [(waiting, "#bbbbbb", 0.8)] + [
                (running[k], OUTCOME_COLORS[k], 1.0) for k in OUTCOME_COLORS]:
            if not spans:
                continue
            # One collection per colour: an Axes.barh of thousands of patches takes seconds.
            boxes = [[(a, y - 0.4), (a, y + 0.4), (max(b, a + min_width), y + 0.4),
                      (max(b, a + min_width), y - 0.4)] for a, b, y in spans]
            ax.add_collection(self.mpl.collections.PolyCollection(
                boxes, facecolors=color, alpha=alpha, linewidths=0, antialiaseds=False))
        # The end of a job that did not finish well gets a mark: short ones are slivers.
        for outcome, marker in (("failed", "X"), ("held_retried", "v"), ("retried", "v"),
                                ("cancelled", "s")):
            if ends[outcome]:
                ax.scatter([e[0] for e in ends[outcome]], [e[1] - 0.45 for e in ends[outcome]],
                           marker=marker,
                           s=28, color=OUTCOME_COLORS[outcome], edgecolors="#333333",
                           linewidths=0.4, zorder=3, clip_on=False)
        ax.set_ylim(level["lanes"] - 0.4, -0.6)
        ax.set_yticks([])
        ax.text(1.0, 1.0, f"{level['jobs']} jobs of {level['tasks']} tasks, "
                f"{level['batches']} batch{'es' if level['batches'] != 1 else ''}",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#555555")

    def _binned_band(self, ax, level: dict[str, Any]) -> None:
        bins = level["outcome_bins"]
        width = self.report["bin_s"]
        edges = [i * width for i in range(len(bins) + 1)]
        bottom = [0.0] * len(bins)
        for key, color in OUTCOME_COLORS.items():
            values = [b["running"][key] for b in bins]
            if any(values):
                top = [a + b for a, b in zip(bottom, values)]
                ax.fill_between(edges, bottom + bottom[-1:], top + top[-1:], step="post",
                                color=color, linewidth=0)
                bottom = top
        ax.set_ylim(0, max(bottom + [1]) * 1.1)
        ax.text(1.0, 1.0, f"{level['jobs']} jobs of {level['tasks']} tasks, binned: "
                f"jobs running (average over {_duration(width)}) by outcome",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color="#555555")

    def concurrency(self) -> str:
        levels = self.report["levels"]
        width = self.report["bin_s"]
        with self.mpl.rc_context(self.rc):
            fig = self.figure_class(figsize=(11, 1.6 * len(levels) + 0.8), layout="constrained")
            axes = fig.subplots(len(levels), 1, sharex=True, squeeze=False)[:, 0]
            for ax, level in zip(axes, levels):
                c = level["concurrency"]
                x = [i * width for i in range(len(c["running"]) + 1)]

                def steps(values):
                    return list(values) + [values[-1] if values else 0]

                in_scheduler = c["in_scheduler"]
                ax.fill_between(x, steps(c["running"]), step="post", color="#0072B2",
                                alpha=0.85, linewidth=0, label="running")
                ax.fill_between(x, steps(c["running"]), steps(in_scheduler), step="post",
                                color="#56B4E9", alpha=0.6, linewidth=0,
                                label="idle in the scheduler")
                ax.step(x, steps(c["queued"]), where="post", color="#333333", linewidth=1,
                        label="queued in the engine")
                ax.step(x, steps(c["capacity"]), where="post", color="#D55E00", linewidth=1.2,
                        linestyle="--", label="throttle (sum over the level's live batches)")
                ax.set_ylabel(f"level {level['level']}\njobs", rotation=0, ha="right",
                              va="center")
                ax.set_ylim(bottom=0)
                ax.yaxis.set_major_locator(self.mpl.ticker.MaxNLocator(nbins=4, integer=True))
                self._time_x(ax)
            axes[-1].set_xlabel(f"time since the run started ({self.time_unit}); each step "
                                f"is the most at any moment of {_duration(width)}")
            axes[0].legend(loc="upper right", fontsize=8, frameon=False, ncols=4,
                           bbox_to_anchor=(1.0, 1.35))
            return self.svg(fig)

    def memory(self, level: dict[str, Any]) -> str:
        use = level["usage"]
        with self.mpl.rc_context(self.rc):
            fig = self.figure_class(figsize=(5.2, 2.4), layout="constrained")
            ax = fig.subplots()
            w = use["memory_bin_mb"]
            counts = use["memory_counts"]
            ax.bar([i * w for i in range(len(counts))], counts, width=w, align="edge",
                   color="#0072B2", linewidth=0)
            for request in use["request_memory_mb"]:
                ax.axvline(request, color="#D55E00", linestyle="--", linewidth=1.2)
                ax.text(request, 1.0, f" request {request} MB", color="#D55E00", fontsize=8,
                        transform=ax.get_xaxis_transform(), va="top")
            ax.set_xlabel("peak memory per job (MB)")
            ax.set_ylabel("jobs")
            ax.set_title(f"level {level['level']}", fontsize=9, loc="left")
            return self.svg(fig)


# ---------------------------------------------------------------- page

# The page may load nothing: a browser refuses (and logs) any fetch or script.
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px 32px;
color:#222;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
.state{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;color:#fff;
background:#0072B2;vertical-align:middle}.state.done{background:#009E73}
.state.failed,.state.dead{background:#D55E00}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px 3px 0;text-align:left;
vertical-align:top}th{color:#555;font-weight:600}
table.facts td:first-child{color:#555;padding-right:18px}
table.rows{width:100%}table.rows tr{border-bottom:1px solid #eee}
table.rows td.reason{font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;
word-break:break-word}
tr.held_retried td.kind{color:#B36B00;font-weight:600}
tr.failed td.kind{color:#D55E00;font-weight:600}
svg{max-width:100%;height:auto}.note{color:#666;font-size:12px}
.usage{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
"""


def _facts(report: dict[str, Any]) -> str:
    h = report["header"]
    end = (_clock(h["end_ts"]) if h["finished"]
           else f"still running (report taken {_clock(h['generated_ts'])})")
    requests = ", ".join(
        f"{label} {h[key]}{unit}" for key, label, unit in [
            ("request_cpus", "cpus", ""), ("request_memory_mb", "memory", " MB"),
            ("request_gpus", "gpus", "")] if h[key] > 0) or "not in the journal"
    calls = f" holding {h['calls']} calls" if h.get("calls") else ""
    rows = [
        ("root batch", h["root_batch_id"]),
        ("scheduler, host", f"{h['scheduler'] or 'unknown'} on {h['host'] or 'unknown'}"),
        ("started", _clock(h["start_ts"])),
        ("ended", end),
        ("elapsed", _duration(h["elapsed_s"])),
        ("levels, throttle per batch",
         ", ".join(f"L{i}: {t}" for i, t in enumerate(h["throttle"])) or "none"),
        ("requests (root batch)", requests),
        ("tasks, jobs", f"{h['tasks']} tasks{calls} in {h['batches']} batches ran as "
                        f"{h['jobs']} jobs "
                        f"({_plural(h['retries'], 'retry', 'retries')}); "
                        f"{_plural(h['failed_tasks'], 'task', 'tasks')} failed"),
        ("shared directory", f"{_bytes(h['bytes_held'])} held now, "
                             f"{_bytes(h['peak_bytes_held'])} at most"),
    ]
    if h["corrupt_lines"]:
        rows.append(("journal", f"{h['corrupt_lines']} corrupt lines skipped"))
    body = "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>" for k, v in rows)
    return f'<table class="facts" id="header">{body}</table>'


def _usage_section(report: dict[str, Any], charts: _Charts) -> str:
    with_usage = [lv for lv in report["levels"] if lv["usage"]["jobs"]]
    if not with_usage:
        return ('<p class="note" id="usage-none">No usage figures in this journal (runs '
                "write them with each finished job; older journals lack them).</p>")
    rows = "".join(
        f"<tr><td>level {lv['level']}</td><td>{lv['usage']['jobs']} of {lv['jobs']}</td>"
        f"<td>{lv['usage']['cpu_hours']:.2f}</td><td>{lv['usage']['core_hours']:.2f}</td>"
        f"<td>{lv['usage']['wall_hours']:.2f}</td><td>{lv['usage']['peak_memory_mb']} MB</td>"
        f"<td>{', '.join(str(r) for r in lv['usage']['request_memory_mb']) or '?'} MB</td>"
        f"<td>{lv['usage']['over_request']}</td></tr>" for lv in with_usage)
    table = ("<table class=\"rows\"><tr><th>level</th><th>jobs with figures</th>"
             "<th>CPU hours used</th><th>core-hours allocated</th><th>wall hours</th>"
             "<th>largest peak memory</th><th>request_memory</th><th>jobs over request</th>"
             f"</tr>{rows}</table>")
    histograms = "".join(charts.memory(lv) for lv in with_usage if lv["usage"]["memory_counts"])
    return f'{table}<div class="usage">{histograms}</div>'


def _failures_section(report: dict[str, Any]) -> str:
    failures = report["failures"]
    if not failures:
        return '<p class="note" id="failures-none">No job failed, was held or was retried.</p>'
    kinds = {"failed": "failed", "held_retried": "held, retried", "retried": "retried"}
    rows = []
    for f in failures:
        code = "" if f["hold_code"] < 0 else f"{f['hold_code']}/{f['hold_subcode']}"
        rows.append(
            f'<tr class="{_esc(f["outcome"])}"><td title="{_clock(f["ts"])}">'
            f'{time.strftime("%H:%M:%S", time.localtime(f["ts"]))}</td>'
            f"<td>{f['level']}</td><td>{_esc(f['batch'])}</td><td>{f['task']}</td>"
            f"<td>{f['attempt']}</td><td>{_esc(f['job'] or '-')}</td>"
            f'<td class="kind">{kinds.get(f["outcome"], _esc(f["outcome"]))}</td>'
            f'<td>{code}</td><td class="reason">{_esc(f["reason"])}</td></tr>')
    more = (f'<p class="note">{report["failures_omitted"]} later rows not listed.</p>'
            if report["failures_omitted"] else "")
    return ('<table class="rows" id="failures"><tr><th>at</th><th>level</th><th>batch</th>'
            "<th>task</th><th>attempt</th><th>job</th><th>what</th><th>hold code</th>"
            f"<th>HTCondor's reason</th></tr>{''.join(rows)}</table>{more}")


def render_html(report: dict[str, Any]) -> str:
    """The whole page as one string: inline CSS and SVG, no script, nothing fetched."""
    h = report["header"]
    charts = _Charts(report)
    has_levels = bool(report["levels"])
    timeline = charts.timeline() if has_levels else '<p class="note">No jobs yet.</p>'
    concurrency = charts.concurrency() if has_levels else ""
    state = h["state"] or "unknown"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>joblib_htcondor run {_esc(h['root_batch_id'])}</title>
<style>{_CSS}</style></head><body>
<h1>Run {_esc(h['root_batch_id'])} <span class="state {_esc(state)}">{_esc(state)}</span></h1>
{_facts(report)}
<h2>Timeline: one band per recursion level</h2>
<p class="note">Each job (one attempt of a task) is a bar: grey while it waits, then coloured by
how it ended while it runs. Rows are reused once a job ends; the bands share one time axis.</p>
<div id="timeline">{timeline}</div>
<h2>Concurrency</h2>
<div id="concurrency">{concurrency}</div>
<h2>Resource use</h2>
{_usage_section(report, charts)}
<h2>Failures, holds and retries</h2>
{_failures_section(report)}
<p class="note">Written by joblib_htcondor from the journal under the shared data directory;
times in the report's local zone.</p>
</body></html>
"""
