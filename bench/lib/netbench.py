"""Driver of bench/net (see there): runs where the VMMs run (directly, or
inside the nested-KVM rig). usage: netbench.py KERNEL_DIR SCRATCH rig|direct

SCRATCH holds what bench/net prepared on the host: root.img.zst (Debian +
iperf3 + iproute2, bench/lib/net-guest-init.sh as its init, netpp) and netpp
(the same program for the host's side). For each of RUNS rounds, one boot
per back end, in turn: lxs (lxs-vm --net + lxs-net), lxs+passt (lxs-vm --net
+ passt) and QEMU (microvm, virtio-net-device + -netdev user with hostfwd);
the guest measures (bench/lib/net-guest-init.sh) against servers this driver
runs on the host's loopback for each boot (iperf3 -s on 127.0.0.1:5201,
netpp on 127.0.0.1:5202); then, where the back end forwards host ports to
the guest (QEMU's hostfwd, passt's -t), the host's clients measure through
the forward. lxs's own forward (build/lxs-fwd, lxsd and lxs-init) is a step
of its own that is left out (n/a) until it is built and wired here.
Medians over the rounds; the table and the RESULT line on stdout."""
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmbench  # noqa: E402

kdir, scratch, where = sys.argv[1], sys.argv[2], sys.argv[3]
RUNS = int(os.environ.get("LXS_BENCH_RUNS", "3"))
SECS = float(os.environ.get("LXS_BENCH_NET_SECS", "10"))
# Back ends to boot (lxs passt qemu), e.g. to try one while developing.
BACKENDS = os.environ.get("LXS_BENCH_NET_BACKENDS", "lxs passt qemu").split()
# The guest's eth0 MTU; by default what its device offers (lxs-vm: 65520, QEMU: 1500).
MTU = os.environ.get("LXS_BENCH_NET_MTU", "")
VCPUS = vmbench.vcpus(where)
MEM = "1G"
LOGS = os.path.join(scratch, "logs")
NETPP = os.path.join(scratch, "netpp")
kernel = f"{kdir}/vmlinux"
# Host ports: the servers the guest reaches at 10.0.2.2, and the forwarded
# ones (host 127.0.0.1:P -> guest P): iperf3, netpp, the guest's "done".
H_IPERF, H_PP = 5201, 5202
F_IPERF, F_PP, F_DONE = 5301, 5302, 5303
NAN = float("nan")


def log(msg):
    print(f"bench/net: {msg}", file=sys.stderr, flush=True)


def append(fwd):
    return (f"console=hvc0 quiet root=/dev/vda ro rootfstype=ext4 init=/sbin/bnet-init "
            f"bnet.secs={SECS:g} bnet.fwd={1 if fwd else 0}" + (f" bnet.mtu={int(MTU)}" if MTU else ""))


class Proc:
    """A helper process of one boot (a host server, lxs-net, passt), stopped
    by its own pid when the boot is over."""

    def __init__(self, name, cmd, logf):
        self.name = name
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)

    def alive(self):
        return self.p.poll() is None

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def wait_for(what, cond, s=10.0):
    t0 = time.monotonic()
    while not cond():
        if time.monotonic() - t0 > s:
            raise RuntimeError(f"{what} not ready after {s:.0f} s")
        time.sleep(0.05)


def listening(port):
    """Something listens on PORT (asked of ss: no traffic)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True).stdout
    return "LISTEN" in out


def passt_host_route(tmp):
    """passt (Debian 12's) will not start without a host interface that has
    a default route, and the rig has only its loopback. There (and only
    there: never on a real host) it gets a veth pair with a TEST-NET-1
    address and a default route into it: v1, the other end, holds no
    address and nothing reads it, so no frame goes anywhere."""
    if subprocess.run(["ip", "-4", "route", "show", "default"], capture_output=True,
                      text=True).stdout.strip():
        return True
    if os.environ.get("LXS_IN_RIG") != "1":
        log("passt needs a host interface with a default route and this host has none; "
            "lxs+passt is left out")
        return False
    for cmd in (["ip", "link", "add", "bnet0", "type", "veth", "peer", "name", "bnet1"],
                ["ip", "addr", "add", "192.0.2.1/24", "dev", "bnet0"],
                ["ip", "link", "set", "bnet0", "up"], ["ip", "link", "set", "bnet1", "up"],
                ["ip", "route", "add", "default", "via", "192.0.2.254", "dev", "bnet0"]):
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode:
            log(f"{' '.join(cmd)}: {p.stderr.strip()}; lxs+passt is left out")
            return False
    log("passt: a veth pair bnet0/bnet1 (192.0.2.1/24, default route into it) as its host interface")
    return True


def unchrooted(cmd):
    """CMD run outside the rig's chroot (tests/rig/init.sh runs the command
    chrooted into the host's root): passt sandboxes itself in a user
    namespace, which the kernel refuses to a chrooted process. So: into the
    rig's own root (PID 1's, the initramfs, in this mount namespace), a
    mount namespace of its own, the host's root bound over "/" there, and
    a chroot into that mount (reached by "..", which crosses onto it): the
    same files, and the namespace's topmost root, so not "chrooted". The
    chain execs, so the PID is CMD's. The rig's mounts are left as they are."""
    script = ('/bin/busybox mount --rbind /host / && cd -P /proc/.. && '
              'exec /bin/busybox chroot . "$@"')
    return ["chroot", "/proc/1/root", "/bin/busybox", "unshare", "-m", "/bin/busybox", "sh", "-c",
            script, "sh"] + cmd


def lxs_cmd(img, sock, fwd):
    return ["build/lxs-vm", "--kernel", kernel, "--mem", MEM, "--cpus", VCPUS,
            "--disk", f"{img},ro,serial=root", "--net", sock,
            "--cmdline", append(fwd) + " reboot=k panic=-1"]


def qemu_cmd(img, fwd):
    fw = ",".join(f"hostfwd=tcp:127.0.0.1:{p}-:{p}" for p in (F_IPERF, F_PP, F_DONE))
    return vmbench.qemu_microvm(kernel, MEM, VCPUS, append(fwd), devices=[
        "-drive", f"file={img},if=none,id=d0,format=raw,readonly=on",
        "-device", "virtio-blk-device,drive=d0",
        "-netdev", f"user,id=n0,net=10.0.2.0/24,host=10.0.2.2,dns=10.0.2.3,ipv6=off,{fw}",
        "-device", "virtio-net-device,netdev=n0"])


def iperf_mbps(out):
    """The receiver's Mbit/s and the sender's retransmits from iperf3 -f m."""
    mbps = retr = NAN
    for line in out.splitlines():
        f = line.split()
        if "Mbits/sec" in f:
            i = f.index("Mbits/sec")
            if line.rstrip().endswith("receiver"):
                mbps = float(f[i - 1])
            elif line.rstrip().endswith("sender") and i + 1 < len(f) and f[i + 1].isdigit():
                retr = float(f[i + 1])
    return mbps, retr


def host_fwd_measures(name):
    """The host's side of the forward: iperf3 to 127.0.0.1:F_IPERF, netpp
    connect to 127.0.0.1:F_PP, then the guest's "done" poke."""
    res = {}
    t = SECS + 60
    try:
        p = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(F_IPERF), "-t", f"{SECS:g}", "-f", "m"],
                           capture_output=True, text=True, timeout=t)
        mbps, retr = iperf_mbps(p.stdout)
        if mbps == mbps:
            res.update(fwd_mbps=mbps, fwd_retr=retr)
        else:
            log(f"{name}: forwarded iperf3 failed: {(p.stdout + p.stderr).strip()[-300:]}")
    except subprocess.TimeoutExpired:
        log(f"{name}: forwarded iperf3 did not finish in {t:.0f} s")
    try:
        p = subprocess.run([NETPP, "connect", "127.0.0.1", str(F_PP), f"{SECS:g}"],
                           capture_output=True, text=True, timeout=t)
        kv = dict(x.split("=", 1) for x in p.stdout.split() if "=" in x)
        if "connect_us" in kv:
            res["fwd_connect_us"] = float(kv["connect_us"])
        else:
            log(f"{name}: forwarded connect failed: {(p.stdout + p.stderr).strip()[-300:]}")
    except subprocess.TimeoutExpired:
        log(f"{name}: forwarded connect did not finish in {t:.0f} s")
    subprocess.run([NETPP, "poke", "127.0.0.1", str(F_DONE)], capture_output=True, timeout=30)
    for k, v in res.items():
        log(f"{name}: {k}={v}")
    return res


def parse(lines):
    out = {}
    for line in lines:
        f = line.split()
        if len(f) >= 3 and f[0] == "BNET":
            for kv in f[2:]:
                if "=" not in kv:
                    continue
                k, v = kv.split("=", 1)
                key = k if f[1] in ("info", "stats") else f"{f[1]}_{k}"
                try:
                    out[key] = v if key == "features" else float(v)
                except ValueError:
                    out[key] = v
    # The measures under their table names.
    m = {}
    for src, dst in (("tx_mbps", "tx_mbps"), ("rx_mbps", "rx_mbps"), ("tx_retr", "tx_retr"),
                     ("rx_retr", "rx_retr"), ("rr_rr_us", "rr_us"),
                     ("connect_out_connect_us", "connect_out_us")):
        if src in out:
            m[dst] = out[src]
    for k in ("mtu", "features", "rx_dropped", "tx_dropped", "rx_errors", "tx_errors"):
        if k in out:
            m[k] = out[k]
    errs = [k for k in out if k.endswith("_error")]
    return m, errs


def boot(name, cmd, fwd):
    """One boot of NAME's guest; with FWD the host's forward measures when
    the guest is ready. Host servers are this boot's own."""
    os.makedirs(LOGS, exist_ok=True)
    helpers = []
    res = {}

    def once():
        res.clear()
        srv_log = open(os.path.join(LOGS, "host-servers.log"), "a")
        helpers[:] = [Proc("iperf3 -s", ["iperf3", "-s", "-B", "127.0.0.1", "-p", str(H_IPERF)], srv_log),
                      Proc("netpp server", [NETPP, "server", "127.0.0.1", str(H_PP)], srv_log)]
        try:
            wait_for("the host's servers", lambda: listening(H_IPERF) and listening(H_PP))
            t0 = time.monotonic()
            with open(os.path.join(LOGS, name.replace("+", "-") + ".log"), "a", buffering=1) as f:
                f.write(f"=== {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n")

                def on_line(line):
                    f.write(f"{time.monotonic() - t0:7.1f} {line}\n")
                    if line.startswith("BNET "):
                        log(f"{name}: {line[5:]}")
                    if "BNET-FWD-READY" in line and fwd:
                        res.update(host_fwd_measures(name))
                lines = vmbench.run_to_marker(cmd, "BNET-END", idle_s=max(300, 4 * SECS + 120),
                                              total_s=1800, on_line=on_line)
            log(f"{name}: boot to end {time.monotonic() - t0:.0f} s")
            return lines
        finally:
            for h in helpers:
                h.stop()
            srv_log.close()

    lines = vmbench.retried(f"bench/net: {name}", once)
    m, errs = parse(lines)
    if errs:
        log(f"{name}: failed measures {errs}; the guest's last lines:" +
            "".join(f"\n  {x}" for x in lines[-30:]))
    m.update(res)
    return m


def run_lxs(img, tmp, fwd):
    sock = os.path.join(tmp, "lxs-net.sock")
    with open(os.path.join(LOGS, "lxs-net.log"), "a") as lf:
        nat = Proc("lxs-net", ["build/lxs-net", "--socket", sock], lf)
        try:
            wait_for("lxs-net's socket", lambda: os.path.exists(sock) or not nat.alive())
            if not nat.alive():
                raise RuntimeError("lxs-net exited at once; see logs/lxs-net.log")
            return boot("lxs", lxs_cmd(img, sock, fwd), fwd)
        finally:
            nat.stop()


def run_passt(img, tmp):
    # passt drops to nobody when started as root: its socket's folder is nobody's.
    # (Debian 12's passt says "bound" even when bind() failed: a socket file
    # that never comes is that.)
    sdir = tempfile.mkdtemp(prefix="passt.", dir=tmp)
    if os.geteuid() == 0:
        os.chmod(tmp, 0o711)
        shutil.chown(sdir, "nobody", "nogroup")
    sock = os.path.join(sdir, "passt.sock")
    ports = f"127.0.0.1/{F_IPERF}-{F_DONE}"
    cmd = ["passt", "-f", "-e", "-q", "-s", sock, "-a", "10.0.2.15", "-n", "24", "-g", "10.0.2.2",
           "-m", "65520", "-4", "-t", ports]
    if os.environ.get("LXS_IN_RIG") == "1":
        cmd = unchrooted(cmd)
    with open(os.path.join(LOGS, "passt.log"), "a") as lf:
        lf.write(f"=== {' '.join(cmd)}\n")
        lf.flush()
        nat = Proc("passt", cmd, lf)
        try:
            wait_for("passt's socket", lambda: os.path.exists(sock) or not nat.alive())
            if not nat.alive():
                raise RuntimeError("passt exited at once; see logs/passt.log")
            # passt forwards host ports itself (-t): measured as passt's own forward.
            return boot("lxs+passt", lxs_cmd(img, sock, True), True)
        finally:
            nat.stop()


def run_qemu(img, tmp):
    return boot("qemu", qemu_cmd(img, True), True)


def lxs_fwd_step(img, tmp):
    """lxs's localhost forwarding (host 127.0.0.1:P -> the guest's P), which
    lives in lxsd (lxs-fwd) and lxs-init: the same guest image imported as a
    version-2 distro under a private lxsd, its servers started in a session,
    the host's clients (host_fwd_measures) through the forward once lxs-fwd
    listens on the host's loopback. Returns (measures, None), or (None, why)."""
    if not os.path.exists("build/lxs-fwd"):
        return None, "n/a (not built)"
    home = tempfile.mkdtemp(prefix="lxs-fwd.", dir=tmp)
    env = dict(os.environ, XDG_DATA_HOME=f"{home}/data", XDG_CONFIG_HOME=f"{home}/config",
               XDG_RUNTIME_DIR=f"{home}/run")
    os.makedirs(f"{home}/config/lxs")
    os.makedirs(f"{home}/run", mode=0o700)
    with open(f"{home}/config/lxs/lxs.conf", "w") as f:
        f.write(f"[wsl2]\nkernel = {kernel}\nmemory = {MEM}B\nprocessors = {VCPUS}\n"
                "kernelBootTimeout = 600000\nvmIdleTimeout = -1\n[general]\ninstanceIdleTimeout = -1\n")
    dimg = f"{home}/distro.img"
    shutil.copyfile(img, dimg)
    lxs = os.path.abspath("build/lxs")
    servers = None
    try:
        p = subprocess.run([lxs, "--import-in-place", "bnet", dimg], env=env, capture_output=True, text=True)
        if p.returncode:
            return None, f"n/a (import failed: {(p.stdout + p.stderr).strip()[-200:]})"
        with open(os.path.join(LOGS, "lxs-fwd-servers.log"), "a") as lf:
            servers = subprocess.Popen(
                [lxs, "-d", "bnet", "--", "sh", "-c",
                 f"iperf3 -s -p {F_IPERF} & exec /usr/local/bin/netpp server 0.0.0.0 {F_PP}"],
                env=env, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT)
        wait_for("lxs's forwards of the guest's servers",
                 lambda: listening(F_IPERF) and listening(F_PP) or servers.poll() is not None, 600)
        if servers.poll() is not None:
            return None, "n/a (the guest's servers ended; see logs/lxs-fwd-servers.log)"
        return host_fwd_measures("lxs"), None
    except RuntimeError as e:
        return None, f"n/a ({e})"
    finally:
        subprocess.run([lxs, "--shutdown", "--force"], env=env, capture_output=True)
        if servers:
            servers.kill()
            servers.wait()
        shutil.rmtree(home, ignore_errors=True)


def features(bits):
    """Names of the virtio-net feature bits the driver accepted (the sysfs
    'features' string: bit N is character N)."""
    names = {0: "CSUM", 1: "GUEST_CSUM", 2: "CTRL_GUEST_OFFLOADS", 3: "MTU", 5: "MAC", 6: "GSO",
             7: "GUEST_TSO4", 8: "GUEST_TSO6", 9: "GUEST_ECN", 10: "GUEST_UFO", 11: "HOST_TSO4",
             12: "HOST_TSO6", 13: "HOST_ECN", 14: "HOST_UFO", 15: "MRG_RXBUF", 16: "STATUS",
             17: "CTRL_VQ", 18: "CTRL_RX", 19: "CTRL_VLAN", 20: "CTRL_RX_EXTRA", 21: "GUEST_ANNOUNCE",
             22: "MQ", 23: "CTRL_MAC_ADDR", 27: "ANY_LAYOUT", 28: "INDIRECT_DESC", 29: "EVENT_IDX",
             32: "VERSION_1"}
    if not isinstance(bits, str):
        return "?"
    return ",".join(n for b, n in sorted(names.items()) if b < len(bits) and bits[b] == "1")


def main():
    os.makedirs(LOGS, exist_ok=True)
    base = tempfile.mkdtemp(prefix="lxs-bnet.", dir="/tmp")
    img = os.path.join(base, "root.img")
    subprocess.run(["zstd", "-q", "-d", "-f", os.path.join(scratch, "root.img.zst"), "-o", img], check=True)
    have_passt = "passt" in BACKENDS and shutil.which("passt") and passt_host_route(base)
    rows = {"lxs": [], "passt": [], "qemu": []}
    fwd_note = None
    try:
        for r in range(RUNS):
            log(f"round {r + 1} of {RUNS} ({SECS:g} s per measure)")
            if "lxs" in BACKENDS:
                rows["lxs"].append(run_lxs(img, base, False))
                got, fwd_note = lxs_fwd_step(img, base)
                if got:
                    rows["lxs"][-1].update(got)
            if have_passt:
                rows["passt"].append(run_passt(img, base))
            if "qemu" in BACKENDS:
                rows["qemu"].append(run_qemu(img, base))
    finally:
        shutil.rmtree(base, ignore_errors=True)
    report(rows, fwd_note)


def med(rows, key):
    v = [r[key] for r in rows if isinstance(r.get(key), float) and r[key] == r[key]]
    return statistics.median(v) if v else NAN


def fmt(x, spec):
    return "n/m" if x != x else format(x, spec)


def report(rows, fwd_note):
    m = {k: {key: med(v, key) for key in ("tx_mbps", "rx_mbps", "rr_us", "connect_out_us", "fwd_mbps",
                                           "fwd_connect_us", "tx_retr", "rx_retr", "fwd_retr")}
         for k, v in rows.items()}
    booted = ", ".join(n for k, n in (("lxs", "lxs"), ("passt", "lxs+passt"), ("qemu", "QEMU")) if rows[k])
    print(f"net benchmark ({where}; {RUNS} round(s) of {booted or 'nothing'}, a boot each; "
          f"{SECS:g} s per measure; medians; guest {VCPUS} vCPU, {MEM}; Debian bookworm + iperf3; "
          f"eth0 MTU {MTU or 'as offered'})")
    print(f"| {'measure':34} | {'lxs':>9} | {'lxs+passt':>9} | {'QEMU':>9} | {'lxs/QEMU':>8} | {'passt/QEMU':>10} |")
    print(f"|{'-' * 36}|{'-' * 10}:|{'-' * 10}:|{'-' * 10}:|{'-' * 9}:|{'-' * 11}:|")
    cols = [("TCP guest -> host (Mbit/s)", "tx_mbps", 1, ".1f"),
            ("TCP host -> guest (Mbit/s)", "rx_mbps", 1, ".1f"),
            ("TCP 1-byte round trip (µs)", "rr_us", 1, ".0f"),
            ("guest -> host connect+1 byte (µs)", "connect_out_us", 1, ".0f"),
            ("forward host -> guest (Mbit/s)", "fwd_mbps", 1, ".1f"),
            ("forward connect+1 byte (µs)", "fwd_connect_us", 1, ".0f")]
    for label, key, scale, spec in cols:
        lx, pa, q = (m[k][key] * scale for k in ("lxs", "passt", "qemu"))
        lxs_cell = fmt(lx, spec)
        if key.startswith("fwd") and lx != lx and fwd_note:
            lxs_cell = "n/a"
        print(f"| {label:34} | {lxs_cell:>9} | {fmt(pa, spec):>9} | {fmt(q, spec):>9} | "
              f"{fmt(lx / q if q else NAN, '.2f'):>8} | {fmt(pa / q if q else NAN, '.2f'):>10} |")
    print(f"lxs forward: {fwd_note or 'lxs-fwd (localhostForwarding) over vsock to lxs-init'}; "
          "lxs+passt's forward is passt's own (-t), QEMU's is hostfwd.")
    for k, label in (("lxs", "lxs"), ("passt", "lxs+passt"), ("qemu", "QEMU")):
        if not rows[k]:
            continue
        r0 = rows[k][0]
        mtu = r0.get("mtu", NAN)
        drops = {x: sum(r.get(x, 0) for r in rows[k] if isinstance(r.get(x), float))
                 for x in ("rx_dropped", "tx_dropped", "rx_errors", "tx_errors")}
        print(f"{label}: guest eth0 MTU {fmt(mtu, '.0f')}, virtio-net features {features(r0.get('features'))}; "
              f"TCP retransmits (medians) tx {fmt(m[k]['tx_retr'], '.0f')} rx {fmt(m[k]['rx_retr'], '.0f')} "
              f"fwd {fmt(m[k]['fwd_retr'], '.0f')}; eth0 drops/errors over all boots "
              + " ".join(f"{x}={v:.0f}" for x, v in drops.items()))

    def ratio(who, key):
        a, b = m[who][key], m["qemu"][key]
        return f"{a / b:.3f}" if a == a and b == b and b else "nan"

    res = " ".join(f"{n}_ratio={ratio('lxs', k)}" for n, k in (
        ("tx", "tx_mbps"), ("rx", "rx_mbps"), ("rr", "rr_us"), ("fwd", "fwd_mbps"),
        ("fwd_connect", "fwd_connect_us")))
    res += " " + " ".join(f"passt_{n}_ratio={ratio('passt', k)}" for n, k in (
        ("tx", "tx_mbps"), ("rx", "rx_mbps"), ("rr", "rr_us"), ("fwd", "fwd_mbps"),
        ("fwd_connect", "fwd_connect_us")))
    print(f"RESULT net {res}")


main()
