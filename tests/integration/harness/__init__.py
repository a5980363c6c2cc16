"""Test harness for dumpfs: private MariaDB servers with encryption at rest,
throwaway GnuPG keys, config files, the dumpfs runner, restore pipelines and
the server comparison that backs our correctness claims.  Stdlib only."""

import os

HARNESS_DIR = os.path.dirname(os.path.abspath(__file__))
INTEGRATION_DIR = os.path.dirname(HARNESS_DIR)
REPO_ROOT = os.path.dirname(os.path.dirname(INTEGRATION_DIR))
CORPUS_DIR = os.path.join(INTEGRATION_DIR, "corpus")
