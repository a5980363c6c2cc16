"""dumpfs INI files (docs/config.md) for a test server and key."""

import os


def write_config(path, server, key, user=None, databases=(), via="tcp",
                 archive_dir=None, compression_level=6, extra=None,
                 fingerprint=True):
    """Writes a config for `server` (dump account `user`, default the
    server's backup user) encrypting to `key`.  via: "tcp" (host/port) or
    "socket".  extra: {section: {key: value}} added or overriding; a value of
    None removes the key.  Returns path."""
    user = user or server.backup_user
    sections = {
        "mariadb": {
            "host": server.host,
            "port": str(server.port),
            "user": user.name,
            "password_file": user.password_file,
            "databases": ", ".join(databases),
        },
        "dump": {
            "compression_level": str(compression_level),
        },
        "gpg": {
            "public_key_file": key.public_key_file,
            "recipient": key.email,
        },
        "archive": {
            "dir": archive_dir or os.path.join(os.path.dirname(path),
                                               "archive"),
            "schedule": "off",
        },
    }
    if via == "socket":
        sections["mariadb"]["socket"] = server.socket
    if fingerprint:
        sections["gpg"]["fingerprint"] = key.fingerprint
    for sect, kv in (extra or {}).items():
        target = sections.setdefault(sect, {})
        for k, v in kv.items():
            if v is None:
                target.pop(k, None)
            else:
                target[k] = v
    lines = ["; dumpfs test config (written by the integration harness)"]
    for sect, kv in sections.items():
        lines.append("")
        lines.append("[%s]" % sect)
        for k, v in kv.items():
            lines.append("%s = %s" % (k, v))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path
