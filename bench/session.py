"""Driver of bench/session (see there)."""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import vmbench  # noqa: E402

kdir, imgdir, where = sys.argv[1], sys.argv[2], sys.argv[3]
RUNS = int(os.environ.get("LXS_BENCH_RUNS", "3"))
VCPUS = vmbench.vcpus(where)
PARTS = os.environ.get("LXS_BENCH_PARTS", "blk,session").split(",")
run = tempfile.mkdtemp(prefix="lxs-bench.")  # tmpfs in the rig: sockets, disk image


def blk_image():
    path = os.path.join(run, "blk.img")
    with open(path, "wb") as f:
        chunk = os.urandom(1 << 20)
        for _ in range(256):
            f.write(chunk)
    return path


def blkbench(cmd, tries=3):
    # In the rig a nested guest now and then stops making progress, under
    # QEMU as under lxs-vm (a flaw of the emulated SVM): such a run is
    # given up after a bound and run again, and said so.
    for attempt in range(tries):
        try:
            out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                 timeout=180).stdout.decode(errors="replace")
        except subprocess.TimeoutExpired:
            print(f"bench/session: a run under {cmd[0]} made no progress for 180 s; running it again",
                  file=sys.stderr)
            continue
        m = re.search(r"BLKBENCH seq_mibs=([\d.]+) rand_iops=([\d.]+)", out)
        if not m:
            sys.exit(f"bench/session: blkbench failed under {cmd[0]}: {out[-400:]}")
        return float(m.group(1)), float(m.group(2))
    sys.exit(f"bench/session: blkbench under {cmd[0]} stalled {tries} times")


def series(cmds):
    """Medians per configuration; runs interleaved so that a busy machine
    slows every configuration alike rather than the one that ran last."""
    rows = {k: [] for k in cmds}
    for _ in range(RUNS):
        for k, cmd in cmds.items():
            rows[k].append(blkbench(cmd))
    return {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v))
            for k, v in rows.items()}


img = blk_image()
initrd = "build/guest/blkbench-initramfs.cpio"
kernel = f"{kdir}/vmlinux"
append = "console=hvc0 quiet"
lxs = ["build/lxs-vm", "--kernel", kernel, "--initrd", initrd, "--mem", "512M", "--cpus", VCPUS,
       "--disk", f"{img},ro,serial=bench", "--cmdline", append]


def qemu(aio):
    return vmbench.qemu_microvm(kernel, "512M", VCPUS, append, initrd=initrd, devices=[
        "-drive", f"file={img},if=none,id=d0,format=raw,readonly=on" + (f",aio={aio}" if aio else ""),
        "-device", "virtio-blk-device,drive=d0"])


blk = series({"lxs-vm (io_uring)": lxs, "lxs-vm --no-sandbox": lxs + ["--no-sandbox"],
              "qemu microvm (default, aio=threads)": qemu(None),
              "qemu microvm (aio=io_uring)": qemu("io_uring")})
print(f"{'virtio-blk':38} {'seq MiB/s':>10} {'4K rand IOPS':>13}")
for k, (seq, iops) in blk.items():
    print(f"{k:38} {seq:10.1f} {iops:13.0f}")
l, q = blk["lxs-vm (io_uring)"], blk["qemu microvm (default, aio=threads)"]
off = blk["lxs-vm --no-sandbox"]
# The sandbox's cost (src/vmm/sandbox.c): lxs-vm with it over lxs-vm without.
sb_blk = f"sandbox_iops_x={l[1] / off[1]:.3f} sandbox_seq_x={l[0] / off[0]:.3f}"
if "session" not in PARTS:
    print(f"RESULT blk blk_iops_ratio={l[1] / q[1]:.3f} blk_seq_ratio={l[0] / q[0]:.3f} {sb_blk}")
    sys.exit(0)


def sessions(extra):
    """A busybox distro in a running VM: the warm `true` round trip (median
    of 100, ms) and stdin->stdout throughput through a session (MiB/s)."""
    vsock = os.path.join(run, "v.sock")
    vm = subprocess.Popen(["build/lxs-vm", "--kernel", kernel, "--initrd", "build/guest/lxs-initramfs.cpio",
                           "--mem", "512M", "--cpus", VCPUS, "--disk", f"{imgdir}/busybox.img,serial=busybox",
                           "--vsock", vsock, "--cmdline", append] + extra,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    buf = b""
    while b"lxs-init-reached" not in buf:
        c = vm.stdout.read1(4096)
        if not c:
            sys.exit("bench/session: the VM did not come up")
        buf += c
    S = ["build/lxs-session", "--vsock", vsock]
    subprocess.run(S + ["start", "busybox", "busybox"], check=True)
    subprocess.run(S + ["-d", "busybox", "--", "true"], check=True)  # warm
    times = []
    for _ in range(100):
        t0 = time.monotonic()
        subprocess.run(S + ["-d", "busybox", "--", "true"], check=True, stdin=subprocess.DEVNULL)
        times.append((time.monotonic() - t0) * 1e3)
    data = os.urandom(1 << 20) * mib
    t0 = time.monotonic()
    p = subprocess.run(S + ["-d", "busybox", "--", "cat"], input=data, capture_output=True, check=True)
    pipe_s = time.monotonic() - t0
    if p.stdout != data:
        sys.exit("bench/session: the data came back changed")
    subprocess.run(S + ["shutdown"], check=True)
    vm.wait()
    return statistics.median(times), mib / pipe_s


mib = 16 if where == "rig" else 256
# With the sandbox and without, in turn, twice: a busy machine slows both alike.
got = {"on": [], "off": []}
for _ in range(2):
    for k, extra in (("on", []), ("off", ["--no-sandbox"])):
        got[k].append(sessions(extra))
true_ms, off_true_ms = (statistics.median(r[0] for r in got[k]) for k in ("on", "off"))
pipe_mibs, off_pipe_mibs = (statistics.median(r[1] for r in got[k]) for k in ("on", "off"))

print(f"session benchmark ({where}; blk: {RUNS} runs each, interleaved, medians; {VCPUS} vCPU(s), 512 MiB)")
print(f"warm `true` round trip: {true_ms:.2f} ms (median of 2 VMs' medians of 100); "
      f"--no-sandbox {off_true_ms:.2f} ms")
print(f"stdin->stdout through a session: {pipe_mibs:.1f} MiB/s ({mib} MiB); --no-sandbox {off_pipe_mibs:.1f} MiB/s")
print(f"RESULT session true_ms={true_ms:.2f} pipe_mibs={pipe_mibs:.1f} "
      f"blk_iops_ratio={l[1] / q[1]:.3f} blk_seq_ratio={l[0] / q[0]:.3f} "
      f"sandbox_true_x={true_ms / off_true_ms:.3f} sandbox_pipe_x={pipe_mibs / off_pipe_mibs:.3f} {sb_blk}")
