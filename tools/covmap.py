#!/usr/bin/env python3
"""Coverage per scenario: which driver lines and branches each scenario file reaches.

    covmap.py collect ROOT MAP.json   gcov over ROOT/<run>/ (one gcda tree per run,
                                      written with GCOV_PREFIX) into one map
    covmap.py report MAP.json [DIR]   per file (under DIR): lines and branches reached
                                      by the corpus, by the unit suites, by nothing
    covmap.py who MAP.json FILE:LINE  the runs that reach that line, branch by branch
    covmap.py adds MAP.json RUN       what RUN reaches that no other scenario does
    covmap.py unreached MAP.json FILE the lines and branches of FILE nothing reaches

A run is a scenario file (its path with '/' as '__') or "_units" (the CUnit
suites). Only the project's own files are kept: drivers/ and sim/.
Run from the repository root; the build tree is build-cov/ (make coverage-scenarios).
"""
import json
import os
import signal
import subprocess
import sys

UNITS = "_units"
KEEP = ("drivers/", "sim/")


def gcov_json(obj_dir, sources):
    """gcov's JSON for the sources whose gcda/gcno are in obj_dir."""
    out = subprocess.run(["gcov", "--json-format", "--stdout", "--branch-probabilities",
                          "-o", obj_dir] + sources, capture_output=True, text=True)
    for chunk in out.stdout.splitlines():
        if chunk.strip():
            yield json.loads(chunk)


def run_hits(run_root, build):
    """{file: (set of lines hit, set of "line:branch" taken, lines, branches)}."""
    files = {}
    obj_root = os.path.join(run_root, build, "obj")
    for dirpath, _, names in os.walk(obj_root):
        gcdas = [n for n in names if n.endswith(".gcda")]
        if not gcdas:
            continue
        rel = os.path.relpath(dirpath, obj_root)
        for n in gcdas:
            gcno = os.path.join(build, "obj", rel, n[:-5] + ".gcno")
            link = os.path.join(dirpath, n[:-5] + ".gcno")
            if not os.path.exists(link):
                os.symlink(os.path.abspath(gcno), link)
        sources = [os.path.join(rel, n[:-5] + ".c") for n in gcdas]
        for doc in gcov_json(dirpath, sources):
            for f in doc["files"]:
                if f["file"].startswith(KEEP):
                    merge_file(files.setdefault(f["file"], [set(), set(), set(), set()]), f)
    return files


def merge_file(acc, f):
    for ln in f["lines"]:
        n = ln["line_number"]
        acc[2].add(n)
        if ln["count"] > 0:
            acc[0].add(n)
        for i, br in enumerate(ln["branches"]):
            key = "%d:%d" % (n, i)
            acc[3].add(key)
            if br["count"] > 0:
                acc[1].add(key)


def collect(root, out, build="build-cov"):
    cov = {"lines": {}, "branches": {}, "hits": {}}
    for run in sorted(os.listdir(root)):
        for path, (lines, brs, all_lines, all_brs) in run_hits(os.path.join(root, run), build).items():
            cov["lines"].setdefault(path, set()).update(all_lines)
            cov["branches"].setdefault(path, set()).update(all_brs)
            h = cov["hits"].setdefault(path, {})
            for n in lines:
                h.setdefault(str(n), []).append(run)
            for b in brs:
                h.setdefault("b" + b, []).append(run)
    cov["lines"] = {k: sorted(v) for k, v in cov["lines"].items()}
    cov["branches"] = {k: sorted(v) for k, v in cov["branches"].items()}
    with open(out, "w") as fp:
        json.dump(cov, fp)
    print("covmap: %d runs, %d files -> %s" % (len(os.listdir(root)), len(cov["lines"]), out))


def load(path):
    with open(path) as fp:
        return json.load(fp)


def pct(n, d):
    return "%5.1f%%" % (100.0 * n / d) if d else "    -"


def report(cov, prefix=""):
    print("%-38s %6s %7s %7s %7s  %6s %7s %7s %7s" % (
        "file", "lines", "corpus", "units", "none", "brs", "corpus", "units", "none"))
    for path in sorted(cov["lines"]):
        if not path.startswith(prefix):
            continue
        h = cov["hits"].get(path, {})
        row = [path]
        for keys in ([str(n) for n in cov["lines"][path]], ["b" + b for b in cov["branches"][path]]):
            scn = sum(1 for k in keys if any(r != UNITS for r in h.get(k, [])))
            unit = sum(1 for k in keys if UNITS in h.get(k, []))
            none = sum(1 for k in keys if not h.get(k))
            row += [len(keys), pct(scn, len(keys)), pct(unit, len(keys)), str(none)]
        print("%-38s %6d %7s %7s %7s  %6d %7s %7s %7s" % tuple(row))


def who(cov, where):
    path, _, line = where.rpartition(":")
    if path not in cov["lines"]:
        sys.exit("covmap: %s: no coverage data for this file (known files: drivers/..., sim/...)" % path)
    h = cov["hits"].get(path, {})
    runs = h.get(line, [])
    print("%s:%s reached by %d run(s): %s" % (path, line, len(runs), " ".join(runs) or "none"))
    branches = set(cov["branches"][path])
    i = 0
    while "%s:%d" % (line, i) in branches:
        runs = h.get("b%s:%d" % (line, i), [])
        print("  branch %d taken by %d run(s): %s" % (i, len(runs), " ".join(runs) or "none"))
        i += 1


def spans(nums):
    """[1,2,3,7,9,10] -> "1-3,7,9-10": a reader's view of a line list."""
    out, start, prev = [], None, None
    for n in nums + [None]:
        if start is not None and (n is None or n != prev + 1):
            out.append(str(start) if start == prev else "%d-%d" % (start, prev))
            start = None
        if start is None:
            start = n
        prev = n
    return ",".join(out)


def adds(cov, run):
    found = 0
    for path in sorted(cov["hits"]):
        only = [k for k, runs in cov["hits"][path].items() if runs == [run]]
        if only:
            lines = sorted(int(k) for k in only if not k.startswith("b"))
            brs = sorted((k[1:] for k in only if k.startswith("b")),
                         key=lambda b: tuple(int(x) for x in b.split(":")))
            print("%s: %d line(s) %s; %d branch(es) %s" % (
                path, len(lines), spans(lines), len(brs), ",".join(brs)))
            found += 1
    if not found:
        print("%s reaches nothing that another run does not" % run)


def unreached(cov, path):
    h = cov["hits"].get(path, {})
    lines = [n for n in cov["lines"].get(path, []) if not h.get(str(n))]
    brs = sorted((b for b in cov["branches"].get(path, []) if not h.get("b" + b)),
                 key=lambda b: tuple(int(x) for x in b.split(":")))
    print("%s: %d line(s) nothing reaches: %s" % (path, len(lines), spans(lines)))
    print("%s: %d branch(es) nothing takes: %s" % (path, len(brs), ",".join(brs)))


def main(argv):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)   # `| head` is a normal way to read it
    usage = __doc__.split("\n\n")[1]
    if len(argv) < 3:
        sys.exit("usage:\n" + usage)
    cmd = argv[1]
    if cmd == "collect" and len(argv) == 4:
        return collect(argv[2], argv[3])
    if cmd not in ("report", "who", "adds", "unreached"):
        sys.exit("covmap: unknown command '%s'\nusage:\n%s" % (cmd, usage))
    cov = load(argv[2])
    if cmd == "report":
        return report(cov, argv[3] if len(argv) > 3 else "")
    if len(argv) != 4:
        sys.exit("usage:\n" + usage)
    {"who": who, "adds": adds, "unreached": unreached}[cmd](cov, argv[3])


if __name__ == "__main__":
    main(sys.argv)
