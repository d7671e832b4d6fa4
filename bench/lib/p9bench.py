"""Driver of bench/9p (see there): runs where the VMMs run (directly, or
inside the nested-KVM rig). usage: p9bench.py KERNEL_DIR SCRATCH rig|direct

SCRATCH holds what bench/9p prepared on the host: root.img.zst (the guest's
Debian + git root, with bench/lib/9p-guest-init.sh as its init),
data/tools-git.tar (the tree and its git repository) and data/tx.tar. The
share is built on a local file system (tmpfs in the rig) so that neither VMM
reads through the rig's own 9P: SHARE/tools, SHARE/big (1 GiB),
SHARE/.b9p/tx.tar. Then, RUNS rounds of native / lxs-vm / QEMU (a boot per
measure, lxs-vm and QEMU in turn; medians), and an lxs-vm boot per row of
the msize x cache table. Finished steps are kept in SCRATCH/state.json."""
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vmbench  # noqa: E402

kdir, scratch, where = sys.argv[1], sys.argv[2], sys.argv[3]
# bench/hostfs: lxs-vm's virtio-fs ("vfs") measured beside its 9P and QEMU's.
HOSTFS = os.environ.get("LXS_BENCH_HOSTFS") == "1"
# ... and without its watch (lxs-vm --fs nowatch: a 1 s cache everywhere, no
# notifications; what lxs-vm gave before them); 0 leaves it out.
NOWATCH = os.environ.get("LXS_BENCH_HOSTFS_NOWATCH", "1") == "1" and HOSTFS
NAME = "hostfs" if HOSTFS else "9p"
# One round in the rig, where a round takes some 15 minutes.
RUNS = int(os.environ.get("LXS_BENCH_RUNS", "1" if where == "rig" else "3"))
# The mount options of the lxs/QEMU comparison (the same for both), and the
# lxs-only table. CACHE-MSIZE; see bench/RESULTS.md ("9p") for the choice.
OPTS = os.environ.get("LXS_BENCH_9P_OPTS", "loose-512000")
TABLE = os.environ.get("LXS_BENCH_9P_TABLE",
                       "none-131072-r none-512000-mr mmap-512000-mr loose-512000-mr").split()
PARTS = os.environ.get("LXS_BENCH_9P_PARTS", "mgrct")
BIG_MIB = int(os.environ.get("LXS_BENCH_9P_BIG_MIB", "1024"))
# lxs-vm also with --no-sandbox beside it (the sandbox's cost); 0 leaves it out.
SANDBOX_OFF = os.environ.get("LXS_BENCH_9P_NOSANDBOX", "1") != "0"
VCPUS = vmbench.vcpus(where)
# A guest that printed nothing for this long is taken as stalled and rerun.
IDLE_S = int(os.environ.get("LXS_BENCH_9P_IDLE_S", "300"))
LOGS = os.path.join(scratch, "logs")
# LXS_BENCH_9P_REPORT=1: measure nothing, print what STATE holds (on the host).
REPORT = os.environ.get("LXS_BENCH_9P_REPORT") == "1"
# Each finished step's measures, so that a rerun after the rig wedged (see
# bench/9p) goes on where it stopped; and the heartbeat bench/9p watches.
STATE = os.path.join(scratch, "state.json")
HEARTBEAT = os.path.join(scratch, "heartbeat")
MEM = "1G"
WORK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "9p-work.sh")
kernel = f"{kdir}/vmlinux"


def log(msg):
    print(f"bench/{NAME}: {msg}", file=sys.stderr, flush=True)


def raise_fd_limit():
    """lxs-vm's 9P server holds an O_PATH descriptor per fid, and with
    cache=loose the guest keeps a fid per cached dentry (some 8,700 here):
    under the usual soft limit of 1,024 the server answers EMFILE. lxs-vm
    does not raise its own limit (yet); so that the benchmark measures the
    server rather than the limit, both VMMs get a high one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 1 << 16
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    log(f"open files limit {soft}/{hard} -> {'/'.join(map(str, resource.getrlimit(resource.RLIMIT_NOFILE)))}")


def setup():
    base = tempfile.mkdtemp(prefix="lxs-b9p.", dir="/tmp")
    share = os.path.join(base, "share")
    os.makedirs(os.path.join(share, ".b9p"))
    os.makedirs(os.path.join(base, "local"))
    t0 = time.monotonic()
    subprocess.run(["tar", "-xf", os.path.join(scratch, "data/tools-git.tar"), "-C", share], check=True)
    shutil.copyfile(os.path.join(scratch, "data/tx.tar"), os.path.join(share, ".b9p/tx.tar"))
    chunk = os.urandom(1 << 20)
    with open(os.path.join(share, "big"), "wb") as f:
        for _ in range(BIG_MIB):
            f.write(chunk)
    img = os.path.join(base, "root.img")
    subprocess.run(["zstd", "-q", "-d", "-f", os.path.join(scratch, "root.img.zst"), "-o", img], check=True)
    # The index's stat data are the host's once, not the tarball's.
    subprocess.run(["git", "-c", "safe.directory=*", "-C", os.path.join(share, "tools"), "status",
                    "--porcelain"], check=True, stdout=subprocess.DEVNULL)
    log(f"share ready in {time.monotonic() - t0:.0f} s under {base}")
    return base, share, img


def parse(lines):
    """{label: {key: value}} from the B9P lines."""
    out = {}
    for line in lines:
        f = line.split()
        if len(f) >= 3 and f[0] == "B9P" and "=" in f[2]:
            k, v = f[2].split("=", 1)
            out.setdefault(f[1], {})[k] = float(v)
    return out


def check(res, label, parts, who, lines=()):
    """LABEL's measures; a failed or missing one is said (with the guest's
    last lines) and left out, so one failure does not lose a whole run."""
    want = {"m": "meta_ms", "g": "git_ms", "r": "read_ms", "c": "create_ms", "t": "tar_ms"}
    got = res.get(label, {})
    bad = [k for k in got if k.endswith("_error")]
    missing = [want[p] for p in parts if want[p] not in got]
    if bad or missing:
        tail = "".join(f"\n  {line}" for line in lines[-40:])
        log(f"{who} {label}: failed measures {bad}, missing {missing}: {got}{tail}")
    return got


def clean(share):
    # What an interrupted run may leave behind.
    shutil.rmtree(os.path.join(share, "w"), ignore_errors=True)
    try:
        os.unlink(os.path.join(share, "tools/.git/index.lock"))
    except FileNotFoundError:
        pass


def beat():
    while True:
        with open(HEARTBEAT, "w") as f:
            f.write(f"{time.time():.0f}\n")
        time.sleep(20)


def load_state():
    sig = {"opts": OPTS, "parts": PARTS, "table": TABLE, "runs": RUNS, "big": BIG_MIB, "where": where,
           "sandbox_off": SANDBOX_OFF, "nowatch": NOWATCH}
    try:
        with open(STATE) as f:
            st = json.load(f)
        if st.get("sig") == sig:
            done = [k for k in st if k not in ("sig", "tries")]
            if done:
                log(f"resuming; already measured: {', '.join(done)}")
            return st
    except (OSError, ValueError):
        pass
    return {"sig": sig}


def save():
    with open(STATE + ".new", "w") as f:
        json.dump(state, f)
    os.replace(STATE + ".new", STATE)


def step(name, fn):
    """FN()'s measures, remembered in STATE. A step begun 3 times before
    (each time the rig wedged under it) is given up: {}, said so."""
    if name in state:
        return state[name]
    tries = state.setdefault("tries", {})
    tries[name] = tries.get(name, 0) + 1
    if tries[name] > 3 or REPORT:
        if not REPORT:
            log(f"{name}: the rig wedged in each of 3 tries; leaving it out")
        return {}
    save()
    state[name] = fn()
    save()
    return state[name]


def native(share, base):
    clean(share)
    env = dict(os.environ, LOCAL=os.path.join(base, "local"))
    p = subprocess.run(["bash", WORK, share, "native", PARTS], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    if p.returncode:
        sys.exit(f"bench/9p: native run failed: {p.stderr[-400:]}")
    return check(parse(p.stdout.splitlines()), "native", PARTS, "native", p.stderr.splitlines())


def append(job):
    return f"console=hvc0 quiet root=/dev/vda ro rootfstype=ext4 init=/sbin/b9p-init b9p.job={job}"


def lxs_cmd(share, img, job):
    return ["build/lxs-vm", "--kernel", kernel, "--mem", MEM, "--cpus", VCPUS,
            "--disk", f"{img},ro,serial=root", "--share", f"hostroot={share}",
            "--cmdline", append(job) + " reboot=k panic=-1"]


def vfs_cmd(share, img, job):
    """lxs-vm with the share as virtio-fs (jobs name it with CACHE virtiofs)."""
    return ["build/lxs-vm", "--kernel", kernel, "--mem", MEM, "--cpus", VCPUS,
            "--disk", f"{img},ro,serial=root", "--fs", f"hostfs={share}",
            "--cmdline", append(job) + " reboot=k panic=-1"]


def vfs_nowatch_cmd(share, img, job):
    return [a.replace(f"hostfs={share}", f"hostfs={share},nowatch") for a in vfs_cmd(share, img, job)]


VFS_OPTS = "virtiofs-0"


def lxs_off_cmd(share, img, job):
    return lxs_cmd(share, img, job) + ["--no-sandbox"]


def qemu_cmd(share, img, job):
    return vmbench.qemu_microvm(kernel, MEM, VCPUS, append(job), devices=[
        "-drive", f"file={img},if=none,id=d0,format=raw,readonly=on",
        "-device", "virtio-blk-device,drive=d0",
        "-fsdev", f"local,id=fs0,path={share},security_model=none",
        "-device", "virtio-9p-device,fsdev=fs0,mount_tag=hostroot"])


def guest(name, make_cmd, share, img, items):
    """One boot of NAME's guest running ITEMS [(CACHE-MSIZE, PARTS)];
    returns {label: measures}. Stalled boots are run again."""
    job = "/".join(f"{o}-{p}" for o, p in items)

    def once():
        clean(share)
        t0 = time.monotonic()
        # The guest's whole console, for when something goes wrong.
        os.makedirs(LOGS, exist_ok=True)
        with open(os.path.join(LOGS, name.replace(" ", "-") + ".log"), "a", buffering=1) as f:
            f.write(f"=== {time.strftime('%H:%M:%S')} {job}\n")

            def on_line(line):
                f.write(f"{time.monotonic() - t0:7.1f} {line}\n")
                if line.startswith("B9P "):
                    log(f"{name}: {line[4:]}")
            lines = vmbench.run_to_marker(make_cmd(share, img, job), "B9P-END", idle_s=IDLE_S,
                                          total_s=1800, on_line=on_line)
        log(f"{name}: boot to end {time.monotonic() - t0:.0f} s")
        return lines

    lines = vmbench.retried(f"bench/9p: {name}", once)
    res = parse(lines)
    return {o: check(res, o, p, name, lines) for o, p in items}


NAN = float("nan")


def med(rows, key):
    """Median of KEY over the rows that have it; NaN if none has."""
    v = [r[key] for r in rows if key in r]
    return statistics.median(v) if v else NAN


def mibs(r):
    return r["read_mib"] * 1000 / r["read_ms"] if "read_ms" in r and "read_mib" in r else NAN


def fmt(x, spec):
    return "n/m" if x != x else format(x, spec)


state = load_state()
if REPORT:
    base = share = img = None
else:
    threading.Thread(target=beat, daemon=True).start()
    raise_fd_limit()
    base, share, img = setup()
rows = {"native": [], "lxs": [], "qemu": []}
if HOSTFS:
    rows["vfs"] = []
if NOWATCH:
    rows["vfs_nowatch"] = []
if SANDBOX_OFF:
    rows["lxs_off"] = []
for r in range(RUNS):
    log(f"round {r + 1} of {RUNS}")
    rows["native"].append(step(f"native{r}", lambda: native(share, base)))
    log(f"native: {rows['native'][-1]}")
    # One boot per measure, lxs-vm and QEMU in turn: a rig that wedges (see
    # bench/9p) then costs one measure, not a whole round.
    for k in rows:
        if k != "native":
            rows[k].append({})
    for part in PARTS:
        rows["lxs"][-1].update(step(f"lxs{r}-{part}", lambda: guest(
            "lxs-vm", lxs_cmd, share, img, [(OPTS, part)])[OPTS]))
        rows["qemu"][-1].update(step(f"qemu{r}-{part}", lambda: guest(
            "qemu", qemu_cmd, share, img, [(OPTS, part)])[OPTS]))
        if HOSTFS:
            rows["vfs"][-1].update(step(f"vfs{r}-{part}", lambda: guest(
                "lxs-vm virtio-fs", vfs_cmd, share, img, [(VFS_OPTS, part)])[VFS_OPTS]))
        if NOWATCH:
            rows["vfs_nowatch"][-1].update(step(f"vfsnowatch{r}-{part}", lambda: guest(
                "lxs-vm virtio-fs nowatch", vfs_nowatch_cmd, share, img,
                [(VFS_OPTS, part)])[VFS_OPTS]))
        if SANDBOX_OFF:
            rows["lxs_off"][-1].update(step(f"lxsoff{r}-{part}", lambda: guest(
                "lxs-vm --no-sandbox", lxs_off_cmd, share, img, [(OPTS, part)])[OPTS]))

# The table's items, each in a boot of its own; an item with the options of
# the comparison takes its figures from there.
table = {}
for item in (TABLE if TABLE != ["none"] else []):
    o, p = item.rsplit("-", 1)
    if o == OPTS and all(c in PARTS for c in p):
        table[o] = rows["lxs"][0]
    else:
        table[o] = step(f"table-{item}", lambda: guest("lxs-vm table", lxs_cmd, share, img, [(o, p)])[o])
if base:
    shutil.rmtree(base, ignore_errors=True)

# The tree's size is counted by the find+stat part only.
files = med(rows["native"], "files")
files = int(files) if files == files else "n/m"
cols = [("find+stat, cold (ms)", "meta_ms", "m"), ("find+stat, warm (ms)", "meta_warm_ms", "m"),
        ("git status, 1st (ms)", "git_first_ms", "g"), ("git status (ms)", "git_ms", "g"),
        (f"read {BIG_MIB} MiB (ms)", "read_ms", "r"), ("read (MiB/s)", "read_mibs", "r"),
        ("create 10,000 (ms)", "create_ms", "c"), ("delete 10,000 (ms)", "delete_ms", "c"),
        ("tar x 100 MiB + sync (ms)", "tar_ms", "t"), ("rm -rf of that (ms)", "tar_rm_ms", "t")]
cols = [(n, k) for n, k, p in cols if p in PARTS]
m = {k: {key: med(v, key) for _, key in cols} for k, v in rows.items()}
for k in m:
    m[k]["read_mibs"] = statistics.median([mibs(r) for r in rows[k]] or [NAN])
opts = "cache={},msize={}".format(*OPTS.split("-"))
if HOSTFS:
    print(f"hostfs benchmark ({where}; {RUNS} round(s) of native, lxs-vm virtio-fs, lxs-vm 9P, QEMU 9P; "
          f"medians; guest {VCPUS} vCPU, {MEM}; 9P mounts {opts}; tree: {files} entries)")
    long_col = "nowatch" if NOWATCH else None
    print(f"| {'measure':26} | {'native':>8} | {'lxs vfs':>8} | "
          + (f"{long_col:>8} | " if long_col else "")
          + f"{'lxs 9P':>8} | {'QEMU 9P':>8} | {'vfs/QEMU':>8} | "
          + (f"{'now./QEMU':>9} | " if long_col else "")
          + f"{'vfs/lxs9P':>9} | {'vfs/native':>10} |")
    print(f"|{'-' * 28}|{'-' * 9}:|{'-' * 9}:|" + (f"{'-' * 9}:|" if long_col else "")
          + f"{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|" + (f"{'-' * 10}:|" if long_col else "")
          + f"{'-' * 10}:|{'-' * 11}:|")
    for name, key in cols:
        n, v, lx, q = m["native"][key], m["vfs"][key], m["lxs"][key], m["qemu"][key]
        lg = m["vfs_nowatch"][key] if long_col else NAN
        spec = ".1f" if key == "read_mibs" else ".0f"
        print(f"| {name:26} | {fmt(n, spec):>8} | {fmt(v, spec):>8} | "
              + (f"{fmt(lg, spec):>8} | " if long_col else "")
              + f"{fmt(lx, spec):>8} | {fmt(q, spec):>8} | {fmt(v / q if q else NAN, '.2f'):>8} | "
              + (f"{fmt(lg / q if q else NAN, '.2f'):>9} | " if long_col else "")
              + f"{fmt(v / lx if lx else NAN, '.2f'):>9} | {fmt(v / n if n else NAN, '.2f'):>10} |")

    def vr(key, who="qemu", mine="vfs"):
        return f"{m[mine][key] / m[who][key]:.3f}" if m[who].get(key) else "nan"
    s = {k: m[k].get("create_ms", NAN) + m[k].get("delete_ms", NAN) for k in m}
    t = {k: m[k].get("tar_ms", NAN) + m[k].get("tar_rm_ms", NAN) for k in m}
    print(f"RESULT hostfs meta_ratio={vr('meta_ms')} git_ratio={vr('git_ms')} "
          f"read_ratio={vr('read_mibs')} create_ratio={s['vfs'] / s['qemu']:.3f} "
          f"tar_ratio={t['vfs'] / t['qemu']:.3f} native_meta_x={vr('meta_ms', 'native')} "
          f"p9_meta_ratio={vr('meta_ms', 'lxs')} p9_read_ratio={vr('read_mibs', 'lxs')}"
          + (f" nowatch_meta_ratio={vr('meta_ms', mine='vfs_nowatch')}"
             f" nowatch_git_ratio={vr('git_ms', mine='vfs_nowatch')}"
             f" nowatch_tar_ratio={t['vfs_nowatch'] / t['qemu']:.3f}" if NOWATCH else ""))
    sys.exit(0)
print(f"9p benchmark ({where}; {RUNS} round(s) of native, lxs-vm, QEMU; medians; guest {VCPUS} "
      f"vCPU, {MEM}; mount {opts}; tree: {files} entries)")
print(f"| {'measure':26} | {'native':>8} | {'lxs-vm':>8} | {'QEMU':>8} | {'lxs/QEMU':>8} | {'lxs/native':>10} |")
print(f"|{'-' * 28}|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|{'-' * 11}:|")
for name, key in cols:
    n, lx, q = m["native"][key], m["lxs"][key], m["qemu"][key]
    spec = ".1f" if key == "read_mibs" else ".0f"
    print(f"| {name:26} | {fmt(n, spec):>8} | {fmt(lx, spec):>8} | {fmt(q, spec):>8} | "
          f"{fmt(lx / q if q else NAN, '.2f'):>8} | {fmt(lx / n if n else NAN, '.2f'):>10} |")
if table:
    print(f"lxs-vm mount options (a boot per row; find+stat of the tree, cold then warm; "
          f"read of the {BIG_MIB} MiB file):")
    print(f"| {'cache, msize':22} | {'find+stat ms':>12} | {'warm ms':>8} | {'read MiB/s':>10} |")
    print(f"|{'-' * 24}|{'-' * 13}:|{'-' * 9}:|{'-' * 11}:|")
    for o, p in (i.rsplit("-", 1) for i in TABLE):
        v = table[o]
        label = "cache={}, {}".format(*o.split("-"))
        cell = lambda part, x, spec: fmt(x, spec) if part in p else "-"  # noqa: E731
        print(f"| {label:22} | {cell('m', v.get('meta_ms', NAN), '.0f'):>12} | "
              f"{cell('m', v.get('meta_warm_ms', NAN), '.0f'):>8} | {cell('r', mibs(v), '.1f'):>10} |")


def ratio(key, who="qemu"):
    return f"{m['lxs'][key] / m[who][key]:.3f}" if m[who].get(key) else "nan"


s = {k: m[k].get("create_ms", NAN) + m[k].get("delete_ms", NAN) for k in m}
sandbox = ""
if SANDBOX_OFF:
    # src/vmm/sandbox.c's cost: lxs-vm with its sandbox over lxs-vm without.
    print("lxs-vm with its sandbox and with --no-sandbox (the same boots' medians):")
    print(f"| {'measure':26} | {'sandbox':>8} | {'none':>8} | {'ratio':>8} |")
    print(f"|{'-' * 28}|{'-' * 9}:|{'-' * 9}:|{'-' * 9}:|")
    for name, key in cols:
        on, no = m["lxs"][key], m["lxs_off"][key]
        spec = ".1f" if key == "read_mibs" else ".0f"
        print(f"| {name:26} | {fmt(on, spec):>8} | {fmt(no, spec):>8} | {fmt(on / no if no else NAN, '.2f'):>8} |")
    sandbox = (f" sandbox_meta_x={ratio('meta_ms', 'lxs_off')} sandbox_read_x={ratio('read_mibs', 'lxs_off')} "
               f"sandbox_create_x={s['lxs'] / s['lxs_off']:.3f}")
print(f"RESULT 9p meta_ratio={ratio('meta_ms')} git_ratio={ratio('git_ms')} "
      f"read_ratio={ratio('read_mibs')} create_ratio={s['lxs'] / s['qemu']:.3f} "
      f"native_meta_x={ratio('meta_ms', 'native')}{sandbox}")
