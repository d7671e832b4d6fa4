#!/usr/bin/env python3
"""Run a command on a new pseudo-terminal of ROWSxCOLS, like a user at a
terminal would; copy its output to stdout and exit with its status.

usage: pty.py ROWS COLS [--send TEXT --after SECONDS] -- CMD [ARG...]
--send writes TEXT (\\x03 is Ctrl-C) to the terminal after SECONDS.
"""
import fcntl, os, select, struct, sys, termios, time

args = sys.argv[1:]
rows, cols = int(args[0]), int(args[1])
args = args[2:]
send, after = None, 0.0
while args and args[0] != "--":
    if args[0] == "--send":
        send = args[1].encode().decode("unicode_escape").encode("latin-1")
        args = args[2:]
    elif args[0] == "--after":
        after = float(args[1])
        args = args[2:]
    else:
        sys.exit("pty.py: bad option " + args[0])
cmd = args[1:]
pid, fd = os.forkpty()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execv(cmd[0], cmd)
start = time.time()
out = b""
deadline = start + 120
while time.time() < deadline:
    if send is not None and time.time() - start >= after:
        os.write(fd, send)
        send = None
    r, _, _ = select.select([fd], [], [], 0.1)
    if r:
        try:
            b = os.read(fd, 65536)
        except OSError:
            break
        if not b:
            break
        out += b
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st) & 0xff)
