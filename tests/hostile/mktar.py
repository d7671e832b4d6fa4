#!/usr/bin/env python3
"""The hostile-tarball corpus of tests/hostile/run.sh, built with the standard
library only (no root: owners, devices and modes are only header fields).

usage: mktar.py OUTDIR OUTSIDE [--many]
  Writes OUTDIR/CASE.tar for every case below. OUTSIDE is a folder outside
  the import's root holding the canaries: the file OUTSIDE/target, the file
  OUTSIDE/canary and the folder OUTSIDE itself; the attacks aim at them.
  --many also writes many.tar (100,000 small files), which does not depend
  on OUTSIDE.

Each case is (name, what an import must do, builder); run.sh keeps its own
list of expectations, keyed by these names, and fails when the two differ.
"""
import io, os, sys, tarfile

MTIME = 1_000_000_000


def info(name, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, link="", size=0, pax=None):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, MTIME
    ti.linkname, ti.size = link, size
    if pax:
        ti.pax_headers = dict(pax)
    return ti


def reg(t, name, data=b"", mode=0o644, uid=0, gid=0, pax=None):
    t.addfile(info(name, mode=mode, uid=uid, gid=gid, size=len(data), pax=pax), io.BytesIO(data))


def dir_(t, name, mode=0o755, pax=None):
    t.addfile(info(name, tarfile.DIRTYPE, mode=mode, pax=pax))


def sym(t, name, target):
    t.addfile(info(name, tarfile.SYMTYPE, mode=0o777, link=target))


def hard(t, name, target, data=b""):
    # A pax extended header makes libarchive take the data a hard link
    # carries (POSIX lets a pax hard link hold the file's contents).
    t.addfile(info(name, tarfile.LNKTYPE, link=target, size=len(data), pax={"comment": "data follows"}),
              io.BytesIO(data) if data else None)


def dev(t, name, kind, major, minor, mode=0o666, gid=0):
    ti = info(name, kind, mode=mode, gid=gid)
    ti.devmajor, ti.devminor = major, minor
    t.addfile(ti)


def base(t):
    dir_(t, "./")
    dir_(t, "./etc")
    reg(t, "./etc/hostname", b"hostile\n")


# ---- the cases ------------------------------------------------------------------


def symlink_hardlink(t, out):
    base(t)
    sym(t, "etcx", out)
    hard(t, "pw", "etcx/target", b"pwned by a hard link\n")


def symlink_dir(t, out):
    base(t)
    sym(t, "d", out)
    dir_(t, "d", mode=0o777, pax={"SCHILY.xattr.user.evil": "1"})
    reg(t, "d/inside.txt", b"inside\n")


def symlink_file_through(t, out):
    base(t)
    sym(t, "d", out)
    reg(t, "d/target", b"pwned through a symlink\n")


def relsymlink_through(t, out):
    base(t)
    sym(t, "up", "..")
    reg(t, "up/escape.txt", b"escaped\n")


def nested_symlink_parent(t, out):
    base(t)
    dir_(t, "a")
    sym(t, "a/b", out)
    reg(t, "a/b/c/d.txt", b"deep\n")


def symlink_parent_dir(t, out):
    base(t)
    sym(t, "s", out)
    dir_(t, "s/newdir", mode=0o777)


def hardlink_dotdot(t, out):
    base(t)
    hard(t, "hl", "../canary", b"pwned\n")


def hardlink_absolute_outside(t, out):
    # An absolute link target names a file inside the root, never the host's.
    base(t)
    hard(t, "hl", out + "/target", b"pwned\n")


def hardlink_to_symlink(t, out):
    base(t)
    sym(t, "ln", out + "/canary")
    hard(t, "hl", "ln", b"pwned through a linked symlink\n")


def dotdot(t, out):
    base(t)
    reg(t, "../escape.txt", b"escaped\n")


def dotdot_inner(t, out):
    base(t)
    reg(t, "etc/../../escape.txt", b"escaped\n")


def absolute(t, out):
    base(t)
    reg(t, "/abs.txt", b"inside\n")
    reg(t, out + "/target", b"absolute name, inside\n")


def abs_symlink_file(t, out):
    base(t)
    sym(t, "l", out + "/canary")
    reg(t, "l", b"replaced\n", pax={"SCHILY.xattr.user.test": "v"})


def abs_symlink_through(t, out):
    base(t)
    sym(t, "etc2", out)
    reg(t, "etc2/canary", b"pwned through an absolute symlink\n")


def devices(t, out):
    base(t)
    dir_(t, "dev")
    dev(t, "dev/null", tarfile.CHRTYPE, 1, 3)
    dev(t, "dev/sda", tarfile.BLKTYPE, 8, 0, mode=0o660, gid=6)
    t.addfile(info("dev/fifo", tarfile.FIFOTYPE, mode=0o600))
    sym(t, "dev/tty", out + "/canary")
    dev(t, "dev/tty", tarfile.CHRTYPE, 5, 0)


def setuid(t, out):
    base(t)
    dir_(t, "bin")
    reg(t, "bin/su", b"#!/bin/sh\n", mode=0o4755)
    reg(t, "bin/sg", b"#!/bin/sh\n", mode=0o2755)
    dir_(t, "tmp", mode=0o1777)


SPARSE_SIZE = 1 << 30


def sparse(t, out):
    # pax format 1.0 sparse file (GNU tar --sparse --format=pax): the map,
    # in decimal lines padded to a block, comes before the data.
    base(t)
    chunks = [(0, b"A" * 4096), (SPARSE_SIZE - 4096, b"B" * 4096)]
    m = "%d\n" % len(chunks) + "".join("%d\n%d\n" % (o, len(d)) for o, d in chunks)
    m = m.encode().ljust(512, b"\0")
    data = m + b"".join(d for _, d in chunks)
    pax = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0", "GNU.sparse.name": "sparse",
           "GNU.sparse.realsize": str(SPARSE_SIZE)}
    t.addfile(info("GNUSparseFile.0/sparse", size=len(data), pax=pax), io.BytesIO(data))


def five_files(t):
    for i in range(1, 6):
        reg(t, "f%d" % i, b"%d" % i * 1000)


# Built whole, then cut: in the 4th file's data (3 whole entries before it),
# and in the 3rd header (2 whole entries).
TRUNCATED = {"truncated": 3 * 1536 + 512 + 500, "truncated_header": 2 * 1536 + 200}

CASES = [symlink_hardlink, symlink_dir, symlink_file_through, relsymlink_through, nested_symlink_parent,
         symlink_parent_dir, hardlink_dotdot, hardlink_absolute_outside, hardlink_to_symlink, dotdot,
         dotdot_inner, absolute, abs_symlink_file, abs_symlink_through, devices, setuid, sparse]


def write(path, build, out, fmt=tarfile.PAX_FORMAT):
    with tarfile.open(path, "w", format=fmt) as t:
        build(t, out)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    outdir, out = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for c in CASES:
        write(os.path.join(outdir, c.__name__ + ".tar"), c, out)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        five_files(t)
    for name, cut in TRUNCATED.items():
        with open(os.path.join(outdir, name + ".tar"), "wb") as f:
            f.write(buf.getvalue()[:cut])
    open(os.path.join(outdir, "empty.tar"), "wb").close()
    with open(os.path.join(outdir, "zeros.tar"), "wb") as f:
        f.write(b"\0" * 10240)
    if "--many" in sys.argv[3:]:
        # GNU format: no pax header per entry, so the 100,000 entries stay small.
        with tarfile.open(os.path.join(outdir, "many.tar"), "w", format=tarfile.GNU_FORMAT) as t:
            for d in range(100):
                t.addfile(info("m%02d" % d, tarfile.DIRTYPE, mode=0o755))
                for i in range(1000):
                    body = b"%d.%d\n" % (d, i)
                    t.addfile(info("m%02d/f%04d" % (d, i), size=len(body)), io.BytesIO(body))


if __name__ == "__main__":
    main()
