#!/usr/bin/env python3
"""A TCP client and a placeholder server for the localhost forwarding tests
(tests/cli/forward.sh).

usage: tcp.py HOST PORT [--send TEXT | --send-file PATH] [--no-shutdown] [--sha256]
    Connect, send TEXT (\\r\\n escapes allowed) or the file's bytes,
    half-close (unless --no-shutdown: for a peer that quits at its first
    end of stream, e.g. busybox nc), read to the end and print what came (or
    with --sha256 only its SHA-256 and length).
    Exit status 0; 3 when the connection was refused (nothing forwarded);
    4 for any other failure (reset, timeout).
usage: tcp.py --hold HOST PORT TEXT
    Listen on HOST:PORT, print "listening" once bound, answer every client
    TEXT and close it; until killed. Exit status 3 if the port is taken.
usage: tcp.py --has-ipv6
    Exit status 0 when [::1] can be listened on here.
usage: tcp.py --loopback-up
    Bring the loopback interface up (root, in the rig, whose kernel leaves
    it down).
"""
import fcntl, hashlib, socket, struct, sys

args = sys.argv[1:]


def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


if args and args[0] == "--has-ipv6":
    try:
        s = socket.socket(socket.AF_INET6)
        s.bind(("::1", 0))
    except OSError:
        sys.exit(1)
    sys.exit(0)

if args and args[0] == "--loopback-up":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
    req = fcntl.ioctl(s, SIOCGIFFLAGS, struct.pack("16sH14x", b"lo", 0))
    flags = struct.unpack("16sH14x", req)[1]
    if not flags & IFF_UP:
        fcntl.ioctl(s, SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | IFF_UP))
    sys.exit(0)

if args and args[0] == "--hold":
    host, port, text = args[1], int(args[2]), args[3].encode()
    srv = socket.socket(family(host))
    try:
        srv.bind((host, port))
    except OSError as e:
        print("tcp.py: cannot listen on %s port %d: %s" % (host, port, e), file=sys.stderr)
        sys.exit(3)
    srv.listen(8)
    print("listening", flush=True)
    while True:
        c, _ = srv.accept()
        try:
            c.sendall(text)
        except OSError:
            pass
        c.close()

host, port = args[0], int(args[1])
send, digest, half_close = b"", False, True
i = 2
while i < len(args):
    if args[i] == "--send":
        send = args[i + 1].encode().decode("unicode_escape").encode("latin-1")
        i += 2
    elif args[i] == "--send-file":
        with open(args[i + 1], "rb") as f:
            send = f.read()
        i += 2
    elif args[i] == "--no-shutdown":
        half_close = False
        i += 1
    elif args[i] == "--sha256":
        digest = True
        i += 1
    else:
        sys.exit("tcp.py: bad option " + args[i])
s = socket.socket(family(host))
s.settimeout(60)
try:
    s.connect((host, port))
except ConnectionRefusedError:
    sys.exit(3)
except OSError as e:
    print("tcp.py: cannot connect to %s port %d: %s" % (host, port, e), file=sys.stderr)
    sys.exit(4)
got = bytearray()
try:
    if send:
        s.sendall(send)
    if half_close:
        s.shutdown(socket.SHUT_WR)
    while True:
        d = s.recv(65536)
        if not d:
            break
        got += d
except OSError as e:
    print("tcp.py: %s port %d: %s after %d bytes" % (host, port, e, len(got)), file=sys.stderr)
    sys.exit(4)
if digest:
    print(hashlib.sha256(got).hexdigest(), len(got))
else:
    sys.stdout.write(got.decode("latin-1"))
    sys.stdout.flush()
