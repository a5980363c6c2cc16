"""python3 -m harness demo-up DIR | demo-down DIR   (see harness/demo.py)"""

import sys

from . import demo


def main(argv):
    if len(argv) != 2 or argv[0] not in ("demo-up", "demo-down"):
        sys.stderr.write("usage: python3 -m harness demo-up|demo-down DIR\n")
        return 2
    if argv[0] == "demo-up":
        try:
            demo.up(argv[1])
        except Exception:
            demo.down(argv[1])
            raise
    else:
        demo.down(argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
