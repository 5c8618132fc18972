"""``python -m joblib_htcondor.cleanup --path DIR``: clean up after dead runs.

Removes from the scheduler the jobs of every batch in the shared data directory
``DIR`` whose submitting process is dead (and the jobs those jobs started),
deletes those batches' directories and collects the store's unreferenced data.
Batches of live runs are left alone. The same happens at the start of every run;
this command is for a directory no run will use again, or for a cron job.

A killed run with ``resume=True`` waits ``resume_grace`` seconds (default 1800)
for a rerun to adopt its jobs, and the start of other runs leaves it alone
meanwhile; this command removes it at once, unless given ``--keep-resumable``.

A directory or owner file under ``DIR`` that another user owns, or that others
may write, is never trusted: the command refuses to run (exit status 1) and says
which path, its owner and mode; nothing is removed.

Exit status: 0 when done (also when there was nothing to do), 1 when refused,
2 for bad usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from ._errors import UnsafePathError
from ._recovery import recover


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m joblib_htcondor.cleanup",
                                     description=__doc__.split("\n\n")[1])
    parser.add_argument("--path", required=True, help="the shared_data_dir of the runs")
    parser.add_argument("--stale-after", type=float, default=3600, metavar="S",
                        help="age after which data without a live owner on another host "
                             "counts as dead (default 3600 s)")
    parser.add_argument("--keep-resumable", action="store_true",
                        help="leave killed resume=True runs within their resume_grace "
                             "alone, as the start of a run does (default: remove them)")
    parser.add_argument("--dry-run", action="store_true",
                        help="only list the dead batches")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if not path.is_dir():
        parser.error(f"--path {str(path)!r} is not a directory")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        summary = recover(path, stale_after_s=args.stale_after, dry_run=args.dry_run,
                          keep_resumable=args.keep_resumable)
    except UnsafePathError as error:
        print(f"joblib_htcondor.cleanup: refused, nothing removed: {error}", file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
