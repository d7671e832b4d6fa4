#!/usr/bin/env python3
"""Prints the state of a canary folder, one line per name (the folder
itself first): type, mode, owner, links, size, mtime and ctime in ns,
the content's sha256 or a symlink's target, and the xattrs. Symlinks are
never followed. Two equal outputs mean nothing in the folder was written,
chmodded, chowned, linked to, renamed or given an xattr.

usage: snapshot.py DIR
"""
import hashlib, os, stat, sys


def line(path, rel):
    st = os.lstat(path)
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            what = hashlib.sha256(f.read()).hexdigest()
    elif stat.S_ISLNK(st.st_mode):
        what = "-> " + os.readlink(path)
    else:
        what = "-"
    try:
        xs = sorted("%s=%r" % (n, os.getxattr(path, n, follow_symlinks=False))
                    for n in os.listxattr(path, follow_symlinks=False))
    except OSError:
        xs = ["?"]
    return "%s %o %d:%d n%d s%d m%d c%d %s [%s]" % (rel, st.st_mode, st.st_uid, st.st_gid, st.st_nlink,
                                                   st.st_size, st.st_mtime_ns, st.st_ctime_ns, what, " ".join(xs))


def main():
    top = sys.argv[1]
    out = [line(top, ".")]
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for n in sorted(dirs + files):
            p = os.path.join(d, n)
            out.append(line(p, os.path.relpath(p, top)))
    print("\n".join(out))


if __name__ == "__main__":
    main()
