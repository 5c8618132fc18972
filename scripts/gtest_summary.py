#!/usr/bin/env python3
"""Counts GoogleTest cases from the XML reports of a ctest run (GTEST_OUTPUT=xml:DIR/).

Prints one line of counts and one line per skipped or failed case, with the skip's
message (GTEST_SKIP() << "reason") or the failure's first line. Exit status 1 when a
case failed, when no report was found, or (--no-skips) when a case was skipped.

    python scripts/gtest_summary.py [--no-skips] DIR
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def summarize(directory: Path) -> tuple[dict[str, int], list[str], list[str]]:
    counts = {"binaries": 0, "passed": 0, "failed": 0, "skipped": 0}
    skipped: list[str] = []
    failed: list[str] = []
    for report in sorted(directory.glob("*.xml")):
        counts["binaries"] += 1
        for case in ET.parse(report).getroot().iter("testcase"):
            name = f"{report.stem}: {case.get('classname')}.{case.get('name')}"
            failure = case.find("failure")
            skip = case.find("skipped")
            if failure is not None:
                counts["failed"] += 1
                first_line = (failure.get("message") or "").splitlines()[:1]
                failed.append(f"FAILED  {name}: {' '.join(first_line)}")
            elif skip is not None or case.get("result") == "skipped":
                counts["skipped"] += 1
                reason = (skip.get("message") if skip is not None else "") or "(no reason)"
                reason = " ".join(reason.split())
                skipped.append(f"SKIPPED {name}: {reason}")
            else:
                counts["passed"] += 1
    return counts, skipped, failed


def main(argv: list[str]) -> int:
    no_skips = "--no-skips" in argv[1:]
    paths = [a for a in argv[1:] if a != "--no-skips"]
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    counts, skipped, failed = summarize(Path(paths[0]))
    print(
        "gtest: {passed} passed, {failed} failed, {skipped} skipped "
        "in {binaries} test binaries".format(**counts)
    )
    for line in skipped + failed:
        print(f"  {line}")
    if counts["binaries"] == 0:
        print("gtest: no XML report was written: no test binary ran", file=sys.stderr)
        return 1
    if counts["failed"] or (no_skips and counts["skipped"]):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
