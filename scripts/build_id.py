#!/usr/bin/env python3
"""The build id: which source tree an installed ``joblib_htcondor._core`` was built from.

The id is a hash of every file the installed package is made of (``CMakeLists.txt``,
``pyproject.toml``, ``cmake/``, ``include/``, ``src/``, ``python/joblib_htcondor/``;
caches excluded). CMake computes the same hash when it configures the extension
(``cmake/build_id.cmake``) and compiles it into ``_core.build_id()``. Comparing the two
tells a test run whether the package it imports is the tree on disk or a stale build
(a failed rebuild leaves the previous one installed).

    python scripts/build_id.py            # prints the tree's id
    python scripts/build_id.py --check    # exit 1 unless the importable _core matches it

Only the standard library: the conftest imports this file, also inside the pool and in the
joblib-1.3 venv.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Keep in step with cmake/build_id.cmake.
TOP_FILES = ("CMakeLists.txt", "pyproject.toml")
TREES = ("cmake", "include", "src", "python/joblib_htcondor")


def _source_files(root: Path) -> list[str]:
    files = [name for name in TOP_FILES if (root / name).is_file()]
    for tree in TREES:
        for directory, subdirs, names in os.walk(root / tree):
            subdirs[:] = [d for d in subdirs if d != "__pycache__"]
            for name in names:
                path = Path(directory) / name
                if name.endswith(".pyc") or not path.is_file():
                    continue
                files.append(path.relative_to(root).as_posix())
    return sorted(files)


def tree_build_id(root: Path = ROOT) -> str:
    """16 hex digits of sha256 over "<path> <sha256 of content>\\n" lines, sorted by path."""
    manifest = "".join(
        f"{name} {hashlib.sha256((root / name).read_bytes()).hexdigest()}\n"
        for name in _source_files(root)
    )
    return hashlib.sha256(manifest.encode()).hexdigest()[:16]


def mismatch_message(root: Path = ROOT) -> str | None:
    """None when the importable ``_core`` was built from ``root``; else why not."""
    try:
        from joblib_htcondor import _core
    except ImportError as error:
        return f"joblib_htcondor._core does not import ({error}); run scripts/setup"
    built = _core.build_id() if hasattr(_core, "build_id") else "(none: built before build ids)"
    expected = tree_build_id(root)
    if built == expected:
        return None
    return (
        f"stale build: {_core.__file__} has build id {built}, the source tree {root} has "
        f"{expected}; run scripts/setup (a failed rebuild leaves the old build installed)"
    )


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        message = mismatch_message()
        if message:
            print(f"build_id: {message}", file=sys.stderr)
            return 1
        print(f"build_id: joblib_htcondor._core matches the tree ({tree_build_id()})")
        return 0
    if argv[1:]:
        print("usage: build_id.py [--check]", file=sys.stderr)
        return 2
    print(tree_build_id())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
