#!/usr/bin/env python3
"""Compare what two tarballs hold: path, type, mode, owner, size, symlink
target, device numbers, mtime (seconds), xattrs (incl. ACLs and file
capabilities as pax records), and hard links (as groups of names).
lost+found, which mke2fs adds, and the root entry are left out.

usage: tarlist.py [-D] [-x PATH]... A.tar[.zst] B.tar[.zst]
    exit 0 when equal, else the first differences
  -D       leave directory mtimes out (a VolFs unpack, version 1, stamps
           folders with the time it ran)
  -L       leave symlink modes out (Linux has none: VolFs shows 0777 as Linux
           does, whatever mode the tarball recorded)
  -x PATH  leave PATH out (e.g. /mnt/host, which running version 1 creates)
"""
import subprocess, sys, tarfile

args, no_dir_mtime, no_link_mode, excluded = sys.argv[1:], False, False, set()
while args and args[0].startswith("-"):
    if args[0] == "-D":
        no_dir_mtime, args = True, args[1:]
    elif args[0] == "-L":
        no_link_mode, args = True, args[1:]
    elif args[0] == "-x":
        excluded.add(args[1]); args = args[2:]
    else:
        sys.exit("unknown option " + args[0])

def members(path):
    if path.endswith(".zst"):
        z = subprocess.Popen(["zstd", "-dc", path], stdout=subprocess.PIPE)
        tf = tarfile.open(fileobj=z.stdout, mode="r|")
    else:
        tf = tarfile.open(path, mode="r|*")
    out = {}
    for m in tf:
        p = "/" + m.name.lstrip("./").rstrip("/")
        if p in ("/", "/lost+found") or p in excluded:
            continue
        out[p] = m
    return out

def listing(path):
    ms = members(path)
    groups = {}
    for p, m in ms.items():
        if m.islnk():
            t = "/" + m.linkname.lstrip("./")
            groups.setdefault(t, {t}).add(p)
    rows = {}
    for p, m in ms.items():
        src = ms.get("/" + m.linkname.lstrip("./")) if m.islnk() else m
        if src is None:
            rows[p] = ("dangling hard link",)
            continue
        xattrs = tuple(sorted((k, v) for k, v in src.pax_headers.items() if k.startswith("SCHILY.xattr.")))
        key = "/" + m.linkname.lstrip("./") if m.islnk() else p
        group = tuple(sorted(groups.get(key, {p})))
        mode = "-" if no_link_mode and src.issym() else oct(src.mode)
        rows[p] = (src.type if not src.islnk() else b"0", mode, src.uid, src.gid,
                   src.size if src.isreg() else 0, src.linkname if src.issym() else "",
                   (src.devmajor, src.devminor) if src.ischr() or src.isblk() else (),
                   0 if no_dir_mtime and src.isdir() else int(src.mtime), xattrs, group)
    return rows

a, b = listing(args[0]), listing(args[1])
diff = []
for p in sorted(set(a) | set(b)):
    if a.get(p) != b.get(p):
        diff.append(f"{p}: {a.get(p)} != {b.get(p)}")
if diff:
    print(f"{len(diff)} differences: " + " | ".join(diff[:3]))
    sys.exit(1)
print(f"{len(a)} entries equal")
