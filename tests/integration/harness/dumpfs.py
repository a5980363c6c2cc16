"""Running the dumpfs binary under test.

DUMPFS_BIN names it (tests/run.sh points it at the ASan/UBSan build);
default ./dumpfs in the repo.  Its stderr is always scanned for sanitizer
reports: any finding fails the test, whatever the exit code."""

import atexit
import os
import re
import shutil
import subprocess
import tempfile

from . import REPO_ROOT

SANITIZER_PATTERNS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "LeakSanitizer",
    "runtime error:",
    "WARNING: AddressSanitizer",
    "ThreadSanitizer",
    "UndefinedBehaviorSanitizer",
)

_gnupg_home = []


# Any of them in a daemon's or command's output fails the test.
SANITIZER = re.compile("|".join(re.escape(p) for p in SANITIZER_PATTERNS))


def find_dumpfs_bin():
    """The binary under test: DUMPFS_BIN (relative to the repo unless
    absolute), else the ASan build, else ./dumpfs.  Returns (path, problem):
    problem is None when path is an executable file, else says what to do."""
    path = os.environ.get("DUMPFS_BIN")
    if path:
        path = path if os.path.isabs(path) else os.path.join(REPO_ROOT, path)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path, None
        return path, ("DUMPFS_BIN=%s is not an executable file (run make asan, "
                      "or point DUMPFS_BIN at a dumpfs binary)" % path)
    tried = []
    for cand in ("build/asan/dumpfs", "dumpfs"):
        path = os.path.join(REPO_ROOT, cand)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path, None
        tried.append(path)
    return None, ("no dumpfs binary to test: DUMPFS_BIN is unset and none of "
                  "%s exists (run make asan, or set DUMPFS_BIN)" % ", ".join(tried))


def dumpfs_bin():
    """The binary under test (find_dumpfs_bin); without one the test fails,
    never skips (conftest.py refuses to start the session first)."""
    path, problem = find_dumpfs_bin()
    assert problem is None, problem
    return path


def assert_no_sanitizer(output):
    """Fails on a sanitizer report in output (bytes or str)."""
    if isinstance(output, bytes):
        output = output.decode(errors="replace")
    assert not SANITIZER.search(output), output[-20000:]


def child_env(config=None, gnupghome=None):
    """The caller's environment without DUMPFS_* (they would override the
    config under test; DUMPFS_BIN is ours), plus DUMPFS_CONFIG and
    GNUPGHOME when given, and leak detection on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUMPFS_")}
    if config:
        env["DUMPFS_CONFIG"] = config
    if gnupghome:
        env["GNUPGHOME"] = gnupghome
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    return env


def run_dumpfs(args, config=None, gnupghome=None, timeout=600, stdout=None):
    """dumpfs with args and the config in DUMPFS_CONFIG (the caller's
    GNUPGHOME unless given); the CompletedProcess, output in bytes.  Fails
    the test on a sanitizer report."""
    res = subprocess.run([dumpfs_bin()] + list(args),
                         env=child_env(config, gnupghome),
                         stdin=subprocess.DEVNULL,
                         stdout=stdout or subprocess.PIPE,
                         stderr=subprocess.PIPE, timeout=timeout)
    assert_no_sanitizer(res.stderr)
    return res


def empty_gnupg_home():
    """An empty GNUPGHOME for dumpfs: it must encrypt from public_key_file
    alone, never from somebody's keyring."""
    if not _gnupg_home:
        _gnupg_home.append(tempfile.mkdtemp(prefix="dfh", dir="/tmp"))
        os.chmod(_gnupg_home[0], 0o700)
        atexit.register(_remove_gnupg_home)
    return _gnupg_home[0]


def _remove_gnupg_home():
    for home in _gnupg_home:
        subprocess.run(["gpgconf", "--homedir", home, "--kill", "all"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(home, ignore_errors=True)


def clean_env(extra=None):
    """The environment for dumpfs: no DUMPFS_* overrides leak in from the
    caller (they would change the config under test)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DUMPFS_")}
    env["GNUPGHOME"] = empty_gnupg_home()
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    env.update(extra or {})
    return env


def sanitizer_findings(stderr):
    return [l for l in stderr.splitlines()
            if any(p in l for p in SANITIZER_PATTERNS)]


class Result:
    def __init__(self, args, returncode, stdout, stderr):
        self.args = args
        self.returncode = returncode
        self.stdout = stdout  # bytes
        self.stderr = stderr  # str

    def __repr__(self):
        return "<dumpfs %s: exit %s, stderr %r>" % (
            " ".join(self.args[1:]), self.returncode, self.stderr[-2000:])


def check_sanitizers(res):
    found = sanitizer_findings(res.stderr)
    assert not found, "sanitizer report from %s:\n%s" % (
        " ".join(res.args), res.stderr[-20000:])


def run(args, env=None, timeout=600, stdout=None, cwd=None):
    """Runs dumpfs with args; returns a Result (stdout bytes unless a file
    object was given).  Fails the test on sanitizer reports."""
    binary = dumpfs_bin()
    assert os.path.isfile(binary) and os.access(binary, os.X_OK), \
        "dumpfs binary %s is missing or not executable (make, or set " \
        "DUMPFS_BIN)" % binary
    cmd = [binary] + list(args)
    res = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                         stdout=stdout if stdout else subprocess.PIPE,
                         stderr=subprocess.PIPE, env=clean_env(env),
                         timeout=timeout, cwd=cwd)
    result = Result(cmd, res.returncode, res.stdout if not stdout else None,
                    res.stderr.decode(errors="replace"))
    check_sanitizers(result)
    return result


def popen(args, env=None, stdout=None, stderr=None):
    """dumpfs as a running process (for kill tests); the caller checks
    sanitizers with check_stderr()."""
    binary = dumpfs_bin()
    assert os.path.isfile(binary), "dumpfs binary %s is missing" % binary
    return subprocess.Popen([binary] + list(args), stdin=subprocess.DEVNULL,
                            stdout=stdout or subprocess.DEVNULL,
                            stderr=stderr or subprocess.PIPE,
                            env=clean_env(env))


def mentions_line(text, line):
    """True when `text` names line number `line` (":7", "line 7", ...)."""
    return re.search(r"(?:[:(]|line\s*)%d\b" % line, text, re.I) is not None
