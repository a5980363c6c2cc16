"""A test module's environment: a scratch directory in /tmp and what was
started in it (servers, keys, sinks, mounts), all undone by close() even
when building it failed half-way.

A test module subclasses Workspace, names its directory with `prefix`,
starts its servers and keys in setup() and registers each with own():

    class Env(Workspace):
        prefix = "mnt"

        def setup(self):
            self.server = self.own(Server(name="mnt").start())
            self.key = self.own(GpgKey())

    @pytest.fixture(scope="module")
    def env():
        with Env() as e:
            yield e
"""

import os
import shutil
import tempfile

from .mount import Mount


class Workspace:
    prefix = "ws"  # the scratch directory is /tmp/dfs-<prefix>-XXXXXX

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dfs-%s-" % self.prefix, dir="/tmp")
        self.n = 0  # numbers the config files
        self.mounts = []
        self._owned = []
        try:
            self.setup()
        except BaseException:
            self.close()  # a half-built environment leaves nothing
            raise

    def setup(self):
        """Starts what the module needs; runs inside the constructor's
        guard, so what it own()s is undone when it raises."""

    def own(self, obj):
        """Registers obj to be undone by close(), in reverse order: by its
        cleanup() when it has one (a Server), else by close().  Returns
        obj."""
        self._owned.append(obj)
        return obj

    def subdir(self, name):
        path = os.path.join(self.dir, name)
        os.makedirs(path)
        return path

    def next_config_path(self, where=None):
        """A new config file name in `where` (default: the scratch
        directory); self.n is its number."""
        self.n += 1
        return os.path.join(where or self.dir, "dumpfs-%d.ini" % self.n)

    def secret(self, name, value):
        """DIR/<name>.secret holding value, mode 0600; its path."""
        path = os.path.join(self.dir, name + ".secret")
        with open(path, "w") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(value + "\n")
        return path

    def add_mount(self, m):
        """Registers a Mount to be stopped by close(); returns it."""
        self.mounts.append(m)
        return m

    def mount(self, config, name, args=(), env=None):
        """`dumpfs config DIR/mnt-<name> -f args`, stopped by close()."""
        return self.add_mount(
            Mount(config, os.path.join(self.dir, "mnt-" + name), args, env=env))

    def stop_mount(self, m):
        """How close() ends a mount still running; raises on a sanitizer
        report."""
        if m.running():
            m.stop()

    def close(self):
        """Stops every mount (also when one stop fails), prints the tail of
        each mount's log (pytest shows it for a failed test), undoes what
        was own()ed, removes the directory; then raises the first error
        met on the way, if any."""
        errors = []
        for m in self.mounts:
            try:
                self.stop_mount(m)
            except BaseException as e:  # the other mounts still stop
                errors.append(e)
            try:
                print("---- %s\n%s" % (m.log_path, m.log()[-6000:]))
            except OSError as e:
                print("---- %s: %s" % (m.log_path, e))
        for obj in reversed(self._owned):
            try:
                if hasattr(obj, "cleanup"):
                    obj.cleanup()
                else:
                    obj.close()
            except BaseException as e:  # the rest is still undone
                errors.append(e)
        self._owned.clear()
        self.mounts.clear()
        shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise errors[0]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
