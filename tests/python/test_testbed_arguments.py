"""testbed/pool's refusals that need no pool: they come before anything is mounted."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

POOL = Path(__file__).resolve().parents[2] / "testbed" / "pool"


def pool_copy_in(directory: Path) -> Path:
    (directory / "testbed").mkdir()
    copy = directory / "testbed" / "pool"
    shutil.copy2(POOL, copy)
    return copy


@pytest.mark.parametrize("base", ["/tmp", "/dev/shm"])
def test_nodes_refuse_a_checkout_that_their_private_tmp_would_hide(base):
    with tempfile.TemporaryDirectory(dir=base) as directory:
        pool = pool_copy_in(Path(directory))
        done = subprocess.run(["bash", str(pool), "up", "--nodes", "2"], capture_output=True,
                              text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "JHTC_TESTBED_DIR": directory})
    assert done.returncode != 0
    assert f"--nodes: {directory} is below /tmp or /dev/shm" in done.stderr
    assert "use a checkout and Python elsewhere" in done.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="runs testbed/pool as nobody: needs root")
def test_a_checkout_elsewhere_gets_past_that_check():
    # The same call from outside /tmp goes on to the next check; run as nobody, that
    # is the one for root, so nothing is mounted or built.
    root = Path(__file__).resolve().parents[2] / "build"
    root.mkdir(exist_ok=True)
    directory = Path(tempfile.mkdtemp(dir=root))
    try:
        pool = pool_copy_in(directory)
        for path in (directory, directory / "testbed", pool):
            path.chmod(0o755)
        as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        done = subprocess.run([*as_nobody, "bash", str(pool), "up", "--nodes", "2"],
                              capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "JHTC_TESTBED_DIR": str(directory)})
    finally:
        shutil.rmtree(directory)
    assert done.returncode != 0
    assert "must run as root" in done.stderr, done.stderr
    assert "below /tmp" not in done.stderr
