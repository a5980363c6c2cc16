"""Process bookkeeping: every server the harness starts is registered here so
that an atexit handler can SIGKILL whatever is still alive (a test run that
crashes or is interrupted must not leave mariadbd processes behind)."""

import atexit
import ctypes
import os
import signal

_owned = {}  # pid -> description
_PR_SET_PDEATHSIG = 1


def register(pid, what):
    _owned[pid] = what


def forget(pid):
    _owned.pop(pid, None)


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_all():
    for pid in list(_owned):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        _owned.pop(pid, None)


atexit.register(kill_all)


def die_with_parent():
    """preexec_fn: the child gets SIGKILL when the thread that started it
    exits, so even a SIGKILLed test run leaves no server behind."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass
