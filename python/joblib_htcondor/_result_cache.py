"""``resume=True``: results of finished tasks kept across runs (see ResultCache)."""

from __future__ import annotations

import logging
from pathlib import Path

logger = logging.getLogger("joblib_htcondor")


class ResultCache:
    """``resume=True``: the results of finished tasks, kept across runs.

    ``<shared>/results/<key>.result`` holds the value returned by a task whose
    content hashes to ``key`` (its functions, their code and their arguments),
    signed as the cache entry of ``key`` (an entry renamed to another key is
    refused):
    a rerun of the same computation after a crash loads it instead of running the
    task again. Entries are signed like results and self-contained (no store
    blobs, so garbage collection never touches them); they stay until the user
    removes the directory. Only successful results are kept.
    """

    KIND = "cache"

    def __init__(self, shared: Path):
        from . import _core
        from ._layout import SharedLayout

        self._core = _core
        layout = SharedLayout.of(shared)
        self.dir = layout.results
        _core.make_private_dir(str(self.dir))
        self._key = _core.SigningKey.load_or_create(str(layout.keys))

    def identity(self, key: str):
        return self._core.SignedIdentity(self.KIND, task=key)

    @staticmethod
    def key_of(func) -> str | None:
        """The task's content hash, or None when it cannot be hashed (not cached).

        joblib hands over a BatchedCalls whose ``items`` are ``(function, args,
        kwargs)``; the function's bytecode is hashed too, so editing a function
        defined in a script invalidates its results."""
        import joblib

        items = getattr(func, "items", None)
        if items is None:
            return None
        try:
            codes = [_code_bytes(item[0]) for item in items]
            return joblib.hash(("jhtc-resume-1", items, codes))
        except Exception as error:  # noqa: BLE001 - unhashable: simply not cached
            logger.debug("task not cacheable: %s", error)
            return None

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.result"

    def get(self, key: str):
        """``(True, value)`` for a cached result, ``(False, None)`` otherwise. An entry
        that fails verification is refused (IntegrityError), never unpickled."""
        import pickle

        path = self.path(key)
        if not path.exists():
            return False, None
        payload = self._core.read_signed_file(str(path), self._key, self.identity(key))
        return True, pickle.loads(payload)

    def put(self, key: str, value) -> None:
        try:
            from ._serialization import cloudpickle

            payload = cloudpickle.dumps(value, protocol=5)
            self._core.write_signed_file(str(self.path(key)), self.identity(key), payload,
                                         self._key)
        except Exception as error:  # noqa: BLE001 - a result not cached is only a lost shortcut
            logger.warning("could not cache a result in %s: %s", self.dir, error)


def _code_bytes(func) -> bytes:
    import marshal

    while hasattr(func, "func") and not hasattr(func, "__code__"):
        func = func.func  # functools.partial, sklearn's _FuncWrapper keeps .function
    func = getattr(func, "function", func)
    code = getattr(func, "__code__", None)
    return marshal.dumps(code) if code is not None else b""
