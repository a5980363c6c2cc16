#!/usr/bin/env python3
"""junit2tap.py REPORT.xml: a pytest --junitxml report as TAP, the one
format tests/run.sh counts: "1..N", then per test "ok N - name",
"not ok N - name # first line of the failure" or "ok N - name # SKIP why"
(an expected failure, xfail, is a skip too).  Exit status 1 when the
report cannot be read (pytest did not write it: it crashed)."""
import sys
import xml.etree.ElementTree as ET


def first_line(text):
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


def tap_line(n, case):
    name = "::".join(p for p in (case.get("classname"), case.get("name")) if p)
    bad = [e for e in case if e.tag in ("failure", "error")]
    skip = case.find("skipped")
    if bad:
        why = first_line(bad[0].get("message")) or bad[0].tag
        return "not ok %d - %s # %s" % (n, name, why)
    if skip is not None:
        why = first_line(skip.get("message")) or "(no reason given)"
        if why.startswith("Skipped: "):
            why = why[len("Skipped: "):]
        if skip.get("type") == "pytest.xfail":
            why = "expected failure: " + why
        return "ok %d - %s # SKIP %s" % (n, name, why)
    return "ok %d - %s" % (n, name)


def main():
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except (OSError, ET.ParseError) as e:
        print("# cannot read the pytest report %s: %s" % (sys.argv[1], e))
        return 1
    cases = list(root.iter("testcase"))
    print("1..%d" % len(cases))
    for n, case in enumerate(cases, 1):
        print(tap_line(n, case))
    return 0


if __name__ == "__main__":
    sys.exit(main())
