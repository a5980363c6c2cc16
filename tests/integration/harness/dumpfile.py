"""Looking inside dump files: OpenPGP framing, gzip, the SQL text."""

import gzip

COMPLETION_LINE = b"-- dumpfs: dump completed"
SANDBOX_MARK = b"enable the sandbox mode"


def first_bytes(path, n=64):
    with open(path, "rb") as f:
        return f.read(n)


def is_binary_openpgp_start(data):
    """A binary OpenPGP message starts with a packet tag: bit 7 set; an
    encrypted message with a PKESK (tag 1) or SKESK (tag 3) packet."""
    if not data or not data[0] & 0x80:
        return False
    b = data[0]
    tag = (b & 0x3F) if b & 0x40 else ((b >> 2) & 0x0F)
    return tag in (1, 3)


def gunzip(data):
    """All gzip members (gzip.decompress reads concatenated members)."""
    return gzip.decompress(data)


def sql_lines(sql):
    return sql.split(b"\n")


def last_line(sql):
    return sql.rstrip(b"\n").rsplit(b"\n", 1)[-1]


def normalise(sql):
    """Drops the '-- ' comment lines (dump time, server version, binlog
    position) but keeps the completion line: what is left must be the same
    for two dumps of an unchanged server."""
    return [l for l in sql.split(b"\n")
            if not l.startswith(b"-- ") or l == COMPLETION_LINE]
