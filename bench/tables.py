"""Writes the generated blocks of README.md and docs/benchmarks.md from results.json.

    .venv/bin/python bench/tables.py bench/results/results.json README.md docs/benchmarks.md
    .venv/bin/python bench/tables.py RESULTS_JSON --check-only   # renders, writes nothing

A block is the text between

    <!-- bench:begin NAME -->
    <!-- bench:end NAME -->

and is replaced, whole, by the section NAME of bench/report_md.py (run, targets, pool,
scale, events, local_vs_loky, warm_call, data_transfer, cpp). Nothing between the markers is kept,
so no figure there is typed by hand. A file whose markers do not pair, or that names a
section that does not exist, is refused (exit 2) and left unchanged.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report_md import sections  # noqa: E402

BLOCK = re.compile(r"(<!-- bench:begin (\S+) -->\n)(.*?)(<!-- bench:end (\S+) -->)", re.S)


def fill(text: str, blocks: dict[str, list[str]], where: str) -> str:
    begins = re.findall(r"<!-- bench:begin (\S+) -->", text)
    ends = re.findall(r"<!-- bench:end (\S+) -->", text)
    if begins != ends:
        raise ValueError(f"{where}: bench:begin markers {begins} do not pair with "
                         f"bench:end markers {ends}")

    def replace(match: re.Match) -> str:
        name = match.group(2)
        if name != match.group(5):
            raise ValueError(f"{where}: block {name!r} ends with {match.group(5)!r}")
        if name not in blocks:
            raise ValueError(f"{where}: no section {name!r}; known: {', '.join(sorted(blocks))}")
        body = "\n".join(blocks[name]).rstrip("\n")
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    results = json.loads(Path(argv[0]).read_text())
    blocks = sections(results)
    if argv[1:] == ["--check-only"]:
        return 0
    try:
        filled = {path: fill(Path(path).read_text(), blocks, path) for path in argv[1:]}
    except ValueError as error:
        print(f"bench/tables.py: {error}", file=sys.stderr)
        return 2
    for path, text in filled.items():
        Path(path).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
