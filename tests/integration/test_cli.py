"""The command line itself: every command's --help, without a config,
a server or a key (nothing is read or started before the help)."""
import re
import subprocess

from harness.dumpfs import assert_no_sanitizer, dumpfs_bin


def commands():
    """The commands `dumpfs --help` lists (`dumpfs NAME ...` lines)."""
    out = subprocess.run([dumpfs_bin(), "--help"], capture_output=True, check=True).stdout
    names = re.findall(rb"^\s+dumpfs ([a-z]+) ", out, re.M) + [b"mount"]
    return sorted({n.decode() for n in names})


def test_help_lists_the_commands():
    assert {"dump", "backup", "check", "verify", "restore", "mount"} <= set(commands())


def test_every_command_help_exits_0():
    for name in commands():
        for form in (["--help"], ["-h"], ["-c", "/nonexistent.ini", "--help"]):
            res = subprocess.run([dumpfs_bin(), name] + form, capture_output=True,
                                 env={"PATH": "/usr/bin:/bin"}, timeout=30)
            assert res.returncode == 0, (name, form, res.stderr.decode())
            assert re.search(rb"usage: .*dumpfs", res.stdout), (name, form, res.stdout)
            assert_no_sanitizer(res.stderr)


def test_help_after_double_dash_is_an_operand():
    res = subprocess.run([dumpfs_bin(), "verify", "--", "--help"], capture_output=True,
                         env={"PATH": "/usr/bin:/bin", "DUMPFS_CONFIG": "/nonexistent.ini"},
                         timeout=30)
    assert res.returncode != 0
    assert b"usage" not in res.stdout
