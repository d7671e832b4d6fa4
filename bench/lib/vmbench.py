"""What the VM benchmarks share (bench/session.py, bench/lib/p9bench.py): the
guest's vCPU count for where they run, QEMU's microvm command line set up as
the peer of lxs-vm (same kernel, same console), and running a guest to a
marker in its output with stalled runs retried."""
import os
import selectors
import subprocess
import sys
import time


def vcpus(where):
    # In the rig (one CPU: see tests/rig/rig.sh) guests get one vCPU: a nested
    # guest with two, under QEMU as under lxs-vm, can spin on the rig's only
    # CPU for good. Directly on hardware KVM, two.
    return "1" if where == "rig" else "2"


def qemu_microvm(kernel, mem, cpus, append, devices=(), initrd=None):
    """QEMU microvm without ACPI (the kernel has none), PIC and PIT on as the
    kernel needs, the virtio console on stdio, isa-debug-exit at 0xf4 for
    the guest's exit; DEVICES (argument list) go before that."""
    cmd = ["qemu-system-x86_64", "-M", "microvm,acpi=off,pic=on,pit=on,rtc=off", "-accel", "kvm",
           "-cpu", "host", "-m", mem, "-smp", cpus, "-nodefaults", "-no-user-config",
           "-nographic", "-no-reboot", "-kernel", kernel]
    if initrd:
        cmd += ["-initrd", initrd]
    cmd += ["-append", append + " reboot=k,panic_warm panic=-1",
            "-chardev", "stdio,id=con", "-device", "virtio-serial-device",
            "-device", "virtconsole,chardev=con"]
    cmd += list(devices)
    cmd += ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    return cmd


class Stalled(Exception):
    pass


def _stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_to_marker(cmd, end, idle_s, total_s, on_line=None, linger_s=5):
    """Runs CMD until a line containing END appears in its output (stdout
    and stderr together), then gives it LINGER_S seconds to exit by itself
    before stopping it. Returns the output's lines. Raises Stalled when
    nothing new came for IDLE_S seconds or the whole run took TOTAL_S, and
    RuntimeError when CMD exits without END."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    lines, part = [], b""
    t0 = last = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            if now - last > idle_s or now - t0 > total_s:
                raise Stalled((f"no output for {now - last:.0f} s" if now - last > idle_s
                               else f"not done after {total_s} s")
                              + "; its last lines: " + " | ".join(lines[-6:]))
            if not sel.select(timeout=5):
                continue
            chunk = os.read(p.stdout.fileno(), 65536)
            if not chunk:
                raise RuntimeError(f"{cmd[0]} exited (status {p.wait()}) before {end!r}: "
                                   + " | ".join(lines[-8:]))
            last = time.monotonic()
            part += chunk
            *full, part = part.split(b"\n")
            for raw in full:
                line = raw.decode(errors="replace").rstrip("\r")
                lines.append(line)
                if on_line:
                    on_line(line)
                if end in line:
                    try:
                        p.wait(linger_s)
                    except subprocess.TimeoutExpired:
                        pass
                    return lines
    finally:
        _stop(p)
        sel.close()


def retried(what, fn, tries=3):
    """FN() with a run that stalls (a flaw of the rig's emulated SVM: now and
    then a nested guest stops making progress, under QEMU as under lxs-vm)
    given up and run again, and said so on stderr."""
    for attempt in range(1, tries + 1):
        try:
            return fn()
        except Stalled as e:
            print(f"{what}: {e} (attempt {attempt} of {tries}); running it again", file=sys.stderr)
    sys.exit(f"{what}: stalled {tries} times")
