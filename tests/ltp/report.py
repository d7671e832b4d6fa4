#!/usr/bin/env python3
"""tests/ltp/report.py - the table of an LTP run (tests/ltp/run.sh, issue 15).

Reads DIR/native.tsv and DIR/pico.tsv (name group result status ms note) and
tests/ltp/known-failures, and prints a markdown section "tests/ltp (issue 15)":
per group, how many tests pass natively, pass under lxs-pico, are TCONF and
fail on each side; then the regressions (fail under lxs-pico, pass natively,
not in known-failures) and the known failures that now pass. Last line:
  RESULT ltp native_pass=N pico_pass=N pico_of_native_pct=P

usage: tests/ltp/report.py [--dir DIR] [--write RESULTS.md]
       tests/ltp/report.py [--dir DIR] --subset N   (prints the N fastest
                                                     tests that pass natively)
       tests/ltp/report.py [--dir DIR] --known-draft (known-failures lines for
                                                      the native-pass, pico-fail
                                                      tests, the first error line
                                                      as the reason)
stdlib only.
"""
import argparse
import datetime
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TITLE = "## tests/ltp (issue 15)"


def read_tsv(path):
    rows = {}
    if not os.path.exists(path):
        return rows
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) < 5:
                continue
            while len(p) < 6:
                p.append("")
            rows[p[0]] = {"group": p[1], "result": p[2], "status": p[3],
                          "ms": int(p[4]) if p[4].isdigit() else 0, "note": p[5]}
    return rows


def read_known(path):
    """known-failures: NAME REASON, one a line; '#' comments."""
    known = {}
    if not os.path.exists(path):
        return known
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            p = line.split(None, 1)
            known[p[0]] = p[1] if len(p) > 1 else ""
    return known


def md(s):
    return s.replace("|", "\\|")


def short(note, n=110):
    note = re.sub(r"\s+", " ", note).strip()
    return note if len(note) <= n else note[: n - 3] + "..."


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=os.path.join(HERE, "..", "..", "build", "ltp"))
    ap.add_argument("--known", default=os.path.join(HERE, "known-failures"))
    ap.add_argument("--write", metavar="RESULTS_MD")
    ap.add_argument("--subset", type=int, metavar="N")
    ap.add_argument("--known-draft", action="store_true")
    a = ap.parse_args()

    nat = read_tsv(os.path.join(a.dir, "native.tsv"))
    pic = read_tsv(os.path.join(a.dir, "pico.tsv"))
    known = read_known(a.known)
    if not nat:
        print("report.py: no %s/native.tsv (run tests/ltp/run.sh)" % a.dir, file=sys.stderr)
        return 1

    if a.subset:
        ok = sorted((r["ms"], n) for n, r in nat.items() if r["result"] == "pass")
        print("# tests/ltp/subset - the %d fastest tests of runtest/syscalls that pass" % a.subset)
        print("# natively (tests/ltp/report.py --subset %d, from a native run of" % a.subset)
        print("# %s); tests/ltp/subset.sh runs them under lxs-pico." % datetime.date.today())
        for _, n in sorted(ok[: a.subset], key=lambda x: x[1]):
            print(n)
        return 0

    both = [n for n in nat if nat[n]["result"] == "pass" and n in pic]
    pfail = sorted(n for n in both if pic[n]["result"] != "pass")
    if a.known_draft:
        for n in pfail:
            print("%-24s %s: %s" % (n, pic[n]["result"], short(pic[n]["note"], 140)))
        return 0

    bygroup = {}
    for n in set(nat) | set(pic):
        bygroup.setdefault((nat.get(n) or pic.get(n))["group"], []).append(n)
    out = []
    w = out.append
    npass = sum(1 for r in nat.values() if r["result"] == "pass")
    ppass = sum(1 for r in pic.values() if r["result"] == "pass")
    both_pass = sum(1 for n in both if pic[n]["result"] == "pass")
    pct = 100.0 * both_pass / npass if npass else 0.0
    w(TITLE)
    w("")
    nexcl = 0
    if os.path.exists(os.path.join(a.dir, "excluded.tsv")):
        nexcl = sum(1 for _ in open(os.path.join(a.dir, "excluded.tsv")))
    secs = lambda rows: sum(r["ms"] for r in rows.values()) / 1000.0
    w("LTP's `runtest/syscalls` (source: %s), run by `make ltp` (tests/ltp/run.sh) natively "
      "as root and under lxs-pico as fake root (uid 65534 outside) in a Debian bookworm "
      "minbase tree, %s, this host, 2 tests at a time, each with its own TMPDIR, a 60 s "
      "limit and LTP_RUNTIME_MUL=0.2. A test passes when it exits 0; 32 (TCONF) is conf; "
      "anything else (TWARN, a signal, the time limit) fails, as LTP's runner counts. "
      "%d tests ran on each side (sum of their times: %.0f s natively, %.0f s under "
      "lxs-pico); %d were left out (`tests/ltp/exclude`: clock, mounts, modules, swap, ...; "
      "and those whose source wants a block device or mounts): `build/ltp/excluded.tsv`. "
      "Per test: `build/ltp/{native,pico}.tsv` and `build/ltp/{native,pico}/NAME.log`."
      % (source_name(a.dir), datetime.date.today(), len(nat), secs(nat), secs(pic), nexcl))
    w("")
    w("Pass natively: **%d**; under lxs-pico: **%d**; of those passing natively, **%d** "
      "pass under lxs-pico: **%.1f%%**." % (npass, ppass, both_pass, pct))
    w("")
    w("| group | tests | native pass | pico pass | native conf | pico conf | native fail | pico fail |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    tot = [0] * 7
    for gname in sorted(bygroup):
        names = bygroup[gname]
        row = [len(names),
               sum(nat.get(n, {}).get("result") == "pass" for n in names),
               sum(pic.get(n, {}).get("result") == "pass" for n in names),
               sum(nat.get(n, {}).get("result") == "conf" for n in names),
               sum(pic.get(n, {}).get("result") == "conf" for n in names),
               sum(nat.get(n, {}).get("result") == "fail" for n in names),
               sum(pic.get(n, {}).get("result") == "fail" for n in names)]
        tot = [x + y for x, y in zip(tot, row)]
        mark = "**%d**" % row[2] if row[2] < row[1] else str(row[2])
        w("| %s | %d | %d | %s | %d | %d | %d | %d |" % (md(gname), row[0], row[1], mark, *row[3:]))
    w("| **all** | %d | %d | %d | %d | %d | %d | %d |" % tuple(tot))
    w("")
    w("(bold: fewer pass under lxs-pico than natively.)")
    w("")

    regress = [n for n in pfail if n not in known]
    fixed = sorted(n for n in known if n in pic and pic[n]["result"] == "pass")
    w("Passing natively but not under lxs-pico, by reason (`tests/ltp/known-failures`): %d tests." % len(pfail))
    w("")
    reasons = {}
    for n in pfail:
        if n in known:
            reasons.setdefault(known[n], []).append(n)
    for why, ns in sorted(reasons.items(), key=lambda x: (-len(x[1]), x[0])):
        w("- %s (%d): %s" % (md(why), len(ns), ", ".join(sorted(ns))))
    w("")
    w("Regressions (fail under lxs-pico, pass natively, not in known-failures): %d."
      % len(regress))
    if regress:
        w("")
    for n in regress:
        w("- %s (%s): %s" % (n, pic[n]["result"], md(short(pic[n]["note"]))))
    w("")
    w("Known failures that now pass under lxs-pico: %d." % len(fixed))
    if fixed:
        w("")
    for n in fixed:
        w("- %s (%s)" % (n, md(known[n])))
    w("")
    text = "\n".join(out)
    print(text)
    if a.write:
        write_section(a.write, text)
    print("RESULT ltp native_pass=%d pico_pass=%d pico_of_native_pct=%.1f" % (npass, ppass, pct))
    return 0


def source_name(d):
    p = os.path.join(d, "SOURCE")
    if os.path.exists(p):
        return open(p).read().strip()
    return "LTP"


def write_section(path, text):
    """Replaces the section TITLE (up to the next '## ') in path, or adds it
    after the file's first section."""
    lines = open(path, encoding="utf-8").read().split("\n") if os.path.exists(path) else ["# Measurements", ""]
    start = next((i for i, l in enumerate(lines) if l.startswith(TITLE)), None)
    if start is None:
        # Newest measurements come first, after the file's preamble.
        at = next((i for i, l in enumerate(lines) if l.startswith("## ")), len(lines))
        lines[at:at] = text.split("\n") + [""]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines[start:end] = text.split("\n")
    tmp = path + ".new"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
