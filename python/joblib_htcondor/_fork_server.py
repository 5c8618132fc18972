"""The local scheduler's fork server: ``python -m joblib_htcondor.worker --serve``.

A fresh worker process spends seconds importing numpy, scikit-learn, julearn
before it runs a task of a fraction of that. The local driver (src/jhtc/local/)
therefore starts one "zygote" per process, shared by every batch: it imports the
modules named in JOBLIB_HTCONDOR_PRELOAD once (those of its own environment at
start, then those each new connection names), then forks one child per job, which
runs exactly what ``python -m joblib_htcondor.worker TASKFILE`` runs.

Channels, all stream sockets, one line per message, fields separated by tabs:

- control channels carry no lines, only new connections (one socket each, passed
  with SCM_RIGHTS): fd JOBLIB_HTCONDOR_SERVE_FD (3), from the process that started
  the zygote, and one per forked child, through which the drivers of the child's
  nested batches connect (``adopt``). When fd 3 closes, the starting process is
  gone: the zygote kills every child and exits.
- a connection belongs to one driver (one batch):

    driver -> zygote   environ  NAME=VALUE  ...   (first; the jobs' whole environment,
                                                   fields escaped: \\ \t \n)
                       JOB  TASKFILE  ATTEMPT  STDOUT_PATH  STDERR_PATH
    zygote -> driver   started  JOB  PID           (the child leads its own process group)
                       exited   JOB  WAIT_STATUS  USER_S  SYS_S  MAXRSS_KB
                                (wait4's status and rusage of the child)
                       failed   JOB  MESSAGE       (the child could not be forked)

  When a connection closes, the zygote kills the process groups of its children.

What a child inherits from the zygote is the zygote's memory: its imports, and
nothing any task did, since every job is a fresh fork. This module imports only
the standard library at its top level: the C++ tests load it without the package.

Fork safety: the zygote forks from its main thread and runs no threads of its
own; the driver bounds the BLAS/OpenMP pools (OMP_NUM_THREADS etc.), so numpy's
import starts none either. A warning goes to the zygote's stderr otherwise. A
connection whose jobs may use more threads than the zygote's libraries were
loaded with gets them in each child through threadpoolctl, where installed.
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

# Spelled here, not imported: the C++ tests run this file as a script, outside the
# package (JHTC_FORK_SERVER_PY). _layout takes them from here.
SYS_PATH_ENV = "JOBLIB_HTCONDOR_SYS_PATH"
PRELOAD_ENV = "JOBLIB_HTCONDOR_PRELOAD"
SERVE_FD_ENV = "JOBLIB_HTCONDOR_SERVE_FD"

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


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    out, chars = [], iter(field)
    for char in chars:
        if char == "\\":
            char = {"t": "\t", "n": "\n"}.get(next(chars, ""), "\\")
        out.append(char)
    return "".join(out)


def _add_sys_path(environ) -> None:
    for entry in environ.get(SYS_PATH_ENV, "").split(os.pathsep):
        if entry and entry not in sys.path:
            sys.path.append(entry)  # as the worker does: the caller's modules are importable


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _apply_thread_cap(loaded_with: dict) -> None:
    # Libraries the zygote loaded keep the thread count of its environment; a job
    # whose environment allows another count gets it as a fresh process would.
    wanted = os.environ.get("OMP_NUM_THREADS", "")
    if not wanted.isdigit() or all(os.environ.get(n) == loaded_with.get(n) for n in _THREAD_VARS):
        return
    if not any(name in sys.modules for name in ("numpy", "scipy")):
        return  # nothing loaded yet: the libraries read the new environment
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=int(wanted))


def _reseed() -> None:
    # A fresh worker seeds numpy's global generator from the OS; forked children
    # would all share the zygote's state. (The random module reseeds itself.)
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


def _child(task_path: str, attempt: int, out_path: str, err_path: str,
           run_task: Callable[[str, int], int], environ: dict | None, loaded_with: dict,
           inherited: list, control: socket.socket | None,
           adopt: Callable[[int], None] | None) -> None:
    """Runs in the forked child; never returns."""
    status = 1
    try:
        for closable in inherited:  # nested jobs must not keep the zygote's channels open
            closable.close()
        os.setpgid(0, 0)
        _redirect(out_path, err_path)
        _reset_signals()
        if environ is not None:  # what a spawned job of this connection would see
            os.environ.clear()
            os.environ.update(environ)
        _apply_thread_cap(loaded_with)
        if control is not None:
            if adopt is not None:  # nested batches of this job fork from this zygote too
                adopt(control.detach())
            else:
                control.close()
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


class _Connection:
    """One driver's connection: its jobs' environment and its partial input."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.buffer = b""
        self.environ: dict | None = None
        self.open = True


class _Child:
    def __init__(self, connection: _Connection, job: str, pid: int):
        self.connection, self.job, self.pid = connection, job, pid


class _Server:
    def __init__(self, control: socket.socket, run_task: Callable[[str, int], int],
                 adopt: Callable[[int], None] | None):
        self.control = control
        self.run_task = run_task
        self.adopt = adopt
        self.loaded_with = {name: os.environ.get(name) for name in _THREAD_VARS}
        self.selector = selectors.DefaultSelector()
        self.selector.register(control, selectors.EVENT_READ, "control")
        self.children: dict[int, _Child] = {}  # pidfd -> child

    def report(self, connection: _Connection, *fields) -> None:
        if not connection.open:
            return  # its driver is gone
        try:
            connection.sock.sendall(("\t".join(str(f) for f in fields) + "\n").encode())
        except OSError:
            self.drop(connection)

    def accept(self, control: socket.socket) -> bool:
        """Registers the connections sent over a control channel; False at its EOF."""
        try:
            data, fds, _, _ = socket.recv_fds(control, 64, 16)
        except OSError:
            data, fds = b"", []
        for fd in fds:
            connection = _Connection(socket.socket(fileno=fd))
            self.selector.register(connection.sock, selectors.EVENT_READ, connection)
        if not data and not fds:
            self.selector.unregister(control)
            control.close()
            return False
        return True

    def read(self, connection: _Connection) -> None:
        if not connection.open:
            return  # dropped while handling an earlier event of the same select
        try:
            data = connection.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self.drop(connection)
            return
        connection.buffer += data
        while b"\n" in connection.buffer:
            line, connection.buffer = connection.buffer.split(b"\n", 1)
            fields = line.decode().split("\t")
            if fields[0] == "environ":
                connection.environ = dict(_unescape(f).partition("=")[::2] for f in fields[1:])
                _add_sys_path(connection.environ)
                preload(connection.environ.get(PRELOAD_ENV, ""))
            else:
                self.start(connection, fields)

    def drop(self, connection: _Connection) -> None:
        """The driver closed its connection: its jobs still running end now."""
        if not connection.open:
            return
        connection.open = False
        self.selector.unregister(connection.sock)
        connection.sock.close()
        for child in self.children.values():
            if child.connection is connection:
                try:
                    os.killpg(child.pid, signal.SIGKILL)
                except OSError:
                    pass

    def start(self, connection: _Connection, fields: list) -> None:
        job, task_path, attempt, out_path, err_path = fields
        if not connection.open:
            return
        sys.stdout.flush()
        sys.stderr.flush()
        mine, theirs = socket.socketpair()  # the child's own control channel
        try:
            pid = os.fork()
        except OSError as error:
            mine.close()
            theirs.close()
            self.report(connection, "failed", job, f"fork failed: {error}")
            return
        if pid == 0:
            inherited = [self.selector, mine]
            inherited += [key.fileobj for key in self.selector.get_map().values()
                          if isinstance(key.fileobj, socket.socket)]
            for pidfd in self.children:
                os.close(pidfd)
            _child(task_path, int(attempt), out_path, err_path, self.run_task,
                   connection.environ, self.loaded_with, inherited, theirs, self.adopt)
        theirs.close()
        try:
            os.setpgid(pid, pid)  # also done by the child: whoever is first wins the race
        except OSError:
            pass  # the child already runs another program or has exited
        pidfd = os.pidfd_open(pid)
        self.children[pidfd] = _Child(connection, job, pid)
        self.selector.register(pidfd, selectors.EVENT_READ, "child")
        self.selector.register(mine, selectors.EVENT_READ, "control")
        self.report(connection, "started", job, pid)

    def reap(self, pidfd: int) -> None:
        child = self.children.pop(pidfd)
        self.selector.unregister(pidfd)
        os.close(pidfd)
        _, status, usage = os.wait4(child.pid, 0)
        self.report(child.connection, "exited", child.job, status, f"{usage.ru_utime:.3f}",
                    f"{usage.ru_stime:.3f}", usage.ru_maxrss)

    def loop(self) -> int:
        while True:
            for key, _ in self.selector.select():
                if key.data == "child":
                    self.reap(key.fd)
                elif key.data == "control":
                    if not self.accept(key.fileobj) and key.fileobj is self.control:
                        return self.stop()
                else:
                    self.read(key.data)

    def stop(self) -> int:
        """The process that started the zygote is gone: so are the jobs."""
        for child in self.children.values():
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except OSError:
                pass
        return 0


def serve(run_task: Callable[[str, int], int],
          adopt: Callable[[int], None] | None = None) -> int:
    """Preloads, then serves until the process that started it closes fd 3.
    ``adopt(fd)`` is called in each child with its control channel (the package's
    ``_core.adopt_local_fork_server``); without it, nested batches start their own."""
    _add_sys_path(os.environ)
    preload(os.environ.get(PRELOAD_ENV, ""))
    _warn_about_threads()
    fd = int(os.environ.get(SERVE_FD_ENV, "3"))
    with socket.socket(fileno=fd) as control:
        return _Server(control, run_task, adopt).loop()
