#!/usr/bin/env python3
"""lxsd_wire.py - talk to lxsd in the frames of src/common/proto.h, for tests.

  lxsd_wire.py SOCKET status    "vm STATE", "vmpid N", then "distro NAME STATE SESSIONS"
  lxsd_wire.py SOCKET ping      "ok"
  lxsd_wire.py SOCKET garbage   bad conversations, one line per answer
  lxsd_wire.py SOCKET hold-run NAME   a RUN, then wait for the answer and print it

The message numbers are read from proto.h, so this follows the header.
"""
import os
import re
import socket
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def msg_types():
    text = open(os.path.join(ROOT, "src/common/proto.h")).read()
    body = re.search(r"enum lxs_msg_type \{(.*?)\};", text, re.S).group(1)
    types, n = {}, 0
    for m in re.finditer(r"LXS_MSG_(\w+)\s*(?:=\s*(\d+))?\s*,", body):
        n = int(m.group(2)) if m.group(2) else n + 1
        types[m.group(1)] = n
    ver = int(re.search(r"#define LXS_PROTO_VERSION (\d+)", text).group(1))
    return types, ver


T, VERSION = msg_types()
NAMES = {v: k for k, v in T.items()}
MAGIC = 0x3153584C


def frame(kind, payload=b""):
    t = T[kind] if isinstance(kind, str) else kind
    return struct.pack("<IHH", len(payload), t, 0) + payload


def hello(version=VERSION):
    return frame("HELLO", struct.pack("<II", MAGIC, version))


def recv_msgs(s, want):
    """Up to `want` messages, or fewer if the peer hangs up."""
    data, out = b"", []
    while len(out) < want:
        while len(data) >= 8:
            ln, t, _ = struct.unpack("<IHH", data[:8])
            if len(data) < 8 + ln:
                break
            out.append((NAMES.get(t, str(t)), data[8:8 + ln]))
            data = data[8 + ln:]
            if len(out) == want:
                return out
        try:
            chunk = s.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        data += chunk
    return out


def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    return s


def call(path, raw, want=2):
    s = connect(path)
    try:
        s.sendall(raw)
        return recv_msgs(s, want)
    except OSError:
        return []
    finally:
        s.close()


def describe(msgs):
    parts = []
    for kind, p in msgs:
        if kind == "ERROR":
            parts.append("ERROR %s" % p[4:].decode(errors="replace"))
        else:
            parts.append(kind)
    return " / ".join(parts) if parts else "dropped"


def status(path):
    msgs = call(path, hello() + frame("LXSD_STATUS"))
    kind, p = msgs[-1]
    assert kind == "LXSD_STATE", describe(msgs)
    vm, pid, n, _ = struct.unpack("<IiII", p[:16])
    print("vm", ["stopped", "booting", "running", "stopping"][vm])
    print("vmpid", pid)
    fixed = p[16:16 + 8 * n]
    names = p[16 + 8 * n:].split(b"\0")[:n]
    for i in range(n):
        st, sess = struct.unpack("<II", fixed[8 * i:8 * i + 8])
        print("distro", names[i].decode(), ["", "starting", "running", "stopping"][st], sess)


def run_payload(name, cmd):
    # struct lxs_run {flags, shell, ncmd}: -e (LXS_RUN_EXEC = 32)
    strs = [name, "", "", "", "", ""] + cmd
    return struct.pack("<III", 32, 0, len(cmd)) + b"".join(x.encode() + b"\0" for x in strs)


def garbage(path):
    cases = [
        b"frobnicate\n",                                   # text: not a frame
        os.urandom(3000),
        b"x" * 5000,
        hello(VERSION + 1) + frame("LXSD_PING"),           # another version
        frame("LXSD_PING"),                                # no HELLO first
        hello() + frame("DATA", b"abc"),                   # a known type that is no request
        hello() + frame("LXSD_RUN", b"\1\0"),              # a RUN too short
        hello() + frame("LXSD_RUN", struct.pack("<III", 0, 0, 1 << 30)),  # a count that lies
        hello() + frame("LXSD_RUN", struct.pack("<III", 1 << 20, 0, 0) + b"\0" * 6),
        hello() + frame("LXSD_TERMINATE", b"no-nul"),
        hello() + frame("LXSD_SHUTDOWN", b"\0"),
        hello() + frame("LXSD_RUN", run_payload("../../etc", ["true"])),
    ]
    for raw in cases:
        print(describe(call(path, raw)))
    # Half a message, then hang up: nothing to answer.
    call(path, struct.pack("<IHH", 60000, T["LXSD_RUN"], 0) + b"half", want=0)


def main():
    path, what = sys.argv[1], sys.argv[2]
    if what == "status":
        status(path)
    elif what == "ping":
        print(describe(call(path, hello() + frame("LXSD_PING"))))
    elif what == "garbage":
        garbage(path)
    else:
        sys.exit("usage: lxsd_wire.py SOCKET status|ping|garbage")


if __name__ == "__main__":
    main()
