"""Processes that die with their parent, even when the parent is killed with SIGKILL.

Without this, killing `prepare` with SIGKILL left its pool workers running, and killing
`report` left its jobs and their kernels running: they went on to publish reports whose
state files and index the dead parent never wrote. Every process a run starts is
therefore bound to its parent:

- prepare's pool workers call `bind(parent)` as the pool's initializer;
- a report job calls `bind(parent)` first thing, with the PID of the run that started it
  (passed on its command line), and checks `orphaned(parent)` again right before each
  publishing rename;
- the kernel a job starts gets `preexec(job)` as its launch's `preexec_fn`.

On Linux, `bind` asks the kernel to send the process SIGKILL when its parent dies
(`prctl(PR_SET_PDEATHSIG)`), then checks that the parent is still the expected one: if
the parent died before the request, the process has already been handed to another
parent and would never get the signal, so it exits at once. Linux sends the signal when
the *thread* that started the process ends, not the whole process: the callers start
their children from a thread that outlives them (prepare's main thread; a report thread
waits for its job; a job starts its kernel from its main thread).

Elsewhere (macOS, BSD) `bind` starts a daemon thread that polls `os.getppid()` every
half second and exits the process when the parent changed; kernels there rely on
ipykernel's own parent poller (`JPY_PARENT_PID`, once a second). Windows is not
covered: its processes are not re-parented, so `os.getppid()` does not change (and
`report` needs POSIX process groups anyway).
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5
ORPHANED_EXIT = 3        # exit status of a process whose parent was gone


class Orphaned(RuntimeError):
    """The process that started this one is gone: nothing may be published."""


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()   # resolved once, so that a preexec function only calls it


def orphaned(parent: int) -> bool:
    """True when this process's parent is no longer `parent` (it died, and this process
    was handed to init or a subreaper)."""
    return os.getppid() != parent


def check(parent: int) -> None:
    """Raise Orphaned when the parent that started this process is gone."""
    if orphaned(parent):
        raise Orphaned(f"the process that started this one ({parent}) is gone")


def _pdeathsig() -> bool:
    return _PRCTL is not None and _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0


def _watch(parent: int) -> None:
    def run() -> None:
        while not orphaned(parent):
            time.sleep(POLL_SECONDS)
        os._exit(ORPHANED_EXIT)

    threading.Thread(target=run, name="lifeline", daemon=True).start()


def bind(parent: int) -> None:
    """Make this process die when `parent`, the process that started it, dies: call it
    first thing in the child. Exits at once if the parent is already gone."""
    if not _pdeathsig():
        _watch(parent)
    if orphaned(parent):    # died before the request: the signal will never come
        os._exit(ORPHANED_EXIT)


def preexec(parent: int):
    """A `preexec_fn` for subprocess.Popen (run in the child between fork and exec; the
    request survives exec): the child gets SIGKILL when `parent` dies. None where Linux's
    prctl is not available (the child must then watch its parent itself)."""
    if _PRCTL is None:
        return None

    def request() -> None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(ORPHANED_EXIT)

    return request


def pool_context():
    """The multiprocessing context for pools whose workers `bind` to this process. On
    Linux: fork (Python's default there before 3.14), so that a worker's parent is this
    process and not a fork server; elsewhere the platform's default (spawn)."""
    import multiprocessing

    return multiprocessing.get_context("fork") if sys.platform.startswith("linux") else None
