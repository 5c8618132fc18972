"""Owner records for the liveness and recovery tests; no tests here.

A batch's one owner record is written by the store (include/jhtc/batch_owner.hpp)
and always names the process that writes it. A test that needs a batch owned by a
dead process, another host, another boot or PID namespace writes a real record,
then patches the identity line, the only part a test must fake.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from joblib_htcondor import _core
from joblib_htcondor._params import parse_params
from joblib_htcondor._recovery import describe_owner

IDENTITY = ("host", "pid", "start_ticks", "boot_id", "pid_namespace")


def owner_path(shared: Path, batch_id: str) -> Path:
    return Path(shared) / "store" / "refs" / batch_id / "owner"


def read_record(shared: Path, batch_id: str) -> _core.OwnerRecord | None:
    return _core.ContentStore(str(Path(shared) / "store")).owner_of(batch_id)


def plant_owner(shared: Path, batch_id: str, lineage: str, scheduler: str = "local",
                resume_grace_s: float | None = None, **identity) -> Path:
    """The batch's owner record as the store writes it, naming this process unless
    ``identity`` (any of IDENTITY) says otherwise. Returns the record's path."""
    about = describe_owner(lineage, parse_params({"scheduler": scheduler}))
    about.resume_grace_s = resume_grace_s
    store = _core.ContentStore(str(Path(shared) / "store"))
    assert store.open_batch(batch_id, _core.Durability.atomic, about), "already owned"
    path = owner_path(shared, batch_id)
    if identity:
        unknown = set(identity) - set(IDENTITY)
        assert not unknown, f"not identity fields: {unknown}"
        first, rest = path.read_text().split("\n", 1)
        fields = dict(zip(IDENTITY, first.split()))
        fields.update({k: str(v) for k, v in identity.items()})
        path.write_text(" ".join(fields[k] for k in IDENTITY) + "\n" + rest)
    return path


def make_batch(shared: Path, name: str, lineage: str, **owner) -> Path:
    """A batch directory with its owner record (see plant_owner)."""
    batch = Path(shared) / "batches" / name
    batch.mkdir(parents=True)
    plant_owner(shared, name, lineage, **owner)
    return batch


def age(path: Path, seconds: float) -> None:
    """Sets the record's heartbeat (its mtime) ``seconds`` in the past."""
    then = time.time() - seconds
    os.utime(path, (then, then))
