"""Canonical file listings, to check that an image holds what its tarball held.

  listing.py tar TARBALL > expected      (on the host; .zst via zstd -dc)
  listing.py compare EXPECTED ACTUAL     (ACTUAL from GNU find inside the
      distro: find / -xdev -printf '%p|%y|%m|%U|%G|%s|%n|%l|%T@\\n')
Records: path|type|mode|uid|gid|size|nlink|target|mtime, with "-" where a field
does not apply (directory sizes and link counts belong to the file system).
Paths the container mounts over (/dev /proc /sys /run) are left out."""
import subprocess
import sys
import tarfile

SKIP = ("/dev", "/proc", "/sys", "/run")


def skipped(path):
    return path == "/" or any(path == s or path.startswith(s + "/") for s in SKIP)


def from_tar(path):
    if path.endswith(".zst"):
        z = subprocess.Popen(["zstd", "-dc", path], stdout=subprocess.PIPE)
        tf = tarfile.open(fileobj=z.stdout, mode="r|")
    else:
        tf = tarfile.open(path, mode="r|*")
    members, names = {}, {}
    for m in tf:
        p = "/" + m.name.lstrip("./").rstrip("/") if m.name not in (".", "./") else "/"
        members[p] = m
    links = {}
    for p, m in members.items():
        if m.islnk():
            t = "/" + m.linkname.lstrip("./")
            links.setdefault(t, [t]).append(p)
    out = {}
    for p, m in members.items():
        if skipped(p):
            continue
        src = members.get("/" + m.linkname.lstrip("./")) if m.islnk() else m
        if src is None:
            continue
        kind = "f" if src.isreg() or m.islnk() else "d" if src.isdir() else "l" if src.issym() \
            else "c" if src.ischr() else "b" if src.isblk() else "p" if src.isfifo() else "?"
        group = next((g for g in links.values() if p in g), None)
        out[p] = "|".join([
            p, kind,
            "-" if kind == "l" else "%o" % (src.mode & 0o7777),
            str(src.uid), str(src.gid),
            str(src.size) if kind == "f" else "-",
            str(len(group)) if group else ("1" if kind == "f" else "-"),
            src.linkname if kind == "l" else "-",
            "-" if kind == "d" else str(int(src.mtime)),
        ])
    return out


def from_find(path):
    out = {}
    for line in open(path, encoding="utf-8", errors="surrogateescape"):
        f = line.rstrip("\n").split("|")
        if len(f) != 9 or skipped(f[0]):
            continue
        p, kind, mode, uid, gid, size, nlink, target, mtime = f
        out[p] = "|".join([
            p, kind, "-" if kind == "l" else "%o" % int(mode, 8), uid, gid,
            size if kind == "f" else "-",
            nlink if kind == "f" else "-",
            target if kind == "l" else "-",
            "-" if kind == "d" else str(int(float(mtime))),
        ])
    return out


if sys.argv[1] == "tar":
    for p, rec in sorted(from_tar(sys.argv[2]).items()):
        print(rec)
elif sys.argv[1] == "compare":
    want = {l.split("|")[0]: l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8", errors="surrogateescape")}
    got = from_find(sys.argv[3])
    missing = sorted(set(want) - set(got))
    differ = sorted(p for p in set(want) & set(got) if want[p] != got[p])
    if missing or differ or not want:
        print(f"{len(want)} entries in the tarball: {len(missing)} missing in the guest, {len(differ)} differ; "
              + "; ".join([f"missing {p}" for p in missing[:3]] +
                          [f"{want[p]} != {got[p]}" for p in differ[:3]]))
        sys.exit(1)
    print(f"{len(want)} entries match")
