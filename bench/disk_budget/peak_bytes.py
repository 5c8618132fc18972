"""Peak bytes in the shared directory with and without max_shared_disk.

Local scheduler, 16 workers, 64 tasks each carrying 4 MiB of in-band bytes and one
shared 200 MB array; a thread samples the directory every 20 ms. Run:

    .venv/bin/python bench/disk_budget/peak_bytes.py

Figures: docs/data-transfer.md, "The disk budget".
"""

import os
import shutil
import tempfile
import threading
import time

import numpy as np
from joblib import Parallel, delayed, parallel_config

from joblib_htcondor import register_htcondor

register_htcondor("WARNING")

N_TASKS = 64
EXTRA_BYTES = 4 * 2**20


def bytes_under(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass  # deleted while we looked
    return total


def work(data, extra, i):
    time.sleep(0.5)
    return float(data[i]) + len(extra)


def measure(budget):
    shared = tempfile.mkdtemp(prefix="budget-")
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], bytes_under(shared))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    data = np.random.default_rng(0).random(25_000_000)  # 200 MB
    start = time.monotonic()
    try:
        with parallel_config(backend="htcondor", scheduler="local", n_jobs=16, batch_size=1,
                             shared_data_dir=shared, max_shared_disk=budget):
            out = Parallel()(delayed(work)(data, os.urandom(EXTRA_BYTES), i)
                             for i in range(N_TASKS))
    finally:
        stop.set()
        sampler.join()
        shutil.rmtree(shared)
    wall = time.monotonic() - start
    assert out == [float(data[i]) + EXTRA_BYTES for i in range(N_TASKS)]
    return peak[0], wall


if __name__ == "__main__":
    for budget in (None, "230MB"):
        peak, wall = measure(budget)
        print(f"max_shared_disk={budget}: peak {peak / 2**20:.1f} MiB in the shared dir, "
              f"{wall:.1f} s")
