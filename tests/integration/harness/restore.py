"""Restore pipelines, streamed through subprocess pipes so no plaintext is
written to disk:  gpg --decrypt FILE | gunzip | mariadb  into a server.

The client options are the ones docs/files.md names for a faithful restore:
`mariadb --comments --max-allowed-packet=1G`."""

import subprocess
import time
import tempfile

RESTORE_CLIENT_OPTS = ["--comments", "--max-allowed-packet=1G"]


class RestoreError(Exception):
    pass


def _restore_cmd(server):
    return ["mariadb", "--no-defaults", "-uroot", "-S", server.socket] + \
        RESTORE_CLIENT_OPTS


def _read(f):
    f.seek(0)
    return f.read().decode(errors="replace").strip()[-3000:]


def run_pipeline(cmds, stdin=subprocess.DEVNULL, timeout=900):
    """Runs cmds as a shell-free pipeline; raises RestoreError naming every
    stage that failed, with its stderr."""
    errs = [tempfile.TemporaryFile() for _ in cmds]
    procs = []
    try:
        prev = stdin
        for i, cmd in enumerate(cmds):
            last = i == len(cmds) - 1
            p = subprocess.Popen(cmd, stdin=prev,
                                 stdout=subprocess.DEVNULL if last
                                 else subprocess.PIPE, stderr=errs[i])
            if procs:
                procs[-1].stdout.close()  # so SIGPIPE reaches the writer
            procs.append(p)
            prev = p.stdout
        # Clients ignore SIGPIPE and may go on after a later stage died:
        # the first failure stops the whole pipeline.
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in procs):
            if any(p.returncode not in (None, 0) for p in procs):
                break
            if time.monotonic() > deadline:
                raise RestoreError("restore pipeline timed out after %ds"
                                   % timeout)
            time.sleep(0.05)
        failed = []
        for cmd, p, err in zip(cmds, procs, errs):
            if p.poll() is None:
                p.kill()
                p.wait()
                failed.append("%s killed: an other stage failed" % cmd[0])
            elif p.returncode != 0:
                failed.append("%s exited %d: %s" % (cmd[0], p.returncode,
                                                    _read(err)))
        if failed:
            raise RestoreError("restore pipeline failed:\n  " +
                               "\n  ".join(failed))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for e in errs:
            e.close()


def restore_encrypted(path, key, server, timeout=900):
    """gpg --decrypt path | gunzip | mariadb --comments ... into server."""
    gpg = ["gpg", "--homedir", key.home, "--batch", "--no-tty", "--quiet",
           "--decrypt", path]
    run_pipeline([gpg, ["gzip", "-dc"], _restore_cmd(server)],
                 timeout=timeout)


def restore_sql_file(path, server, timeout=900):
    with open(path, "rb") as f:
        run_pipeline([_restore_cmd(server)], stdin=f, timeout=timeout)


def mariadb_dump_cmd(server, databases, extra=()):
    """The reference: stock mariadb-dump as root, faithful options.
    --skip-add-locks: under LOCK TABLES, inserting into a table whose column
    DEFAULT is NEXTVAL(seq) fails ("Table 'seq' was not locked")."""
    return ["mariadb-dump", "--no-defaults", "-uroot", "-S", server.socket,
            "--single-transaction", "--routines", "--triggers", "--events",
            "--hex-blob", "--max-allowed-packet=1G", "--skip-add-locks",
            "--databases"] + \
        list(extra) + list(databases)


def mariadb_dump_to(source, target, databases=None, timeout=900):
    """mariadb-dump of source piped straight into target."""
    dbs = databases or source.user_databases()
    run_pipeline([mariadb_dump_cmd(source, dbs), _restore_cmd(target)],
                 timeout=timeout)
