"""Terminal UI over the metadata journals of joblib_htcondor runs.

``python -m joblib_htcondor.ui --path /data/project/supercool_research`` replaces
itself with the compiled ``jhtc-monitor`` (ncurses) shipped in
``joblib_htcondor/bin``; every argument is passed on (``--summary`` prints the
figures once as plain text, ``--help`` lists the rest). The journals are written
by runs with ``export_metadata=True`` under ``<shared_data_dir>/journal``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: Names a ``jhtc-monitor`` to run instead of the packaged one (a development build).
MONITOR_ENV = "JHTC_MONITOR"


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


def main(argv: list[str] | None = None) -> int:
    """Exec ``jhtc-monitor`` with ``argv``; returns only when it cannot be started."""
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        exe = monitor_executable()
    except FileNotFoundError as err:
        print(f"joblib_htcondor.ui: {err}", file=sys.stderr)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(exe, [str(exe), *args])
    return 0  # not reached: execv replaces the process or raises OSError


if __name__ == "__main__":
    sys.exit(main())
