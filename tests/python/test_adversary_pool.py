"""A second user of the same group attacks a run on the real pool.

The testbed has the pool user (``htc``, uid 2001) and ``mallory`` (uid 2002), both in
group ``project``, which owns a group-writable (02770) project directory: the
shared_data_dir of these tests. mallory may write there, so she can rename what the
owner created at its top level and put directories, links and files of her own in
its place. She cannot read or write inside the owner's owner-only directories.

Every attempt must be refused with a clear error, none of the owner's jobs removed
by it, and no wrong result returned.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import pytest
from test_faults_support import condor, jobs_of, wait_until, write_driver

pytestmark = pytest.mark.htcondor

HOSTILE_LINEAGE = 'x" || true || "'


@pytest.fixture
def project_dir(request):
    """A group-writable (02770) shared_data_dir under the testbed's project directory."""
    base = os.environ.get("JHTC_TESTBED_PROJECT")
    if not base:
        pytest.skip("needs the testbed's project directory (testbed/pool run)")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", request.node.name)[:50]
    path = Path(base) / f"{name}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    os.chmod(path, 0o2770)
    yield path
    # mallory's files: she removes them; ours go with rmtree
    as_mallory("sh", "-c", f"find {path} -user mallory -delete", check=False)
    shutil.rmtree(path, ignore_errors=True)


def as_mallory(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    """Runs ``argv`` as the second user (sudo, set up by testbed/pool)."""
    user = os.environ.get("JHTC_TESTBED_OTHER_USER", "mallory")
    done = subprocess.run(["sudo", "-n", "-u", user, "--", *argv], capture_output=True,
                          text=True, timeout=120)
    if check and done.returncode != 0:
        pytest.fail(f"as {user}: {' '.join(argv)} exited {done.returncode}:\n"
                    f"{done.stdout}{done.stderr}")
    return done


def submit_bystander() -> str:
    """One of the owner's jobs that has nothing to do with joblib_htcondor."""
    description = ("executable = /bin/sleep\narguments = 600\nbatch_name = bystander\n"
                   "should_transfer_files = NO\nqueue 1\n")
    done = subprocess.run(["condor_submit", "-terse"], input=description, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()[0].rsplit(".", 1)[0]  # "C.0 - C.0" -> "C"


def in_queue(cluster: str) -> bool:
    out = condor("condor_q", cluster, "-af", "ClusterId", "JobStatus")
    return any(line.split() and line.split()[1] in ("1", "2") for line in out.splitlines())


def run_owner(script: str, shared: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    code = textwrap.dedent(f"""
        from joblib import Parallel, delayed, parallel_config
        from joblib_htcondor import register_htcondor
        register_htcondor()
        with parallel_config(backend="htcondor", scheduler="htcondor",
                             shared_data_dir={str(shared)!r}, poll_interval=0.2, max_retries=1):
        """) + textwrap.indent(textwrap.dedent(script), "    ")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout)


def test_a_planted_owner_file_with_a_hostile_lineage_removes_no_job(project_dir):
    bystander = submit_bystander()
    try:
        # mallory puts a batches directory of her own in place, with a dead "owner"
        # whose lineage would make `condor_rm -constraint` match every job.
        record = {"host": socket.gethostname(), "pid": 4_000_000, "start_ticks": 1,
                  "lineage": HOSTILE_LINEAGE, "scheduler": "htcondor", "pool": None,
                  "schedd": None}
        planted = project_dir / "batches" / "evil"
        as_mallory("mkdir", "-p", "-m", "0777", str(planted))
        as_mallory(sys.executable, "-c",
                   f"import json; open({str(planted / 'owner.json')!r}, 'w')"
                   f".write(json.dumps({record!r}))")
        started = time.monotonic()
        run = run_owner("print('RESULT', Parallel(n_jobs=2)(delayed(abs)(-i) for i in range(2)))",
                        project_dir)
        elapsed = time.monotonic() - started
        assert run.returncode != 0, run.stdout
        assert "UnsafePathError" in run.stderr, run.stderr
        assert f"refusing '{project_dir}/batches': it is owned by another user" in run.stderr
        assert "mallory (uid 2002)" in run.stderr and "RESULT" not in run.stdout
        cleanup = subprocess.run([sys.executable, "-m", "joblib_htcondor.cleanup", "--path",
                                  str(project_dir)], capture_output=True, text=True, timeout=120)
        assert cleanup.returncode != 0
        assert "owned by another user" in cleanup.stderr, cleanup.stderr
        assert in_queue(bystander), "the owner's bystander job was removed"
        assert (planted / "owner.json").exists()  # not ours to delete either
        print(f"[figure] hostile owner file: run refused in {elapsed:.1f} s: "
              f"{run.stderr.strip().splitlines()[-1]}")
    finally:
        subprocess.run(["condor_rm", bystander], capture_output=True, timeout=60)


def test_a_planted_store_with_a_blob_of_the_right_name_is_refused(project_dir):
    # mallory knows the owner's data (a public data set, say) and plants its blob,
    # which she could rewrite after the owner's worker verified and mapped it.
    data = np.arange(100_000.0)
    hexa = hashlib.sha256(data.tobytes()).hexdigest()
    blob = project_dir / "store" / "sha256" / hexa[:2] / hexa
    as_mallory("mkdir", "-p", "-m", "0777", str(blob.parent))
    as_mallory(sys.executable, "-c", f"import numpy; numpy.arange(100_000.0).tofile({str(blob)!r})")
    np.save(project_dir / "data.npy", data)
    run = run_owner(f"""
        import numpy
        data = numpy.load({str(project_dir / 'data.npy')!r})
        print('RESULT', Parallel(n_jobs=2)(delayed(float)(data.sum() + i) for i in range(2)))
        """, project_dir)
    assert run.returncode != 0, run.stdout
    print(f"[figure] planted store: {run.stderr.strip().splitlines()[-1]}")
    assert f"refusing '{project_dir}/store': it is owned by another user" in run.stderr, run.stderr
    assert "RESULT" not in run.stdout


@pytest.mark.timeout(300)
def test_batches_renamed_during_a_run_are_refused_and_no_wrong_result_returned(
        project_dir):
    base = project_dir / "owner-files"
    base.mkdir(mode=0o700)
    shared = project_dir
    (base / "gate").write_text("")
    script = write_driver(base / "driver.py", shared, "gated")
    bystander = submit_bystander()
    driver = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    try:
        def running():
            counter = base / "counter"
            return counter.exists() and {"2", "3"} <= set(counter.read_text().split())
        wait_until(running, 120, "tasks 2 and 3 running")
        jobs = jobs_of(shared)
        batch_id = jobs[0]["lineage"].split("/")[0]  # the root batch: public in the queue
        # The batch id is public (condor_q shows the batch name): mallory moves the
        # owner's batches away and links the batch back from a directory of hers,
        as_mallory("sh", "-c", f"cd {shared} && mv batches stolen && mkdir -m 0777 batches && "
                   f"ln -s ../stolen/{batch_id} batches/{batch_id}")
        renamed = time.monotonic()
        (base / "gate").unlink()
        output, _ = driver.communicate(timeout=200)
        assert in_queue(bystander), "the owner's bystander job was removed"
    finally:
        driver.kill()
        subprocess.run(["condor_rm", bystander], capture_output=True, timeout=60)
    refusal = next((line for line in output.splitlines() if "owned by another user" in line), "")
    print(f"[figure] batches renamed mid-run: caller failed {time.monotonic() - renamed:.1f} s "
          f"later with: {refusal.strip()}")
    assert driver.returncode != 0, output
    assert "owned by another user" in output and "mallory (uid 2002)" in output, output
    assert "RESULT" not in output  # no result at all rather than a wrong one
    assert jobs_of(shared) == []
