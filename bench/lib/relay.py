#!/usr/bin/env python3
"""A one-hop relay for bench/cli: listens on a Unix socket and forwards each
connection to another, moving bytes with splice(2) through a pipe, the way a
C relay in lxsd would. It shows what one extra process in the session's data
path costs, the path lxs avoids by talking to the guest directly.

usage: bench/lib/relay.py LISTEN_SOCKET TARGET_SOCKET
"""
import os, socket, sys, threading

def pump(src, dst):
    r, w = os.pipe()
    try:
        while True:
            n = os.splice(src.fileno(), w, 1 << 20)
            if n == 0:
                break
            while n:
                n -= os.splice(r, dst.fileno(), n)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass

listen, target = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX)
srv.bind(listen)
srv.listen(64)
while True:
    c, _ = srv.accept()
    t = socket.socket(socket.AF_UNIX)
    t.connect(target)
    threading.Thread(target=pump, args=(c, t), daemon=True).start()
    threading.Thread(target=pump, args=(t, c), daemon=True).start()
