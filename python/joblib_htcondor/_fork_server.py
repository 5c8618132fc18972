"""The local scheduler's fork server: ``python -m joblib_htcondor.worker --serve``.

A fresh worker process spends seconds importing numpy, scikit-learn, julearn
before it runs a task of a fraction of that. The local driver (src/jhtc/local/)
therefore starts this one "zygote" per batch: it imports the modules named in
JOBLIB_HTCONDOR_PRELOAD once, then forks one child per job, which runs exactly
what ``python -m joblib_htcondor.worker TASKFILE`` runs.

Protocol, over the stream socket inherited as fd JOBLIB_HTCONDOR_SERVE_FD (3),
one line per message, fields separated by tabs:

    driver -> zygote   JOB  TASKFILE  STDOUT_PATH  STDERR_PATH
    zygote -> driver   started  JOB  PID           (the child leads its own process group)
                       exited   JOB  WAIT_STATUS  USER_S  SYS_S  MAXRSS_KB
                                (wait4's status and rusage of the child)
                       failed   JOB  MESSAGE       (the child could not be forked)

The zygote exits when the driver closes the socket. This module imports only
the standard library at its top level: the C++ tests load it without the package.

Fork safety: the zygote forks from its main thread and runs no threads of its
own; the driver bounds the BLAS/OpenMP pools (OMP_NUM_THREADS etc.), so numpy's
import starts none either. A warning goes to the zygote's stderr otherwise.
"""

from __future__ import annotations

import importlib
import os
import selectors
import signal
import socket
import sys
import traceback
from typing import Callable

# Signals a fresh interpreter does not leave at SIG_DFL: keep Python's own choice.
_PYTHON_HANDLED = {signal.SIGINT, signal.SIGPIPE, signal.SIGKILL, signal.SIGSTOP}


def preload(names: str) -> None:
    """Imports the comma-separated modules; one that fails is reported, not fatal."""
    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            importlib.import_module(name)
        except BaseException as error:  # e.g. a module that calls sys.exit on import
            print(f"joblib_htcondor fork server: cannot preload {name}: {error!r}",
                  file=sys.stderr, flush=True)


def _warn_about_threads() -> None:
    # Forking a process with threads copies locks their owners will never release.
    try:
        threads = len(os.listdir("/proc/self/task"))
    except OSError:
        return
    if threads > 1:
        print(f"joblib_htcondor fork server: {threads} threads after preloading; forked "
              "children may deadlock (set OMP_NUM_THREADS/OPENBLAS_NUM_THREADS=1?)",
              file=sys.stderr, flush=True)


def _reset_signals() -> None:
    signal.set_wakeup_fd(-1)
    for signum in signal.valid_signals():
        if signum not in _PYTHON_HANDLED:
            try:
                signal.signal(signum, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])


def _redirect(out_path: str, err_path: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
    streams = ((0, os.devnull, os.O_RDONLY), (1, out_path, flags), (2, err_path, flags))
    for fd, path, mode in streams:
        new = os.open(path, mode, 0o600)
        os.dup2(new, fd)
        os.close(new)


def _reseed() -> None:
    # A fresh worker seeds numpy's global generator from the OS; forked children
    # would all share the zygote's state. (The random module reseeds itself.)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _child(task_path: str, attempt: int, out_path: str, err_path: str,
           run_task: Callable[[str, int], int],
           inherited: list, inherited_fds: list) -> None:
    """Runs in the forked child; never returns."""
    status = 1
    try:
        for closable in inherited:  # nested jobs must not keep the zygote's channel open
            closable.close()
        for fd in inherited_fds:
            os.close(fd)
        os.setpgid(0, 0)
        _redirect(out_path, err_path)
        _reset_signals()
        _reseed()
        status = run_task(task_path, attempt)
    except SystemExit as exit_:
        status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except KeyboardInterrupt:  # like a fresh interpreter: die of SIGINT
        traceback.print_exc()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    except BaseException:
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(status if isinstance(status, int) else 1)


class _Server:
    def __init__(self, channel: socket.socket, run_task: Callable[[str, int], int]):
        self.channel = channel
        self.run_task = run_task
        self.selector = selectors.DefaultSelector()
        self.selector.register(channel, selectors.EVENT_READ)
        self.children: dict[int, tuple[str, int]] = {}  # pidfd -> (job, pid)
        self.buffer = b""

    def report(self, *fields) -> None:
        self.channel.sendall(("\t".join(str(f) for f in fields) + "\n").encode())

    def start(self, line: bytes) -> None:
        job, task_path, attempt, out_path, err_path = line.decode().split("\t")
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as error:
            self.report("failed", job, f"fork failed: {error}")
            return
        if pid == 0:
            _child(task_path, int(attempt), out_path, err_path, self.run_task,
                   [self.selector, self.channel], list(self.children))
        try:
            os.setpgid(pid, pid)  # also done by the child: whoever is first wins the race
        except OSError:
            pass  # the child already runs another program or has exited
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = (job, pid)
        self.selector.register(pidfd, selectors.EVENT_READ)
        self.report("started", job, pid)

    def reap(self, pidfd: int) -> None:
        job, pid = self.children.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status, usage = os.wait4(pid, 0)
        self.report("exited", job, status, f"{usage.ru_utime:.3f}", f"{usage.ru_stime:.3f}",
                    usage.ru_maxrss)

    def loop(self) -> int:
        while True:
            for key, _ in self.selector.select():
                if key.fileobj is self.channel:
                    data = self.channel.recv(65536)
                    if not data:
                        return 0  # the driver is gone; it ends the jobs it still had
                    self.buffer += data
                    while b"\n" in self.buffer:
                        line, self.buffer = self.buffer.split(b"\n", 1)
                        self.start(line)
                else:
                    self.reap(key.fd)


def serve(run_task: Callable[[str, int], int]) -> int:
    """Preloads, then serves the driver until it closes the channel."""
    for entry in os.environ.get("JOBLIB_HTCONDOR_SYS_PATH", "").split(os.pathsep):
        if entry and entry not in sys.path:
            sys.path.append(entry)  # as the worker does: the caller's modules are importable
    preload(os.environ.get("JOBLIB_HTCONDOR_PRELOAD", ""))
    _warn_about_threads()
    fd = int(os.environ.get("JOBLIB_HTCONDOR_SERVE_FD", "3"))
    with socket.socket(fileno=fd) as channel:
        return _Server(channel, run_task).loop()
