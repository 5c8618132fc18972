"""Size and time of the HTML run report at scale (issue 21: "usable at 100,000 tasks").

    .venv/bin/python bench/report/measure.py [--tasks 100000] [--batches 1000]

Writes a synthetic two-level journal (synthetic_journal.py) to a temporary directory,
then times ``python -m joblib_htcondor.ui --path DIR --report FILE`` end to end (a fresh
interpreter: imports, reading the journal in C++, drawing with matplotlib), and the model
alone (``_core.run_report_json``) in this process. Prints one line of figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from synthetic_journal import write_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=1000)
    args = parser.parse_args()
    from joblib_htcondor import _core

    with tempfile.TemporaryDirectory(prefix="jhtc-report-bench-") as tmp:
        shared = Path(tmp)
        write_run(shared / "journal", args.tasks, args.batches)
        journal_mb = sum(p.stat().st_size for p in (shared / "journal").rglob("*.jsonl")) / 1e6
        started = time.perf_counter()
        model = _core.run_report_json(str(shared / "journal"), "", time.time())
        model_s = time.perf_counter() - started
        out = shared / "run.html"
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "joblib_htcondor.ui", "--path", str(shared),
                        "--report", str(out)], check=True, capture_output=True)
        total_s = time.perf_counter() - started
        print(f"{args.tasks} tasks in {args.batches} batches, journal {journal_mb:.0f} MB: "
              f"model {model_s:.2f} s ({len(model) / 1e3:.0f} kB of JSON), report written "
              f"in {total_s:.2f} s end to end, {out.stat().st_size / 1e6:.2f} MB of HTML")


if __name__ == "__main__":
    main()
