#!/usr/bin/env python3
"""Small tarballs for the lxs command-line tests, without root.

usage: mktar.py KIND OUT
  rootfs      a tiny root file system: etc/passwd (root, user 1000, nobody),
              etc/group, a home, a file with an owner and mode, a hard link,
              a symlink, a fifo
  wslconf     rootfs plus etc/wsl.conf ([user] default=nobody, [boot] command
              touching MARKER, argv[3])
  dotdot      rootfs plus an entry ../escape.txt
  absolute    rootfs plus an entry /abs.txt (must land inside)
  symlinkout  rootfs plus a symlink out -> OUTSIDE (argv[3]) and out/planted.txt
  empty       a tarball with no entries
"""
import io, sys, tarfile, time

def add(t, name, data=b"", mode=0o644, uid=0, gid=0, kind=tarfile.REGTYPE, link=""):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.uid, ti.gid, ti.mtime = kind, mode, uid, gid, int(time.time())
    ti.linkname = link
    if kind == tarfile.REGTYPE:
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
    else:
        t.addfile(ti)

def rootfs(t, wslconf=None):
    for d in ["./", "./etc", "./root", "./home", "./tmp", "./bin"]:
        add(t, d, kind=tarfile.DIRTYPE, mode=0o755)
    add(t, "./home/user", kind=tarfile.DIRTYPE, mode=0o750, uid=1000, gid=1000)
    add(t, "./etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"
        b"user:x:1000:1000:user:/home/user:/bin/sh\n"
        b"nobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n")
    add(t, "./etc/group", b"root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n")
    add(t, "./home/user/notes.txt", b"hello\n", mode=0o600, uid=1000, gid=1000)
    add(t, "./home/user/hardlink", kind=tarfile.LNKTYPE, link="./home/user/notes.txt")
    add(t, "./bin/sh-link", kind=tarfile.SYMTYPE, link="/bin/sh")
    add(t, "./tmp/fifo", kind=tarfile.FIFOTYPE, mode=0o600)
    if wslconf:
        add(t, "./etc/wsl.conf", b"[user]\ndefault = nobody\n[boot]\ncommand = touch " + wslconf.encode() + b"\n"
            b"[network]\nhostname = wslhost\n[unknown]\nkey = value\n")

kind, out = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
    if kind != "empty":
        rootfs(t, wslconf=sys.argv[3] if kind == "wslconf" else None)
    if kind == "dotdot":
        add(t, "../escape.txt", b"escaped\n")
    elif kind == "absolute":
        add(t, "/abs.txt", b"inside\n")
    elif kind == "symlinkout":
        add(t, "./out", kind=tarfile.SYMTYPE, link=sys.argv[3])
        add(t, "./out/planted.txt", b"planted\n")
