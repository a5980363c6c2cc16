#!/usr/bin/python3
"""Fails when the modules of dumper/ and fs/ include each other in a cycle.

A module is a stem: dumper/notify.c, notify.h and notify_priv.h are all
module dumper/notify (a *_priv.h header belongs to the module it serves).
A *_priv.h with no module of its stem (gpg_priv.h, shared by gpgkey.c and
gpgstage.c) is the private part of the modules that include it: no edges
go to or from it.
An edge a -> b means a file of module a includes a header of module b.
Usage: include_cycles.py DIR...   (prints each cycle; exit 1 if any)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def module_of(path):
    """The module of a file; None for a shared private header."""
    stem = os.path.splitext(os.path.normpath(path))[0]
    if not stem.endswith("_priv"):
        return stem
    owner = stem[:-5]
    if os.path.exists(owner + ".c") or os.path.exists(owner + ".h"):
        return owner
    return None


def graph(dirs):
    edges = {}
    for d in dirs:
        for root, _, files in os.walk(d):
            for name in files:
                if not name.endswith((".c", ".h")):
                    continue
                path = os.path.join(root, name)
                mod = module_of(path)
                if mod is None:
                    continue
                with open(path, encoding="utf-8", errors="replace") as f:
                    for inc in INCLUDE.findall(f.read()):
                        target = module_of(os.path.join(root, inc))
                        if target not in (mod, None) and os.path.exists(os.path.join(root, inc)):
                            edges.setdefault(mod, set()).add(target)
    return edges


def cycles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main():
    found = cycles(graph(sys.argv[1:]))
    for comp in found:
        print("include cycle between modules: " + " <-> ".join(comp))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
