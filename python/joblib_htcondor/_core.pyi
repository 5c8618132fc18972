"""
C++ core of joblib_htcondor: engine, scheduler drivers, store, journal.
"""

from collections.abc import Mapping, Sequence
import datetime
import enum


class JoblibHTCondorError(Exception):
    pass

class SchedulerError(JoblibHTCondorError, RuntimeError):
    pass

class SchedulerUnavailable(SchedulerError):
    pass

class IntegrityError(JoblibHTCondorError, RuntimeError):
    pass

class UnsafePathError(IntegrityError):
    pass

def remove_lineage(scheduler: str, lineage: str, reason: str, pool: str | None = None, schedd: str | None = None, timeout_s: float = 60.0) -> bool:
    """
    Removes every job of a lineage and below (validated, quoted); True when a job was marked. ValueError for a malformed lineage, SchedulerError when the scheduler failed.
    """

class MachineCapacity:
    """One machine of a pool, with everything it has."""

    @property
    def machine(self) -> str: ...

    @property
    def cpus(self) -> float: ...

    @property
    def memory_mb(self) -> float: ...

def pool_capacity(scheduler: str, pool: str | None = None, timeout_s: float = 30.0) -> list[MachineCapacity]:
    """
    The machines of the scheduler's pool, each once (HTCondor: condor_status; local: this machine). ValueError for an unknown scheduler or a malformed pool, SchedulerError when the scheduler failed.
    """

def adopt_local_fork_server(fd: int) -> None:
    """
    In a job forked by the local scheduler's fork server: the local drivers of this process fork their jobs through the control channel `fd` the job inherited.
    """

class FileTransfer:
    """HTCondor's file transfer instead of a shared filesystem."""

    def __init__(self) -> None: ...

    @property
    def root(self) -> str: ...

    @root.setter
    def root(self, arg: str, /) -> None: ...

    @property
    def common_inputs(self) -> list[str]: ...

    @common_inputs.setter
    def common_inputs(self, arg: Sequence[str], /) -> None: ...

    def enabled(self) -> bool: ...

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
    def gpus(self) -> int: ...

    @gpus.setter
    def gpus(self, arg: int, /) -> None: ...

    @property
    def priority(self) -> int: ...

    @priority.setter
    def priority(self, arg: int, /) -> None: ...

    @property
    def environment(self) -> dict[str, str]: ...

    @environment.setter
    def environment(self, arg: Mapping[str, str], /) -> None: ...

    @property
    def file_transfer(self) -> FileTransfer: ...

    @file_transfer.setter
    def file_transfer(self, arg: FileTransfer, /) -> None: ...

class HTCondorOptions:
    """The HTCondor driver's options (see driver_options.hpp)."""

    def __init__(self) -> None: ...

    @property
    def pool(self) -> str:
        """Collector for the tools' -pool; '': local."""

    @pool.setter
    def pool(self, arg: str, /) -> None: ...

    @property
    def schedd(self) -> str:
        """Schedd for the tools' -name; '': local."""

    @schedd.setter
    def schedd(self, arg: str, /) -> None: ...

    @property
    def universe(self) -> str: ...

    @universe.setter
    def universe(self, arg: str, /) -> None: ...

    @property
    def initial_dir(self) -> str:
        """The jobs' initialdir; '': none."""

    @initial_dir.setter
    def initial_dir(self, arg: str, /) -> None: ...

    @property
    def extra_directives(self) -> list[tuple[str, str]]:
        """Extra submit commands as (key, value) pairs."""

    @extra_directives.setter
    def extra_directives(self, arg: Sequence[tuple[str, str]], /) -> None: ...

    @property
    def lineage(self) -> str:
        """Batch ids root/.../this; '': batch_name."""

    @lineage.setter
    def lineage(self, arg: str, /) -> None: ...

    @property
    def level(self) -> int | None:
        """Recursion level (JhtcLevel); None: not set."""

    @level.setter
    def level(self, arg: int | None, /) -> None: ...

    @property
    def event_log(self) -> str:
        """'': <batch_dir>/condor.log."""

    @event_log.setter
    def event_log(self, arg: str, /) -> None: ...

    @property
    def event_log_inotify(self) -> bool: ...

    @event_log_inotify.setter
    def event_log_inotify(self, arg: bool, /) -> None: ...

    @property
    def poll_interval(self) -> datetime.timedelta: ...

    @poll_interval.setter
    def poll_interval(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def reconcile_after(self) -> datetime.timedelta: ...

    @reconcile_after.setter
    def reconcile_after(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def unmatched_after(self) -> datetime.timedelta | None:
        """
        An idle job no machine matches is reported after this long; None: never.
        """

    @unmatched_after.setter
    def unmatched_after(self, arg: datetime.timedelta | None, /) -> None: ...

    @property
    def max_per_submission(self) -> int: ...

    @max_per_submission.setter
    def max_per_submission(self, arg: int, /) -> None: ...

    @property
    def probe_timeout(self) -> datetime.timedelta: ...

    @probe_timeout.setter
    def probe_timeout(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def command_timeout(self) -> datetime.timedelta: ...

    @command_timeout.setter
    def command_timeout(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def abort_timeout(self) -> datetime.timedelta: ...

    @abort_timeout.setter
    def abort_timeout(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def retry_attempts(self) -> int: ...

    @retry_attempts.setter
    def retry_attempts(self, arg: int, /) -> None: ...

    @property
    def retry_first_wait(self) -> datetime.timedelta: ...

    @retry_first_wait.setter
    def retry_first_wait(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def retry_max_wait(self) -> datetime.timedelta: ...

    @retry_max_wait.setter
    def retry_max_wait(self, arg: datetime.timedelta, /) -> None: ...

class LocalOptions:
    """The local scheduler's options (see driver_options.hpp)."""

    def __init__(self) -> None: ...

    @property
    def cores(self) -> int | None:
        """Cores the jobs share; None: this process's."""

    @cores.setter
    def cores(self, arg: int | None, /) -> None: ...

    @property
    def kill_grace(self) -> datetime.timedelta:
        """SIGTERM to SIGKILL on removal."""

    @kill_grace.setter
    def kill_grace(self, arg: datetime.timedelta, /) -> None: ...

    @property
    def fork_server(self) -> bool:
        """Fork jobs from the process's fork server (else spawn each)."""

    @fork_server.setter
    def fork_server(self, arg: bool, /) -> None: ...

class LevelLimit:
    """One cap shared by every batch of a recursion level of a run."""

    def __init__(self, level: int, cap: int, lock_path: str) -> None: ...

    @property
    def level(self) -> int: ...

    @level.setter
    def level(self, arg: int, /) -> None: ...

    @property
    def cap(self) -> int: ...

    @cap.setter
    def cap(self, arg: int, /) -> None: ...

    @property
    def lock_path(self) -> str: ...

    @lock_path.setter
    def lock_path(self, arg: str, /) -> None: ...

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

    @property
    def scheduler_error(self) -> bool:
        """
        Failed because a scheduler call failed after its retries (not the job).
        """

    @property
    def memory_holds(self) -> int: ...

    @property
    def usage(self) -> dict:
        """What the last job used: the figures the scheduler reported, by name."""

class AdoptionTask:
    """A task of an earlier batch that Engine.adopt may take over."""

    def __init__(self, earlier_task: int, task_file: str, result_file: str, calls: int = 1) -> None: ...

    @property
    def earlier_task(self) -> int: ...

    @property
    def task_file(self) -> str: ...

    @property
    def result_file(self) -> str: ...

    @property
    def calls(self) -> int: ...

class AdoptedTask:
    """A task Engine.adopt took over, and its job."""

    @property
    def earlier_task(self) -> int: ...

    @property
    def task(self) -> int: ...

    @property
    def attempt(self) -> int: ...

    @property
    def job_id(self) -> str: ...

class Engine:
    """One joblib batch's dispatch engine (see engine.hpp)."""

    def __init__(self, job_template: JobTemplate, options: HTCondorOptions | LocalOptions, throttle: int, count_running: bool = True, max_retries: int = 2, gather_quiet_s: float = 0.02, gather_most_s: float = 0.25, journal: JournalWriter | None = None, disk_budget: int = 0, memory_retry_factor: float = 2.0, max_request_memory_mb: int = 0, level_limit: LevelLimit | None = None) -> None:
        """
        The options' type picks the scheduler: HTCondorOptions or LocalOptions.
        """

    def submit(self, task_file: str, result_file: str, calls: int = 1) -> int: ...

    def submit_deferred(self, task_file: str, result_file: str, files: int, blobs: int, calls: int = 1) -> int:
        """Queues a task whose files are written once the disk budget admits it."""

    def adopt(self, lineage: str, event_log: str, tasks: Sequence[AdoptionTask]) -> list[AdoptedTask]:
        """
        resume=True: takes over the jobs of a killed run's batch (see engine.hpp); returns the AdoptedTasks. SchedulerError when the scheduler did not answer.
        """

    def take_admitted(self) -> list[int]: ...

    def staged(self, task: int, files: int, blobs: int, input_files: Sequence[str] = []) -> None: ...

    def files_removed(self, task: int) -> None: ...

    def add_disk_blobs(self, bytes: int) -> None: ...

    def withdraw(self, task: int, reason: str) -> None: ...

    def next_outcome(self, timeout_s: float) -> TaskOutcome | None:
        """The next finished task, or None after timeout_s seconds."""

    def remove_if_idle(self, task: int) -> bool:
        """Removes the task's job only if it has not started; True when removed."""

    def abort_now(self, reason: str) -> None:
        """
        cancel_all within the driver's short bound (one condor_rm, abort_timeout).
        """

    def cancel_all(self, reason: str) -> None: ...

    def shutdown(self) -> None: ...

    def stats(self) -> dict: ...

class BatchOwner:
    """A batch's one owner record (see include/jhtc/batch_owner.hpp)."""

    def __init__(self) -> None: ...

    @property
    def host(self) -> str: ...

    @property
    def pid(self) -> int: ...

    @property
    def start_ticks(self) -> int: ...

    @property
    def boot_id(self) -> str: ...

    @property
    def pid_namespace(self) -> int: ...

    @property
    def lineage(self) -> str: ...

    @lineage.setter
    def lineage(self, arg: str, /) -> None: ...

    @property
    def scheduler(self) -> str: ...

    @scheduler.setter
    def scheduler(self, arg: str, /) -> None: ...

    @property
    def pool(self) -> str: ...

    @pool.setter
    def pool(self, arg: str, /) -> None: ...

    @property
    def schedd(self) -> str: ...

    @schedd.setter
    def schedd(self, arg: str, /) -> None: ...

    @property
    def event_log(self) -> str: ...

    @event_log.setter
    def event_log(self, arg: str, /) -> None: ...

    @property
    def resume_grace_s(self) -> float | None: ...

    @resume_grace_s.setter
    def resume_grace_s(self, arg: float | None, /) -> None: ...

    @property
    def abandoned(self) -> bool: ...

    @abandoned.setter
    def abandoned(self, arg: bool, /) -> None: ...

    def __repr__(self) -> str: ...

class OwnerRecord:
    """An owner record as read back, with its heartbeat's age."""

    @property
    def owner(self) -> BatchOwner: ...

    @property
    def heartbeat_age_s(self) -> float: ...

    def is_dead(self, stale_after_s: float) -> bool:
        """
        The one liveness rule: abandoned, or its process not alive (the pid where it means something, the heartbeat's age anywhere else).
        """

    def waits_for_resume(self, batch_id: str) -> bool:
        """
        A root batch of a resume=True run, not abandoned, whose heartbeat is younger than its resume_grace_s: a rerun may still adopt its jobs.
        """

def parse_owner_record(text: str, heartbeat_age_s: float) -> OwnerRecord | None:
    """
    An owner record from its text (any of the forms batch_owner.hpp lists); None when malformed. For the batch directories' owner.json of earlier versions.
    """

class Durability(enum.Enum):
    """
    Whether an atomically written file is also fsynced (include/jhtc/durability.hpp).
    """

    crash_safe = 0

    atomic = 1

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

    def __init__(self, root: str) -> None: ...

    @property
    def root(self) -> str: ...

    def put(self, data: object, batch_id: str = '', hint: str = '') -> tuple[str, bool]: ...

    def path_of(self, arg: str, /) -> str: ...

    def contains(self, arg: str, /) -> bool: ...

    def open_mapped(self, digest: str, verify: bool = True, expected_size: int | None = None, writable: bool = False) -> MappedBlob: ...

    def open_batch(self, batch_id: str, durability: Durability = Durability.crash_safe, about: BatchOwner = ...) -> bool: ...

    def owner_of(self, batch_id: str) -> OwnerRecord | None: ...

    def take_over(self, batch_id: str, about: BatchOwner, durability: Durability = Durability.crash_safe) -> None: ...

    def mark_abandoned(self, batch_id: str) -> None: ...

    def heartbeat(self, arg: str, /) -> None: ...

    def refs_of(self, arg: str, /) -> list[tuple[str, int]]: ...

    def bytes_held(self, arg: str, /) -> int: ...

    def release(self, arg: str, /) -> int: ...

    def collect_garbage(self, stale_after_s: float, keep: Sequence[str] = []) -> dict:
        """
        Removes dead batches' references (except those in keep), then unreferenced blobs.
        """

def buffer_address(arg: object, /) -> int: ...

def sha256_digest(arg: object, /) -> str: ...

class SigningKey:
    """The user's HMAC-SHA256 key (owner-only file)."""

    @staticmethod
    def load_or_create(key_dir: str) -> SigningKey: ...

    @staticmethod
    def key_path(arg: str, /) -> str: ...

    @staticmethod
    def from_bytes(arg: bytes, /) -> SigningKey: ...

class SignedIdentity:
    """
    Whose file a signed file is; bound into its HMAC (see include/jhtc/signing.hpp).
    """

    def __init__(self, kind: str, run: str = '', batch: str = '', task: str = '', attempt: int = -1) -> None: ...

    @property
    def kind(self) -> str: ...

    @property
    def run(self) -> str: ...

    @property
    def batch(self) -> str: ...

    @property
    def task(self) -> str: ...

    @property
    def attempt(self) -> int: ...

    def describe(self) -> str: ...

    def __eq__(self, arg: SignedIdentity, /) -> bool: ...

    def __repr__(self) -> str: ...

MAX_SIGNED_FILE_BYTES: int = 4294967296

def make_private_dir(path: str) -> None:
    """
    Creates `path` (and missing parents) 0700; an existing `path` must be a directory of the user not writable by others, else UnsafePathError names its owner and mode.
    """

def check_owned_dir(path: str) -> bool:
    """
    False if `path` does not exist; True if it is a directory of the user not writable by others (not a symlink); else UnsafePathError naming its owner and mode.
    """

def check_owned_file(path: str) -> None:
    """
    Refuses (IntegrityError, UnsafePathError) a path that is a symlink, not a regular file, owned by another user or writable by others; checked on the opened file.
    """

def write_signed_file(path: str, identity: SignedIdentity, payload: object, key: SigningKey, durability: Durability = Durability.crash_safe) -> int: ...

def fsync_calls() -> int:
    """
    fsyncs this process has made writing store, task, result and owner files (for tests).
    """

def read_signed_file(path: str, key: SigningKey, expected: SignedIdentity) -> bytes: ...

class JournalWriter:
    """
    Appends the metadata journal of one batch: <journal_dir>/<root_batch_id>/<batch_id>.jsonl. Writes batch_started at once.
    """

    def __init__(self, journal_dir: str, batch_id: str, parent_batch_id: str, root_batch_id: str, level: int, throttle: int, scheduler: str, request_cpus: float = 0.0, request_memory_mb: int = 0, request_gpus: int = 0) -> None:
        """
        Raises ValueError for an id that is not a plain file name, OSError when the file cannot be created.
        """

    def task_queued(self, task: int, calls: int = 1) -> None: ...

    def task_submitted(self, task: int, job_id: str) -> None: ...

    def task_running(self, task: int, job_id: str) -> None: ...

    def task_done(self, task: int, usage: dict = {}) -> None: ...

    def task_failed(self, task: int, reason: str, job_id: str = '', usage: dict = {}) -> None: ...

    def task_retried(self, task: int, reason: str, usage: dict = {}, hold_code: int = 0, hold_subcode: int = 0, request_memory_mb: int = 0) -> None: ...

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

def run_report_json(journal_dir: str, root_batch_id: str, now: float, max_bars_per_level: int = 2500, time_bins: int = 240, memory_bins: int = 20, max_failure_rows: int = 500) -> bytes:
    """
    The report of one run as JSON bytes (root_batch_id '': the newest run). Raises ValueError when the journal directory holds no such run.
    """

def build_id() -> str:
    """
    Hash of the source tree this module was built from (scripts/build_id.py computes the tree's); the tests refuse a module whose id differs from the tree's: a stale build.
    """
