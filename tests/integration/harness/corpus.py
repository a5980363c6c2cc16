"""The test corpus: tests/integration/corpus/*.sql, loaded in name order
with the stock client."""

import glob
import os

from . import CORPUS_DIR

# Databases whose views call stored functions: the dump user needs EXECUTE
# there (docs/files.md).
EXECUTE_DBS = ("corpus_prog",)

# What stock mariadb-dump (10.11) cannot reproduce faithfully; the
# differential test skips these keys and the harness self-test checks that
# they really differ, so the list stays honest.  key -> reason.
MARIADB_DUMP_LOSSY = {
    ("data", "corpus_types", "floats"):
        "FLOAT is printed with 6 significant digits (123456792 -> "
        "123457000), so the restored values differ",
    ("data", "corpus_types", "newtypes"):
        "a SET value holding the '' member prints like one without it "
        "(',a' and 'a' both print 'a'); only the numeric value keeps it",
}

# Databases the mariadb-dump reference cannot dump at all.  db -> reason.
MARIADB_DUMP_SKIP_DBS = {
    "corpus_zz_event": "mariadb-dump loops forever on an event whose body "
                       "contains ';;' (create_delimiter() bug)",
}


def corpus_files():
    return sorted(glob.glob(os.path.join(CORPUS_DIR, "*.sql")))


def load_corpus(server):
    for path in corpus_files():
        server.load_file(path)
