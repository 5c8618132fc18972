"""Opens a local HTML file in headless Chromium (Debian's ``chromium``, installed by
scripts/setup) as a person's browser would: a screenshot, the DOM after load, and every
message the page wrote to the console.

Chromium logs each console message (an error, a refused fetch, a Content-Security-Policy
violation, an uncaught exception) to stderr as ``INFO:CONSOLE``; ``--enable-logging=stderr``
turns that on. Host names resolve to nothing, so a page that tried the network fails
loudly instead of reaching anywhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

CONSOLE_LINE = re.compile(r":CONSOLE(?:\(\d+\))?:?\d*\]\s*(.*)")


@dataclass
class Page:
    dom: str
    console: list[str]  # every console message, in order
    screenshot: Path


def chromium_binary() -> str:
    found = shutil.which("chromium")
    if not found:
        pytest.fail("headless Chromium is needed (Debian's chromium): "
                    "bash scripts/setup installs it")
    return found


def _run(args: list[str], profile: str) -> subprocess.CompletedProcess:
    command = [chromium_binary(), "--headless=new", "--no-sandbox", "--disable-gpu",
               "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}",
               "--enable-logging=stderr", "--v=0", "--host-resolver-rules=MAP * ~NOTFOUND",
               *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"chromium exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in map(CONSOLE_LINE.search, stderr.splitlines()) if m]


def open_page(html: Path, screenshot: Path, width: int = 1280, height: int = 1800) -> Page:
    """Loads ``html`` twice (DOM, then screenshot) and returns what a person would see."""
    url = html.resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="jhtc-chromium-") as profile:
        dom_run = _run(["--dump-dom", url], profile)
        shot_run = _run([f"--window-size={width},{height}", f"--screenshot={screenshot}", url],
                        profile)
    if not screenshot.is_file() or screenshot.stat().st_size == 0:
        pytest.fail(f"chromium wrote no screenshot:\n{shot_run.stderr[-3000:]}")
    return Page(dom_run.stdout, console_messages(dom_run.stderr + shot_run.stderr), screenshot)
