"""Terminal UI over the metadata journals of joblib_htcondor runs.

``python -m joblib_htcondor.ui --path /data/project/supercool_research`` replaces
itself with the compiled ``jhtc-monitor`` (ncurses) shipped in
``joblib_htcondor/bin``; every argument is passed on (``--summary`` prints the
figures once as plain text, ``--help`` lists the rest). The journals are written
by runs with ``export_metadata=True`` under ``<shared_data_dir>/journal``.

``--report FILE`` writes the run report, one self-contained HTML file, instead
(``python -m joblib_htcondor.ui --path DIR --report run.html [--root ID]``); it
needs the ``report`` extra (matplotlib). ``jhtc-monitor --report`` comes here.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ._layout import SharedLayout

#: Names a ``jhtc-monitor`` to run instead of the packaged one (a development build).
MONITOR_ENV = "JHTC_MONITOR"
#: The interpreter ``jhtc-monitor --report`` hands the report to (set when we exec it).
PYTHON_ENV = "JHTC_PYTHON"


def monitor_executable() -> Path:
    """Return the ``jhtc-monitor`` to run.

    Looks at ``$JHTC_MONITOR``, then the package's ``bin/``. ``PATH`` is not
    searched: the ``jhtc-monitor`` found there is the console script that runs
    this module.

    Raises
    ------
    FileNotFoundError
        When neither holds an executable ``jhtc-monitor``: the package was built
        from source where ncurses' headers were missing (the build then leaves the
        monitor out and says so), or ``$JHTC_MONITOR`` is wrong.
    """
    override = os.environ.get(MONITOR_ENV)
    if override:
        if os.access(override, os.X_OK) and Path(override).is_file():
            return Path(override)
        raise FileNotFoundError(
            f"${MONITOR_ENV} names {override!r}, which is not an executable file")
    packaged = Path(__file__).resolve().parent / "bin" / "jhtc-monitor"
    if os.access(packaged, os.X_OK) and packaged.is_file():
        return packaged
    raise FileNotFoundError(
        f"this installation has no jhtc-monitor (looked for {packaged}): it was built from "
        "source without the ncurses headers, so the terminal monitor was left out. Install "
        "the binary wheel, or the ncurses headers (Debian: libncurses-dev, RHEL: "
        "ncurses-devel) and reinstall joblib_htcondor; the journals stay readable meanwhile"
    )


def _journal_dir(path: str) -> str:
    """``--path`` names the shared data directory (journals in its journal/) or a journal dir."""
    nested = SharedLayout.of(path).journal
    return str(nested) if nested.is_dir() else path


def write_report_main(argv: list[str]) -> int:
    """``--path DIR --report FILE [--root ID]``: write the HTML report; 0 on success."""
    parser = argparse.ArgumentParser(
        prog="python -m joblib_htcondor.ui",
        description="Write the report of one run as a self-contained HTML file.")
    parser.add_argument("--path", required=True,
                        help="the shared data directory (journals in DIR/journal) or a journal "
                             "directory")
    parser.add_argument("--report", required=True, metavar="FILE", help="the HTML file to write")
    parser.add_argument("--root", default="", metavar="ID",
                        help="the run's root batch id (default: the run that started last)")
    args = parser.parse_args(argv)
    if not Path(args.path).is_dir():
        print(f"joblib_htcondor.ui: --path {args.path!r} is not a directory", file=sys.stderr)
        return 2
    from ._report import ReportDependencyError, write_report

    try:
        report = write_report(_journal_dir(args.path), args.report, args.root)
    except ReportDependencyError as err:
        print(f"joblib_htcondor.ui: {err}", file=sys.stderr)
        return 2
    except ValueError as err:  # no such run
        where = f"--root {args.root!r}" if args.root else f"--path {args.path!r}"
        print(f"joblib_htcondor.ui: {where}: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"joblib_htcondor.ui: --report {args.report!r}: {err}", file=sys.stderr)
        return 2
    header = report["header"]
    print(f"wrote {args.report}: run {header['root_batch_id']} ({header['state']}), "
          f"{header['tasks']} tasks, {header['jobs']} jobs, {len(report['failures'])} "
          "failure rows")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Exec ``jhtc-monitor`` with ``argv`` (returns only when it cannot be started), or
    write the HTML report when ``--report`` is among the arguments."""
    args = sys.argv[1:] if argv is None else list(argv)
    if any(a == "--report" or a.startswith("--report=") for a in args):
        return write_report_main(args)
    try:
        exe = monitor_executable()
    except FileNotFoundError as err:
        print(f"joblib_htcondor.ui: {err}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ.setdefault(PYTHON_ENV, sys.executable)  # where its --report comes back to
    os.execv(exe, [str(exe), *args])
    return 0  # not reached: execv replaces the process or raises OSError


if __name__ == "__main__":
    sys.exit(main())
