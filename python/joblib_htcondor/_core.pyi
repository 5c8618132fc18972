"""
C++ core of joblib_htcondor: engine, scheduler drivers, store, journal.
"""

from collections.abc import Mapping, Sequence
import enum


class SchedulerError(RuntimeError):
    pass

class SchedulerUnavailable(SchedulerError):
    pass

class IntegrityError(RuntimeError):
    pass

class JobTemplate:
    """What every job of one batch shares (see scheduler_driver.hpp)."""

    def __init__(self) -> None: ...

    @property
    def batch_name(self) -> str: ...

    @batch_name.setter
    def batch_name(self, arg: str, /) -> None: ...

    @property
    def batch_dir(self) -> str: ...

    @batch_dir.setter
    def batch_dir(self, arg: str, /) -> None: ...

    @property
    def log_dir(self) -> str: ...

    @log_dir.setter
    def log_dir(self, arg: str, /) -> None: ...

    @property
    def python(self) -> str: ...

    @python.setter
    def python(self, arg: str, /) -> None: ...

    @property
    def worker_args(self) -> list[str]: ...

    @worker_args.setter
    def worker_args(self, arg: Sequence[str], /) -> None: ...

    @property
    def cpus(self) -> float: ...

    @cpus.setter
    def cpus(self, arg: float, /) -> None: ...

    @property
    def memory_mb(self) -> int: ...

    @memory_mb.setter
    def memory_mb(self, arg: int, /) -> None: ...

    @property
    def disk_mb(self) -> int: ...

    @disk_mb.setter
    def disk_mb(self, arg: int, /) -> None: ...

    @property
    def priority(self) -> int: ...

    @priority.setter
    def priority(self, arg: int, /) -> None: ...

    @property
    def environment(self) -> dict[str, str]: ...

    @environment.setter
    def environment(self, arg: Mapping[str, str], /) -> None: ...

    @property
    def options(self) -> dict[str, str]: ...

    @options.setter
    def options(self, arg: Mapping[str, str], /) -> None: ...

class OutcomeKind(enum.Enum):
    done = 0

    failed = 1

    cancelled = 2

    refused = 3

class TaskOutcome:
    @property
    def task(self) -> int: ...

    @property
    def kind(self) -> OutcomeKind: ...

    @property
    def reason(self) -> str: ...

    @property
    def job_id(self) -> str: ...

    @property
    def attempts(self) -> int: ...

class Engine:
    """One joblib batch's dispatch engine (see engine.hpp)."""

    def __init__(self, scheduler: str, job_template: JobTemplate, throttle: int, count_running: bool = True, max_retries: int = 2, coalesce_s: float = 0.02, journal: JournalWriter | None = None, disk_budget: int = 0) -> None: ...

    def submit(self, task_file: str, result_file: str) -> int: ...

    def submit_deferred(self, task_file: str, result_file: str, files: int, blobs: int) -> int:
        """Queues a task whose files are written once the disk budget admits it."""

    def take_admitted(self) -> list[int]: ...

    def staged(self, task: int, files: int, blobs: int) -> None: ...

    def files_removed(self, task: int) -> None: ...

    def add_disk_blobs(self, bytes: int) -> None: ...

    def withdraw(self, task: int, reason: str) -> None: ...

    def next_outcome(self, timeout_s: float) -> TaskOutcome | None:
        """The next finished task, or None after timeout_s seconds."""

    def cancel_all(self, reason: str) -> None: ...

    def shutdown(self) -> None: ...

    def stats(self) -> dict: ...

class MappedBlob:
    """
    A blob mapped into memory; exposes the buffer protocol zero-copy (read-only unless mapped copy-on-write).
    """

    @property
    def digest(self) -> str: ...

    @property
    def path(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def writable(self) -> bool: ...

    @property
    def address(self) -> int: ...

    def __len__(self) -> int: ...

class ContentStore:
    """Content-addressed blob store (see include/jhtc/content_store.hpp)."""

    def __init__(self, root: str, group_mode: bool = False) -> None: ...

    @property
    def root(self) -> str: ...

    def put(self, data: object, batch_id: str = '', hint: str = '') -> tuple[str, bool]: ...

    def path_of(self, arg: str, /) -> str: ...

    def contains(self, arg: str, /) -> bool: ...

    def open_mapped(self, digest: str, verify: bool = True, expected_size: int | None = None, writable: bool = False) -> MappedBlob: ...

    def open_batch(self, arg: str, /) -> bool: ...

    def heartbeat(self, arg: str, /) -> None: ...

    def refs_of(self, arg: str, /) -> list[tuple[str, int]]: ...

    def bytes_held(self, arg: str, /) -> int: ...

    def release(self, arg: str, /) -> int: ...

    def collect_garbage(self, stale_after_s: float) -> dict: ...

def buffer_address(arg: object, /) -> int: ...

def sha256_digest(arg: object, /) -> str: ...

class SigningKey:
    """The user's HMAC-SHA256 key (owner-only file)."""

    @staticmethod
    def load_or_create(key_dir: str, group_mode: bool = False) -> SigningKey: ...

    @staticmethod
    def key_path(arg: str, /) -> str: ...

    @staticmethod
    def from_bytes(arg: bytes, /) -> SigningKey: ...

def write_signed_file(path: str, kind: str, payload: object, key: SigningKey, group_mode: bool = False) -> int: ...

def read_signed_file(path: str, key: SigningKey, kinds: Sequence[str] = []) -> bytes: ...

class JournalWriter:
    """
    Appends the metadata journal of one batch: <journal_dir>/<root_batch_id>/<batch_id>.jsonl. Writes batch_started at once.
    """

    def __init__(self, journal_dir: str, batch_id: str, parent_batch_id: str, root_batch_id: str, level: int, throttle: int, scheduler: str) -> None:
        """
        Raises ValueError for an id that is not a plain file name, OSError when the file cannot be created.
        """

    def task_queued(self, task: int) -> None: ...

    def task_submitted(self, task: int, job_id: str) -> None: ...

    def task_running(self, task: int, job_id: str) -> None: ...

    def task_done(self, task: int) -> None: ...

    def task_failed(self, task: int, reason: str, job_id: str = '') -> None: ...

    def task_retried(self, task: int, reason: str) -> None: ...

    def task_cancelled(self, task: int) -> None: ...

    def bytes_held(self, n: int) -> None:
        """
        Records what the batch holds in the shared directory now (absolute, in bytes).
        """

    def finish(self, state: str) -> None:
        """Writes batch_finished once (later calls do nothing)."""

    @property
    def path(self) -> str: ...

    @property
    def batch_id(self) -> str: ...

    @property
    def root_batch_id(self) -> str: ...

    @property
    def finished(self) -> bool: ...

    @property
    def write_errors(self) -> int:
        """Appends that failed (they never raise: a journal must not fail a run)."""

    @property
    def last_error(self) -> str: ...

class JournalReader:
    """
    Incremental journal reader: feed bytes, get (ts, name, context) events. A partial last line waits for its newline; a corrupt line is skipped and counted.
    """

    def __init__(self) -> None: ...

    def feed(self, data: bytes) -> list: ...

    @property
    def corrupt_lines(self) -> int: ...

    @property
    def last_warning(self) -> str: ...

    @property
    def pending_bytes(self) -> int: ...

def build_id() -> str:
    """
    Hash of the source tree this module was built from (scripts/build_id.py computes the tree's); the tests refuse a module whose id differs from the tree's: a stale build.
    """
