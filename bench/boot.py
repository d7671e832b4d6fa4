"""Driver of bench/boot: runs each VMM, timestamps the boot mark that the test
init writes to the debug port (same port, same pipe, for both VMMs), waits for
exit, and reads the peak RSS from the kernel's rusage of the child."""
import os
import statistics
import subprocess
import sys
import time

MARK = b"<lxs-init-reached>"
kdir, runs, where = sys.argv[1], int(sys.argv[2]), sys.argv[3]
initrd = "build/guest/test-initramfs.cpio"
MEM = "256M"
APPEND = "console=hvc0 quiet lxstest.code=0"


def lxs(kernel):
    return ["build/lxs-vm", "--kernel", kernel, "--initrd", initrd, "--mem", MEM,
            "--cpus", "1", "--cmdline", APPEND, "-v"]


def qemu(kernel):
    # The same boot under QEMU: microvm without ACPI (the kernel has none),
    # PIC and PIT on as the kernel needs, virtio console on stdio, the debug
    # port on the same pipe, isa-debug-exit for the test init's exit code.
    return ["qemu-system-x86_64", "-M", "microvm,acpi=off,pic=on,pit=on,rtc=off",
            "-accel", "kvm", "-cpu", "host", "-m", MEM, "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-no-reboot",
            "-kernel", kernel, "-initrd", initrd,
            "-append", APPEND + " reboot=k,panic_warm panic=-1",
            "-chardev", "stdio,id=con,mux=on", "-device", "virtio-serial-device",
            "-device", "virtconsole,chardev=con",
            "-device", "isa-debugcon,iobase=0xe9,chardev=con",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]


def one(cmd, ok_status):
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    buf, t_init = b"", None
    fd = p.stdout.fileno()
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
        if t_init is None and MARK in buf:
            t_init = time.monotonic() - t0
    _, status, ru = os.wait4(p.pid, 0)
    t_exit = time.monotonic() - t0
    err = p.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != ok_status or t_init is None or b"LXS-TEST-TOKEN" not in buf:
        sys.exit(f"bench/boot: {cmd[0]} failed (status {code}); output: "
                 f"{buf[-300:]!r} {err[-300:]!r}")
    resident = None
    for line in err.splitlines():
        if "guest RAM resident at exit:" in line:
            resident = float(line.split(":")[-1].split()[0])
    return t_init * 1e3, t_exit * 1e3, ru.ru_maxrss / 1024.0, resident


def series(name, cmd, ok_status):
    one(cmd, ok_status)  # warm the page cache; not counted
    rows = [one(cmd, ok_status) for _ in range(runs)]
    med = lambda i: statistics.median(r[i] for r in rows)
    res = [r[3] for r in rows if r[3] is not None]
    return {"name": name, "init": med(0), "exit": med(1), "rss": med(2),
            "guest": statistics.median(res) if res else None}


# QEMU's isa-debug-exit turns code 0 into exit status 1.
results = [
    series("lxs-vm bzImage", lxs(f"{kdir}/bzImage"), 0),
    series("qemu microvm bzImage", qemu(f"{kdir}/bzImage"), 1),
    series("lxs-vm PVH vmlinux", lxs(f"{kdir}/vmlinux"), 0),
    series("qemu microvm PVH vmlinux", qemu(f"{kdir}/vmlinux"), 1),
]
print(f"boot benchmark ({where}, {runs} runs each, medians, {MEM} guest, 1 vCPU)")
print(f"{'VMM':28} {'to init ms':>11} {'to exit ms':>11} {'peak RSS MiB':>13} {'guest RAM MiB':>14}")
for r in results:
    g = f"{r['guest']:.1f}" if r["guest"] is not None else "-"
    print(f"{r['name']:28} {r['init']:11.1f} {r['exit']:11.1f} {r['rss']:13.1f} {g:>14}")
lx, qm = results[0], results[1]
over = lx["rss"] - lx["guest"] if lx["guest"] is not None else float("nan")
print(f"lxs-vm RSS above the guest RAM it touched: {over:.1f} MiB")
print(f"RESULT boot init_ratio={lx['init'] / qm['init']:.3f} exit_ratio={lx['exit'] / qm['exit']:.3f} "
      f"rss_lxs_mib={lx['rss']:.1f} rss_qemu_mib={qm['rss']:.1f}")
