"""Server comparison: the core of our correctness claims.

snapshot(server) describes every non-system database as a flat dict
{key: value}; keys are tuples such as ('table', db, name).  diff() turns two
snapshots into readable lines; compare_servers() adds sample rows when table
data differ.

What is compared, per database:
- SHOW CREATE DATABASE (charset, collation, comment);
- the set of tables/views/sequences with their type and engine;
- SHOW CREATE TABLE, exactly (AUTO_INCREMENT included);
- data: CHECKSUM TABLE ... EXTENDED, except for tables with generated
  columns (the checksum is not reproducible there on 10.11) and system-
  versioned tables (history rows and row_start/row_end differ after any
  restore): those compare their current rows, every column but the period
  columns, as a sorted multiset of HEX() encodings;
- SHOW CREATE VIEW (all columns), SHOW CREATE PROCEDURE/FUNCTION (all
  columns: sql_mode, body, character sets), triggers (SHOW CREATE TRIGGER
  minus its Created time, plus timing/event/ACTION_ORDER), events (SHOW
  CREATE EVENT plus status/schedule from information_schema.EVENTS),
  sequences (SHOW CREATE SEQUENCE and the sequence table's row, i.e.
  next_not_cached_value and friends).
"""

import difflib

from .server import SYSTEM_DBS, ident, sql_quote


def _in_list(names):
    return "(" + ",".join(sql_quote(n) for n in names) + ")"


def _qualified(db, name):
    return ident(db) + "." + ident(name)


def _column_expr(name, data_type):
    col = ident(name)
    if data_type == "float":
        # The server prints FLOAT with 6 digits; DOUBLE is exact for it.
        return "IFNULL(HEX(CAST(CAST(%s AS DOUBLE) AS BINARY)),'N')" % col
    if data_type in ("enum", "set"):
        # The text hides the ENUM error value and a SET's '' member.
        return "IFNULL(CONCAT(HEX(CAST(%s AS BINARY)),':',%s+0),'N')" % (
            col, col)
    return "IFNULL(HEX(CAST(%s AS BINARY)),'N')" % col


def _schema_rows(server, databases):
    where = "WHERE %s IN " + _in_list(databases)
    objs, cols, trig, ev, rout = server.query_many([
        "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, ENGINE FROM "
        "information_schema.TABLES " + where % "TABLE_SCHEMA",
        "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, DATA_TYPE, "
        "IS_GENERATED, GENERATION_EXPRESSION FROM information_schema.COLUMNS "
        + where % "TABLE_SCHEMA" + " ORDER BY TABLE_SCHEMA, TABLE_NAME, "
        "ORDINAL_POSITION",
        "SELECT TRIGGER_SCHEMA, TRIGGER_NAME, EVENT_OBJECT_TABLE, "
        "ACTION_TIMING, EVENT_MANIPULATION, ACTION_ORDER FROM "
        "information_schema.TRIGGERS " + where % "TRIGGER_SCHEMA",
        "SELECT EVENT_SCHEMA, EVENT_NAME, DEFINER, TIME_ZONE, EVENT_TYPE, "
        "EXECUTE_AT, INTERVAL_VALUE, INTERVAL_FIELD, SQL_MODE, STARTS, ENDS, "
        "STATUS, ON_COMPLETION, EVENT_COMMENT FROM information_schema.EVENTS "
        + where % "EVENT_SCHEMA",
        "SELECT ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE FROM "
        "information_schema.ROUTINES " + where % "ROUTINE_SCHEMA",
    ])
    return objs, cols, trig, ev, rout


class Snapshot(dict):
    """{key: value} plus what is needed to fetch rows on a mismatch."""

    def __init__(self):
        super().__init__()
        self.columns = {}  # (db, table) -> [(name, data_type, generated)]


def _row_select(db, table, columns):
    """SELECT of a table's current rows as one HEX()-encoded field per row;
    period columns (ROW START/ROW END) left out.  None if no columns."""
    exprs = [_column_expr(name, dtype) for name, dtype, gen in columns
             if gen not in ("ROW START", "ROW END")]
    if not exprs:
        return None
    return "SELECT CONCAT_WS(',', %s) FROM %s" % (", ".join(exprs),
                                                   _qualified(db, table))


def row_lines(server, db, table, columns):
    """The table's current rows as sorted lines (see _row_select)."""
    sql = _row_select(db, table, columns)
    if sql is None:
        return []
    text = server.run_sql(sql)
    return sorted(l for l in text.split("\n") if l)


def snapshot(server, databases=None):
    dbs = list(databases) if databases else server.user_databases()
    dbs = [d for d in dbs if d not in SYSTEM_DBS]
    snap = Snapshot()
    snap[("databases",)] = sorted(dbs)
    if not dbs:
        return snap
    objs, cols, trigs, events, routines = _schema_rows(server, dbs)

    for db, table, name, dtype, is_gen, gen_expr in cols:
        gen = gen_expr if is_gen == "ALWAYS" else None
        snap.columns.setdefault((db, table), []).append((name, dtype, gen))

    stmts, keys = [], []

    def add(key, stmt, transform):
        keys.append((key, transform))
        stmts.append(stmt)

    def whole(rows):
        return rows

    for db in dbs:
        add(("database", db), "SHOW CREATE DATABASE " + ident(db),
            lambda rows: rows[0][1])
        snap[("objects", db)] = sorted(
            (t, typ, eng) for d, t, typ, eng in objs if d == db)

    checksum_tables, row_tables = [], []
    for db, t, typ, eng in objs:
        q = _qualified(db, t)
        if typ in ("BASE TABLE", "SYSTEM VERSIONED"):
            add(("table", db, t), "SHOW CREATE TABLE " + q,
                lambda rows: rows[0][1])
            columns = snap.columns.get((db, t), [])
            if typ == "SYSTEM VERSIONED" or any(c[2] for c in columns):
                row_tables.append((db, t))
            else:
                checksum_tables.append((db, t))
        elif typ == "VIEW":
            add(("view", db, t), "SHOW CREATE VIEW " + q, whole)
        elif typ == "SEQUENCE":
            add(("sequence", db, t), "SHOW CREATE SEQUENCE " + q,
                lambda rows: rows[0][1])
            add(("sequence_state", db, t), "SELECT * FROM " + q, whole)

    for db, name, typ in routines:
        add(("routine", db, typ, name),
            "SHOW CREATE %s %s" % (typ, _qualified(db, name)), whole)

    for db, name, table, timing, event, order in trigs:
        snap[("trigger_order", db, name)] = (table, timing, event, order)
        # The last column (Created) is the creation time: never equal.
        add(("trigger", db, name), "SHOW CREATE TRIGGER " +
            _qualified(db, name), lambda rows: [r[:6] for r in rows])

    for row in events:
        db, name = row[0], row[1]
        snap[("event_info", db, name)] = row[2:]
        add(("event", db, name), "SHOW CREATE EVENT " + _qualified(db, name),
            whole)

    if checksum_tables:
        stmts.append("CHECKSUM TABLE " + ", ".join(
            _qualified(db, t) for db, t in checksum_tables) + " EXTENDED")
        keys.append((None, None))

    for db, t in row_tables:
        sql = _row_select(db, t, snap.columns.get((db, t), []))
        if sql is None:
            snap[("data", db, t)] = ("rows", [])
        else:
            add(("data", db, t), sql,
                lambda rows: ("rows", sorted(r[0] for r in rows)))

    results = server.query_many(stmts)
    for (key, transform), rows in zip(keys, results):
        if key is None:
            for (db, t), (_, checksum) in zip(checksum_tables, rows):
                snap[("data", db, t)] = ("checksum", checksum)
        else:
            snap[key] = transform(rows)
    return snap


def _fmt(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and value and \
            isinstance(value[0], (list, tuple)):
        return "\n".join(" | ".join("NULL" if f is None else str(f)
                                    for f in r) for r in value)
    return repr(value)


def _value_diff(a, b, name_a, name_b, limit=40):
    la = _fmt(a).split("\n")
    lb = _fmt(b).split("\n")
    lines = list(difflib.unified_diff(la, lb, name_a, name_b, lineterm="",
                                      n=1))
    if len(lines) > limit:
        lines = lines[:limit] + ["... (%d more diff lines)" %
                                 (len(lines) - limit)]
    return ["    " + (l if len(l) < 300 else l[:300] + "...")
            for l in lines]


def _rows_diff(a_lines, b_lines, name_a, name_b, limit=5):
    sa, sb = {}, {}
    for l in a_lines:
        sa[l] = sa.get(l, 0) + 1
    for l in b_lines:
        sb[l] = sb.get(l, 0) + 1
    only_a = [l for l in sa if sa[l] > sb.get(l, 0)]
    only_b = [l for l in sb if sb[l] > sa.get(l, 0)]
    out = ["    %d rows in %s, %d rows in %s; %d/%d distinct rows differ "
           "(fields are HEX, N = NULL)" % (len(a_lines), name_a,
                                           len(b_lines), name_b,
                                           len(only_a), len(only_b))]
    for tag, lst in (("-", only_a), ("+", only_b)):
        for l in lst[:limit]:
            out.append("    %s %s" % (tag, l if len(l) < 300
                                       else l[:300] + "..."))
    return out


def _keystr(key):
    return key[0] + " " + ".".join("`%s`" % k for k in key[1:])


def diff(a, b, name_a="A", name_b="B", ignore=()):
    """Readable differences between two snapshots ([] when equal).  `ignore`
    holds keys (tuples) to skip."""
    ignore = set(ignore)
    out = []
    for key in sorted(set(a) | set(b), key=lambda k: tuple(map(str, k))):
        if key in ignore:
            continue
        if key not in b:
            out.append("- %s: only in %s" % (_keystr(key), name_a))
        elif key not in a:
            out.append("+ %s: only in %s" % (_keystr(key), name_b))
        elif a[key] != b[key]:
            out.append("~ %s differs:" % _keystr(key))
            va, vb = a[key], b[key]
            if key[0] == "data" and va[0] == vb[0] == "rows":
                out += _rows_diff(va[1], vb[1], name_a, name_b)
            elif key[0] == "data":
                out.append("    %s: %s, %s: %s" % (name_a, va, name_b, vb))
            else:
                out += _value_diff(va, vb, name_a, name_b)
    return out


def compare_servers(a, b, databases=None, ignore=(), name_a=None,
                    name_b=None):
    """Compares every non-system database (or `databases`) of servers a and
    b; returns [] when equal, else readable lines.  When checksums differ,
    sample rows are fetched to show what differs."""
    name_a = name_a or a.name
    name_b = name_b or b.name
    sa = snapshot(a, databases)
    sb = snapshot(b, databases)
    lines = diff(sa, sb, name_a, name_b, ignore)
    for key in sorted(k for k in set(sa) & set(sb) if k[0] == "data"):
        if key in ignore or sa[key] == sb[key] or sa[key][0] != "checksum":
            continue
        _, db, t = key
        cols_a = sa.columns.get((db, t), [])
        if cols_a != sb.columns.get((db, t), []):
            continue  # the SHOW CREATE TABLE diff says it already
        lines.append("  rows of `%s`.`%s`:" % (db, t))
        lines += _rows_diff(row_lines(a, db, t, cols_a),
                            row_lines(b, db, t, cols_a), name_a, name_b)
    return lines


def assert_same(a, b, databases=None, ignore=(), what=""):
    lines = compare_servers(a, b, databases, ignore)
    if lines:
        head = "servers differ%s (%d differences):\n" % (
            " (" + what + ")" if what else "",
            sum(1 for l in lines if not l.startswith(" ")))
        raise AssertionError(head + "\n".join(lines[:400]))
