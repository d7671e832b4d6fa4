"""Session-protocol checks that need a hand-made client: version refusal,
malformed messages, a pty with a resize and Ctrl-C. Usage:
  proto_check.py CASE SOCKET [vsock]   (vsock: do the CONNECT handshake first)
Prints nothing and exits 0 on success; one line and exit 1 on failure."""
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys

case, path = sys.argv[1], sys.argv[2]
VSOCK = len(sys.argv) > 3
HELLO, ERROR, CREATE, CREATED, DATA, EXIT, RESIZE = 1, 2, 4, 5, 6, 11, 10
MAGIC = 0x3153584C
# The version the programs were built with: proto.h is the contract.
_proto = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../src/common/proto.h")
VERSION = int(re.search(r"#define LXS_PROTO_VERSION (\d+)", open(_proto).read()).group(1))


def fail(msg):
    print(msg)
    sys.exit(1)


def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    if VSOCK:
        s.sendall(b"CONNECT 50000\n")
        line = b""
        while not line.endswith(b"\n"):
            c = s.recv(1)
            if not c:
                fail("no answer to CONNECT")
            line += c
        if not line.startswith(b"OK "):
            fail(f"CONNECT answered {line!r}")
    return s


def msg(t, payload=b"", stream=0):
    return struct.pack("<IHH", len(payload), t, stream) + payload


def recv_msg(s):
    hdr = b""
    while len(hdr) < 8:
        c = s.recv(8 - len(hdr))
        if not c:
            return None, None
        hdr += c
    n, t, _ = struct.unpack("<IHH", hdr)
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            return None, None
        body += c
    return t, body


if case == "version":
    s = connect()
    s.sendall(msg(HELLO, struct.pack("<II", MAGIC, 99)))
    t, body = recv_msg(s)
    if t != ERROR or b"version" not in body:
        fail(f"a HELLO with version 99 got type {t} {body!r}, wanted ERROR about the version")
elif case == "garbage":
    # Bad first message, lying length, unknown type after HELLO: each connection
    # is dropped, and the server still serves the next one.
    for bad in [b"\xff" * 64, struct.pack("<IHH", 1 << 30, 1, 0), msg(HELLO, b"x")]:
        s = connect()
        s.sendall(bad)
        s.settimeout(30)
        try:
            while s.recv(4096):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
    s = connect()
    s.sendall(msg(HELLO, struct.pack("<II", MAGIC, VERSION)))
    t, _ = recv_msg(s)
    s.sendall(msg(77))
    t2, _ = recv_msg(s)
    if t != HELLO or t2 != ERROR:
        fail(f"after garbage: HELLO answered {t}, unknown type answered {t2}")
elif case in ("pty", "ctrlc"):
    # Drive lxs-session through a real terminal, as a user would.
    sock_opt = ["--vsock" if VSOCK else "--unix", path]
    extra = sys.argv[4:] if VSOCK else sys.argv[3:]
    if case == "pty":
        cmd = "stty size; read x; stty size"
    else:
        cmd = "trap 'echo GOT-INT; exit 3' INT; echo READY; while :; do read x; done"
    pid, fd = pty.fork()
    if pid == 0:
        os.execv("build/lxs-session", ["lxs-session", *sock_opt, *extra, "-t", "--", "sh", "-c", cmd])
    import fcntl
    import termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    out = b""

    def wait_for(token, limit=60):
        global out
        while token not in out:
            r, _, _ = select.select([fd], [], [], limit)
            if not r:
                fail(f"timed out waiting for {token!r}; got {out!r}")
            try:
                out += os.read(fd, 4096)
            except OSError:
                fail(f"terminal closed before {token!r}; got {out!r}")
    if case == "pty":
        wait_for(b"24 80")
        fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 132, 0, 0))
        os.kill(pid, 28)  # SIGWINCH, as the terminal would send
        # The resize travels separately from stdin; a newline after it lets
        # the script run its second stty.
        os.write(fd, b"\n")
        wait_for(b"50 132")
    else:
        wait_for(b"READY")
        os.write(fd, b"\x03")
        wait_for(b"GOT-INT")
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    want = 0 if case == "pty" else 3
    if code != want:
        fail(f"exit {code}, wanted {want}; output {out!r}")
else:
    fail(f"unknown case {case}")
