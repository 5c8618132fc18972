"""Task and result files: signed pickles whose large buffers live in a store.

A task is pickled with cloudpickle, protocol 5. Every buffer pickle hands out of
band (numpy arrays, pandas blocks) of at least ``OUT_OF_BAND_MIN`` bytes goes to
the content-addressed store under ``<shared_data_dir>/store`` (written once,
named by its SHA-256); the task file keeps only the digests. The same array in a
thousand tasks is hashed once per process (an identity cache) and stored once per
store. The file is signed with the user's HMAC key, bound to its identity (kind,
run, batch, task: the file's stem, and for a result the attempt that wrote it) and
written atomically::

    <path>          signed file (see include/jhtc/signing.hpp), payload:
                    u32 header length | header JSON {"format", "buffers": [[digest, size]]}
                    | pickle bytes
    <shared>/store  blobs, per-batch reference records (include/jhtc/content_store.hpp)
    <shared>/.keys/<uid>/hmac.key   the user's key, owner-only

Loading verifies the HMAC and the identity before anything is unpickled (a
genuine file moved into another task's, batch's or run's place, or an older
attempt's result, is refused), maps every blob
read-only (verifying its hash) and unpickles on top of the mappings: the arrays
of a task are views of the page cache, not copies. Results travel the same way;
their arrays are mapped copy-on-write so the caller may modify them.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import struct
import threading
import time
import weakref
from typing import Union

# The standalone package, not joblib's vendored copy (joblib < 1.5): a pickle made
# by the vendored one imports joblib, and numpy with it, in every worker.
import cloudpickle

from . import _core
from ._errors import IntegrityError
from ._layout import SharedLayout

__all__ = ["IntegrityError", "PreparedFile", "TaskCodec", "collect_garbage", "OUT_OF_BAND_MIN",
           "task_name"]

#: Buffers at least this large go to the store; smaller ones stay in the file.
OUT_OF_BAND_MIN = 64 * 1024
#: How often an owning process refreshes its batches' heartbeat. collect_garbage's
#: ``stale_after_s`` must be well above it.
HEARTBEAT_S = 60.0

_FORMAT = 1
_HEADER_LEN = struct.Struct("<I")
# For the size estimate of a file before it is written: the signature and framing,
# and one buffer reference in the JSON header. Writing reports the exact size.
_SIGNED_OVERHEAD = 256
_REF_BYTES = 96
_SAMPLES = 64

PathLike = Union[str, "os.PathLike[str]"]


def store_dir(shared_dir: PathLike) -> str:
    return str(SharedLayout.of(shared_dir).store)


def keys_dir(shared_dir: PathLike) -> str:
    return str(SharedLayout.of(shared_dir).keys)


def _kind_for(path: PathLike) -> str:
    # The backend names results "<n>.result"; anything else is a task.
    return "result" if os.fspath(path).endswith(".result") else "task"


def task_name(path: PathLike) -> str:
    """A task's name in its batch: its file's stem (``<n>`` of ``<n>.task`` and
    ``<n>.result``), part of the identity both files are signed with."""
    name = os.path.basename(os.fspath(path))
    for suffix in (".task", ".result"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _fingerprint(raw: memoryview) -> bytes:
    """A cheap digest of samples of the buffer: catches most in-place mutation
    between two dumps of the same array (not a change confined between samples)."""
    h = hashlib.blake2b(digest_size=16)
    n = raw.nbytes
    h.update(raw[:4096])
    h.update(raw[n // 2 : n // 2 + 4096])
    h.update(raw[-4096:])
    step = max(n // _SAMPLES, 1)
    for start in range(0, n, step):
        h.update(raw[start : start + 256])
    return h.digest()


def _memory_owner(obj):
    """The object whose lifetime guarantees the buffer's memory (a numpy view's base)."""
    while getattr(obj, "base", None) is not None:
        obj = obj.base
    return obj


class _IdentityCache:
    """Digests of buffers, keyed by the object owning their memory and the address
    and size of the buffer, so a thousand dumps of one array hash it once. An entry
    dies with its owner (weakref), and a sampled fingerprint guards against the
    array having been modified in place since."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # weakref callbacks may fire inside the lock
        self._entries: dict = {}

    def lookup(self, raw: memoryview) -> tuple[tuple | None, str | None]:
        owner = _memory_owner(raw.obj)
        if isinstance(owner, _core.MappedBlob) and raw.nbytes == owner.size:
            return None, owner.digest  # a blob we loaded: its name is known
        try:
            weakref.ref(owner)
        except TypeError:
            return None, None  # e.g. bytes: cannot tell when it dies, do not cache
        key = (id(owner), _core.buffer_address(raw), raw.nbytes)
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry[0]() is not owner:
            return key, None
        _, digest, fingerprint = entry
        return key, digest if _fingerprint(raw) == fingerprint else None

    def remember(self, key: tuple | None, raw: memoryview, digest: str) -> None:
        if key is None:
            return
        owner = _memory_owner(raw.obj)
        ref = weakref.ref(owner, lambda _, k=key: self._forget(k))
        with self._lock:
            self._entries[key] = (ref, digest, _fingerprint(raw))

    def _forget(self, key: tuple) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def after_fork_in_child(self) -> None:
        self._lock = threading.RLock()  # a parent thread may have held it at the fork


_identity_cache = _IdentityCache()


class _Heartbeat:
    """One daemon thread refreshing the owner heartbeat of every live batch this
    process owns, so that collect_garbage on another host sees them alive."""

    def __init__(self) -> None:
        self._codecs: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.RLock()  # reentrant for the signal handler, as TaskCodec's
        self._thread: threading.Thread | None = None

    def add(self, codec: TaskCodec) -> None:
        with self._lock:
            self._codecs.add(codec)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="joblib_htcondor-heartbeat", daemon=True)
                self._thread.start()

    def discard(self, codec: TaskCodec) -> None:
        with self._lock:
            self._codecs.discard(codec)

    def after_fork_in_child(self) -> None:
        """The parent's batches are not this process's to keep alive (their owner
        record names the parent); their thread was not copied; a lock it held at the
        fork would never be released."""
        self._codecs = weakref.WeakSet()
        self._lock = threading.RLock()
        self._thread = None

    def _run(self) -> None:
        # This thread outlives the batches. A SIGTERM the kernel hands to it instead of
        # the main thread leaves a main thread blocked in a C wait (a multiprocessing
        # queue's lock) without running the Python handler: a pool worker that had run
        # a batch ignored its pool's terminate() (joblib's test_nested_loop hung so).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        while True:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                codecs = list(self._codecs)
            for codec in codecs:
                codec._beat()


_heartbeat = _Heartbeat()
os.register_at_fork(after_in_child=_identity_cache.after_fork_in_child)
os.register_at_fork(after_in_child=_heartbeat.after_fork_in_child)


class PreparedFile:
    """A pickled object that is not written yet (see TaskCodec.prepare)."""

    __slots__ = ("data", "buffers", "digests", "estimate_files", "estimate_blobs")

    def __init__(self, data: bytes, buffers: list):
        self.data = data
        self.buffers = buffers  # pickle.PickleBuffer views of the caller's memory
        self.digests: list = []  # with measure: one per buffer
        self.estimate_files = 0  # the signed file
        self.estimate_blobs = 0  # blobs it would be the first to write


class TaskCodec:
    """Writes and reads the task and result files of one batch.

    Parameters
    ----------
    shared_dir : path
        The ``shared_data_dir``; the store and the key live under it.
    batch_id : str
        Names the batch's references in the store. The first process to open a
        batch owns it (the caller); workers opening it later only add references,
        so result blobs stay alive until the caller releases the batch.
    run_id : str, optional
        The root batch id of the run (default: ``batch_id``). With the batch id
        and the task's name it is bound into every file's signature.
    out_of_band : bool
        Large buffers go to the store (default). False keeps them in the file: a
        worker in HTCondor's file-transfer mode, whose result file is all that
        goes back.
    durable : bool
        Task, result and owner files are fsynced before and after their rename
        (default): they survive a crash of this machine. False keeps them atomic
        (whole or absent) but not durable: for the local scheduler, whose readers
        die with the machine (include/jhtc/durability.hpp). Blobs are always fsynced.
    about : _core.BatchOwner, optional
        The owner record the caller's batch writes when it opens the batch: its
        lineage and where its jobs are (include/jhtc/batch_owner.hpp).

    Directories are created owner-only, and existing ones are refused
    (``UnsafePathError``) unless owned by the user and not writable by others.

    Thread-safe: dump and load may be called from several threads.
    Raises IntegrityError (naming the file and the failed check) for a file or
    blob that fails verification; nothing of such a file is unpickled.
    """

    def __init__(self, shared_dir: PathLike, batch_id: str, run_id: str | None = None,
                 out_of_band: bool = True, durable: bool = True,
                 about: _core.BatchOwner | None = None):
        self._out_of_band = out_of_band
        self._durability = _core.Durability.crash_safe if durable else _core.Durability.atomic
        self._shared_dir = os.path.abspath(os.fspath(shared_dir))
        self._store = _core.ContentStore(store_dir(shared_dir))
        self._key = _core.SigningKey.load_or_create(keys_dir(shared_dir))
        self._batch_id = batch_id
        self._run_id = run_id or batch_id
        # Reentrant: a signal handler (see _signals) releases the batch from the main
        # thread, which may have been interrupted inside one of these sections.
        self._lock = threading.RLock()
        # Signed files this codec wrote and not yet forgotten, and their total size:
        # kept as a running sum so that bytes_held costs the same at the 100,000th task
        # as at the first (no stat of every file ever written).
        self._files: dict[str, int] = {}
        self._file_bytes = 0
        self._counted: set[str] = set()  # blobs this batch wrote or was told of
        self._result_blob_bytes = 0
        self._released = False
        self.owner = self._store.open_batch(batch_id, self._durability,
                                            about if about is not None else _core.BatchOwner())
        if self.owner:
            _heartbeat.add(self)

    def take_over(self, about: _core.BatchOwner) -> None:
        """Makes this process the owner of the batch (a rerun adopting a killed run's
        jobs), its record saying ``about``; the heartbeat thread keeps it alive."""
        self._store.take_over(self._batch_id, about, self._durability)
        self.owner = True
        _heartbeat.add(self)

    def mark_abandoned(self) -> None:
        """The batch ended without removing its jobs: its owner record says so, and
        stays with its references until the recovery removes the jobs. No lock is
        taken (a signal handler may call it)."""
        _heartbeat.discard(self)
        self._store.mark_abandoned(self._batch_id)

    @property
    def batch_id(self) -> str:
        return self._batch_id

    def identity(self, path: PathLike, kind: str | None = None,
                 attempt: int = 0) -> _core.SignedIdentity:
        """Whose file ``path`` is: its kind, this codec's run and batch, the task's
        name (the file's stem) and, for a result, the attempt that wrote it."""
        kind = kind or _kind_for(path)
        return _core.SignedIdentity(kind, self._run_id, self._batch_id, task_name(path),
                                    attempt if kind == "result" else -1)

    def dump(self, obj, path: PathLike, *, kind: str | None = None, attempt: int = 0) -> int:
        """Writes ``obj`` as a signed file at ``path`` (kind inferred from the name:
        ``*.result`` is a result, anything else a task; a result is signed for
        ``attempt``). Returns the bytes newly written to the shared directory: the
        file plus blobs that were not there."""
        file_bytes, blob_bytes = self.write(self.prepare(obj), path, kind=kind, attempt=attempt)
        return file_bytes + blob_bytes

    def prepare(self, obj, *, measure: bool = False) -> PreparedFile:
        """Pickles ``obj`` without writing anything; its large buffers stay views of
        the caller's memory until ``write``. With ``measure``, the buffers are hashed
        now (the digests are reused by ``write``) so that the estimate counts only
        blobs neither the store nor an earlier task of this batch has: what
        max_shared_disk needs to know before the file may be written."""
        buffers: list = []

        def keep_large_out_of_band(buffer: pickle.PickleBuffer) -> bool:
            if not self._out_of_band or buffer.raw().nbytes < OUT_OF_BAND_MIN:
                return True  # in-band
            buffers.append(buffer)
            return False

        data = cloudpickle.dumps(obj, protocol=5, buffer_callback=keep_large_out_of_band)
        prepared = PreparedFile(data, buffers)
        prepared.estimate_files = len(data) + _SIGNED_OVERHEAD + _REF_BYTES * len(buffers)
        if measure:
            for buffer in buffers:
                raw = buffer.raw()
                digest = self._digest_of(raw)
                prepared.digests.append(digest)
                with self._lock:
                    new = digest not in self._counted
                    self._counted.add(digest)
                if new and not self._store.contains(digest):
                    prepared.estimate_blobs += raw.nbytes
        return prepared

    def write(self, prepared: PreparedFile, path: PathLike, *,
              kind: str | None = None, attempt: int = 0) -> tuple[int, int]:
        """Writes a prepared file at ``path``: its new blobs to the store, then the
        signed file, atomically. Returns (bytes of the file, bytes of new blobs)."""
        path = os.fspath(path)
        self._check_dirs(path)
        refs, blob_bytes = [], 0
        for i, buffer in enumerate(prepared.buffers):
            hint = prepared.digests[i] if i < len(prepared.digests) else None
            digest, size, new = self._put(buffer.raw(), hint)
            if i >= len(prepared.digests):
                prepared.digests.append(digest)
            refs.append([digest, size])
            blob_bytes += size if new else 0
            with self._lock:
                self._counted.add(digest)
        header = json.dumps({"format": _FORMAT, "buffers": refs}).encode()
        payload = b"".join([_HEADER_LEN.pack(len(header)), header, prepared.data])
        size = _core.write_signed_file(path, self.identity(path, kind, attempt), payload,
                                       self._key, self._durability)
        with self._lock:
            self._file_bytes += size - self._files.get(path, 0)
            self._files[path] = size
        return size, blob_bytes

    def forget(self, path: PathLike) -> None:
        """``path``, a file this codec wrote, is gone (or about to be): it no longer
        counts in ``bytes_held`` and its entry is dropped. Unknown paths are ignored."""
        with self._lock:
            self._file_bytes -= self._files.pop(os.fspath(path), 0)

    def _check_dirs(self, path: str) -> None:
        """Every directory between the shared directory and ``path`` must be this
        user's, not a link and not writable by others (UnsafePathError): a group
        member who renamed ``batches`` and put a directory or link of their own in
        its place is refused, not read from or written to."""
        parent = os.path.dirname(os.path.abspath(path))
        relative = os.path.relpath(parent, self._shared_dir)
        if relative == "." or relative.startswith(".."):
            return
        current = self._shared_dir
        for part in relative.split(os.sep):
            current = os.path.join(current, part)
            if not _core.check_owned_dir(current):
                return  # missing: opening the file says so

    def _digest_of(self, raw: memoryview) -> str:
        key, digest = _identity_cache.lookup(raw)
        if digest is None:
            digest = _core.sha256_digest(raw)
            _identity_cache.remember(key, raw, digest)
        return digest

    def _put(self, raw: memoryview, hint: str | None = None) -> tuple[str, int, bool]:
        key, known = _identity_cache.lookup(raw)
        hint = hint or known
        digest, new = self._store.put(raw, self._batch_id, hint or "")
        if digest != hint:
            _identity_cache.remember(key, raw, digest)
        return digest, raw.nbytes, new

    def blob_paths(self, prepared: PreparedFile) -> list[str]:
        """The store's files a written ``prepared`` file refers to, each once (what a
        job needs besides its task file when HTCondor transfers the files)."""
        return [self._store.path_of(digest) for digest in dict.fromkeys(prepared.digests)]

    @property
    def key_path(self) -> str:
        """The user's signing key: every job needs it to verify and sign."""
        return _core.SigningKey.key_path(keys_dir(self._shared_dir))

    def take_result_blob_bytes(self) -> int:
        """Bytes of result blobs loaded since the last call that no task of this
        batch had written: data the workers added to the shared directory."""
        with self._lock:
            taken, self._result_blob_bytes = self._result_blob_bytes, 0
        return taken

    def load(self, path: PathLike, *, delete: bool = False, kind: str | None = None,
             writable: bool | None = None, attempt: int = 0):
        """Verifies and unpickles the file at ``path``, which must carry this
        codec's run and batch, the task name of ``path`` and, for a result,
        ``attempt``.

        ``delete`` removes the file once it is loaded (delete_task_file_on_load);
        its blobs stay while the batch references them. Arrays are views of the
        mapped blobs: read-only for tasks, copy-on-write for results (``writable``
        overrides). Raises IntegrityError naming ``path`` if the file or one of its
        blobs fails verification (a symlink, FIFO or oversize file, a bad HMAC, an
        identity mismatch saying which identity was expected and which found, a
        blob not owned by the user), before anything is unpickled.
        """
        path = os.fspath(path)
        kind = kind or _kind_for(path)
        writable = kind == "result" if writable is None else writable
        self._check_dirs(path)
        payload = _core.read_signed_file(path, self._key, self.identity(path, kind, attempt))
        body, buffers = self._parse(path, payload)
        blobs = []
        for digest, size in buffers:
            try:
                blobs.append(self._store.open_mapped(digest, True, size, writable))
            except (IntegrityError, ValueError) as error:
                raise IntegrityError(f"'{path}': a data blob failed verification: {error}") \
                    from error
        if kind == "result":
            with self._lock:
                for digest, size in buffers:
                    if digest not in self._counted:
                        self._counted.add(digest)
                        self._result_blob_bytes += size
        obj = pickle.loads(body, buffers=blobs)
        if delete:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            self.forget(path)
        return obj

    @staticmethod
    def _parse(path: str, payload: bytes) -> tuple[memoryview, list]:
        # The payload is authenticated, so a malformed one is our own bug or a
        # format from another version; still, never index past its end.
        view = memoryview(payload)
        try:
            (length,) = _HEADER_LEN.unpack_from(view)
            header = json.loads(bytes(view[_HEADER_LEN.size : _HEADER_LEN.size + length]))
            if header.get("format") != _FORMAT:
                raise ValueError(f"format {header.get('format')!r}, expected {_FORMAT}")
            buffers = [(str(d), int(n)) for d, n in header["buffers"]]
        except (struct.error, ValueError, KeyError, TypeError) as error:
            raise IntegrityError(f"'{path}': malformed payload header: {error}") from error
        return view[_HEADER_LEN.size + length :], buffers

    @property
    def bytes_held(self) -> int:
        """Bytes this batch holds in the shared directory: the distinct blobs it
        references (task and result data) plus the signed files this codec wrote
        and has not been told are gone (``forget``). A task file a worker deleted on
        load (delete_task_file_on_load) counts until its task's outcome is in."""
        total = self._store.bytes_held(self._batch_id)
        with self._lock:
            return total + self._file_bytes

    def release(self) -> None:
        """Drops this batch's references and deletes the blobs no other batch
        references. The signed files are the batch directory's business."""
        _heartbeat.discard(self)
        with self._lock:
            self._released = True
            self._files.clear()
            self._file_bytes = 0
        self._store.release(self._batch_id)

    def _beat(self) -> None:
        if not self._released:
            try:
                self._store.heartbeat(self._batch_id)
            except OSError:
                pass  # released meanwhile, or the shared dir is briefly unreachable


def collect_garbage(shared_dir: PathLike, stale_after_s: float = 3600, keep=()) -> dict:
    """Removes what dead runs left in ``<shared_dir>/store``: references of batches
    whose owner is gone (same host: the process died; other hosts: no heartbeat
    for ``stale_after_s``), then blobs nobody references and stray temporary files.
    The batches named in ``keep`` stay (a run waiting to be resumed, or adopted).
    Returns counts: batches_removed, blobs_removed, temp_files_removed, bytes_freed."""
    if not os.path.isdir(store_dir(shared_dir)):
        return {"batches_removed": 0, "blobs_removed": 0, "temp_files_removed": 0,
                "bytes_freed": 0}
    return _core.ContentStore(store_dir(shared_dir)).collect_garbage(stale_after_s, list(keep))
