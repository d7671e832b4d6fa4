/*
 * loader.c - lxs-pico-loader: what every guest execve really executes.
 *
 *   argv                  the guest's argv, unchanged (so /proc/<pid>/cmdline,
 *                         ps and pgrep see the guest's command line)
 *   envp                  the guest's environment, then entries the loader
 *                         removes before the guest starts:
 *   LXS_PICO_STATE=       translator state (pico_state_format)
 *   LXS_PICO_HOST=        host path of the program ("" on the first start:
 *                         look LXS_PICO_EXECFN up in the guest's PATH)
 *   LXS_PICO_EXE=         its guest path (what /proc/self/exe shows)
 *   LXS_PICO_EXECFN=      the path the guest gave execve (AT_EXECFN)
 *   LXS_PICO_MAP=FD:BASE  an open fd of this file and, in hex, the address
 *                         the session's translator lives at (absent on the
 *                         first start: the loader picks the address)
 *   LXS_PICO_IDS=         room for the ids, which the translator keeps
 *                         up to date there for other processes to read
 *                         (privilege.c, pico_ids_publish)
 *   LXS_PICO_SCRIPT=1     (for a #! script) argv is already the kernel's
 *                         "interp [arg] path args...", so that
 *                         /proc/<pid>/cmdline shows it as Linux would
 *
 * It maps the program and its ELF interpreter from the distro itself (never
 * the host's ld.so), builds the initial stack the kernel would have built
 * (argc, argv, envp, auxv with AT_PHDR/AT_BASE/AT_ENTRY/AT_EXECFN/AT_RANDOM
 * and the fake ids), installs the SIGSYS handler and jumps to the entry.
 *
 * The loader is position-independent (static-pie, with no relocations:
 * build.mk checks) and runs in two places. The kernel maps it wherever it
 * likes; there (stage 1) it only maps its own file again at the session's
 * address BASE, by mmap hints (without mseal the filter refuses MAP_FIXED
 * over BASE from anywhere but BASE's text, and after an execve nothing is
 * mapped there), and jumps to its copy at BASE (stage 2: loader_main),
 * which unmaps the kernel's copy and seals the image if the session does. BASE is chosen at random
 * by the session's first loader; the seccomp filter it installs allows BASE's text and is inherited
 * by every descendant, whose loaders are told BASE in LXS_PICO_MAP. The copy at BASE stays mapped
 * underneath the guest: its text is the translator.
 */
#include <asm/stat.h>
#include <linux/stat.h>
#include <linux/elf.h>
#include <linux/auxvec.h>
#include <linux/mman.h>
#include <linux/fcntl.h>
#include <linux/errno.h>
#include <linux/prctl.h>

#include "common/posix_const.h"
#include "common/volfs.h"
#include "pico.h"
#include "sys.h"

extern const Elf64_Ehdr __ehdr_start __attribute__((visibility("hidden")));
extern char _end[] __attribute__((visibility("hidden")));

#define EXIT_INTERNAL 125
#define EXIT_NOEXEC   126
#define EXIT_NOTFOUND 127

__attribute__((noreturn)) static void die(int code, const char *a, const char *b)
{
	pico_write_err("lxs-pico: ", a, b);
	sys1(__NR_exit_group, code);
	__builtin_unreachable();
}

static const char *errstr(long e)
{
	switch (-e) {
	case ENOENT:
		return ": not found";
	case EACCES:
		return ": permission denied";
	case ENOEXEC:
		return ": exec format error";
	case ENOTDIR:
		return ": not a directory";
	case ELOOP:
		return ": too many levels of symbolic links";
	case ENOMEM:
		return ": out of memory";
	default:
		return ": cannot execute";
	}
}

/* ---- ELF mapping ------------------------------------------------------------------ */

struct image {
	unsigned long base, entry, phdr, phnum, phent;
	char interp[PICO_PATH];
};

#define PAGE      4096UL
#define PFLOOR(x) ((x) & ~(PAGE - 1))
#define PCEIL(x)  (((x) + PAGE - 1) & ~(PAGE - 1))

static int prot_of(unsigned flags)
{
	return ((flags & PF_R) ? PROT_READ : 0) | ((flags & PF_W) ? PROT_WRITE : 0) |
	       ((flags & PF_X) ? PROT_EXEC : 0);
}

static long load_elf(const char *host, struct image *im, int want_interp)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph[64];
	struct stat st;
	int fd = -1;
	long r = pico_read_head(host, (char *)&eh, sizeof eh, &st, &fd);
	if (r < 0)
		return r;
	r = -ENOEXEC;
	if (memcmp(eh.e_ident, ELFMAG, 4) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_machine != EM_X86_64 || (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 64)
		goto out;
	if (sys4(__NR_pread64, fd, (long)ph, eh.e_phnum * sizeof(Elf64_Phdr), (long)eh.e_phoff) !=
	    (long)(eh.e_phnum * sizeof(Elf64_Phdr)))
		goto out;

	unsigned long lo = ~0UL, hi = 0;
	im->interp[0] = 0;
	for (int i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD) {
			if (PFLOOR(ph[i].p_vaddr) < lo)
				lo = PFLOOR(ph[i].p_vaddr);
			if (PCEIL(ph[i].p_vaddr + ph[i].p_memsz) > hi)
				hi = PCEIL(ph[i].p_vaddr + ph[i].p_memsz);
		} else if (ph[i].p_type == PT_INTERP && want_interp) {
			if (ph[i].p_filesz < 2 || ph[i].p_filesz >= PICO_PATH)
				goto out;
			if (sys4(__NR_pread64, fd, (long)im->interp, (long)ph[i].p_filesz,
				 (long)ph[i].p_offset) != (long)ph[i].p_filesz)
				goto out;
			im->interp[ph[i].p_filesz] = 0;
		}
	}
	if (hi <= lo)
		goto out;

	unsigned long bias = 0;
	if (eh.e_type == ET_DYN) {
		/* Reserve the whole span so the segments keep their distances. */
		r = sys6(__NR_mmap, 0, (long)(hi - lo), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			 0);
		if (r < 0)
			goto out;
		bias = (unsigned long)r - lo;
	}
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		int prot = prot_of(p->p_flags);
		unsigned long start = PFLOOR(bias + p->p_vaddr);
		unsigned long fend = bias + p->p_vaddr + p->p_filesz;
		unsigned long mend = PCEIL(bias + p->p_vaddr + p->p_memsz);
		unsigned long off = PFLOOR(p->p_offset);
		if (p->p_filesz) {
			r = sys6(__NR_mmap, (long)start, (long)(fend - start),
				 prot | (p->p_memsz > p->p_filesz ? PROT_WRITE : 0),
				 MAP_PRIVATE | MAP_FIXED, fd, (long)off);
			if (r < 0)
				goto out;
		}
		if (p->p_memsz > p->p_filesz) {
			/* .bss: the rest of the last file page is zeroed, whole
			 * pages after it are anonymous. */
			unsigned long zpage = PCEIL(fend);
			if (p->p_filesz && fend < zpage)
				memset((void *)fend, 0, zpage - fend);
			if (!p->p_filesz)
				zpage = start;
			if (mend > zpage) {
				r = sys6(__NR_mmap, (long)zpage, (long)(mend - zpage), prot,
					 MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS, -1, 0);
				if (r < 0)
					goto out;
			}
			if (p->p_filesz && !(prot & PROT_WRITE))
				sys3(__NR_mprotect, (long)start, (long)(zpage - start), prot);
		}
	}
	im->base = bias;
	im->entry = bias + eh.e_entry;
	im->phnum = eh.e_phnum;
	im->phent = eh.e_phentsize;
	im->phdr = 0;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			im->phdr = bias + ph[i].p_vaddr;
	for (int i = 0; !im->phdr && i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && eh.e_phoff >= ph[i].p_offset &&
		    eh.e_phoff < ph[i].p_offset + ph[i].p_filesz)
			im->phdr = bias + ph[i].p_vaddr + (eh.e_phoff - ph[i].p_offset);
	r = 0;
out:
	sys1(__NR_close, fd);
	return r;
}

/* ---- the initial stack -------------------------------------------------------------- */

__attribute__((noreturn)) static void jump(unsigned long sp, unsigned long entry)
{
	__asm__ volatile("mov %0, %%rsp\n\t"
			 "xor %%edx, %%edx\n\t"
			 "xor %%ebp, %%ebp\n\t"
			 "xor %%ebx, %%ebx\n\t"
			 "xor %%esi, %%esi\n\t"
			 "xor %%edi, %%edi\n\t"
			 "xor %%r8d, %%r8d\n\t"
			 "xor %%r9d, %%r9d\n\t"
			 "xor %%r10d, %%r10d\n\t"
			 "xor %%r11d, %%r11d\n\t"
			 "xor %%r12d, %%r12d\n\t"
			 "xor %%r13d, %%r13d\n\t"
			 "xor %%r14d, %%r14d\n\t"
			 "xor %%r15d, %%r15d\n\t"
			 "jmp *%1\n"
			 :
			 : "r"(sp), "a"(entry)
			 : "memory");
	__builtin_unreachable();
}

static char *push_str(char **top, const char *s)
{
	size_t n = strlen(s) + 1;
	*top -= n;
	memcpy(*top, s, n);
	return *top;
}

__attribute__((noreturn)) static void start_guest(char **gargv, long gargc, char **envp,
						  unsigned long *kauxv, const struct image *exe,
						  const struct image *interp, const char *execfn,
						  unsigned long sp_now)
{
	long envc = 0;
	while (envp[envc])
		envc++;

	/* Below everything the loader still uses of the kernel's stack; the
	 * stack mapping grows down to meet it. */
	char *top = (char *)((sp_now - 65536) & ~15UL);
	const char *sexecfn = push_str(&top, execfn);
	top -= 16;
	char *random = top;
	sys3(__NR_getrandom, (long)random, 16, 0);
	char *platform = push_str(&top, "x86_64");
	/* Copy strings first, remembering their new addresses in place of the
	 * old pointers (the old arrays are ours to reuse). */
	for (long i = gargc - 1; i >= 0; i--)
		gargv[i] = push_str(&top, gargv[i]);
	for (long i = envc - 1; i >= 0; i--)
		envp[i] = push_str(&top, envp[i]);

	unsigned long aux[2 * 32];
	int na = 0;
#define AUX(k, v) (aux[na++] = (k), aux[na++] = (unsigned long)(v))
	for (unsigned long *a = kauxv; a[0] != AT_NULL; a += 2) {
		switch (a[0]) {
		case AT_SYSINFO_EHDR:
		case AT_HWCAP:
		case AT_HWCAP2:
		case AT_PAGESZ:
		case AT_CLKTCK:
		case AT_MINSIGSTKSZ:
			if (na < 2 * 24)
				AUX(a[0], a[1]);
			break;
		}
	}
	AUX(AT_PHDR, exe->phdr);
	AUX(AT_PHENT, exe->phent);
	AUX(AT_PHNUM, exe->phnum);
	AUX(AT_BASE, interp ? interp->base : 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, exe->entry);
	AUX(AT_UID, pico.ruid);
	AUX(AT_EUID, pico.euid);
	AUX(AT_GID, pico.rgid);
	AUX(AT_EGID, pico.egid);
	AUX(AT_SECURE, pico.ruid != pico.euid || pico.rgid != pico.egid); /* a set-id program */
	AUX(AT_RANDOM, random);
	AUX(AT_PLATFORM, platform);
	AUX(AT_EXECFN, sexecfn);
	AUX(AT_NULL, 0);
#undef AUX

	long words = 1 + gargc + 1 + envc + 1 + na;
	unsigned long *sp =
	    (unsigned long *)(((unsigned long)top - (unsigned long)words * 8) & ~15UL);
	unsigned long *w = sp;
	*w++ = (unsigned long)gargc;
	for (long i = 0; i < gargc; i++)
		*w++ = (unsigned long)gargv[i];
	*w++ = 0;
	for (long i = 0; i < envc; i++)
		*w++ = (unsigned long)envp[i];
	*w++ = 0;
	for (int i = 0; i < na; i++)
		*w++ = aux[i];
	jump((unsigned long)sp, interp ? interp->entry : exe->entry);
}

/* ---- first start: PATH lookup, cwd ---------------------------------------------------- */

__attribute__((noreturn)) static void first_start(const char *prog, char **gargv, char **envp)
{
	char cand[PICO_PATH], host[PICO_HOST];
	long r;
	if (pico.cwd[0]) {
		r = pico_resolve(AT_FDCWD, pico.cwd, P_FOLLOW, host, NULL);
		if (r >= 0)
			pico.cwd_tools = r == R_TOOLS;
		if (r >= 0)
			r = sys1(__NR_chdir, (long)host);
		if (r < 0)
			die(EXIT_INTERNAL, pico.cwd,
			    ": cannot change to this directory in the distro");
	}
	for (const char *c = prog; *c; c++)
		if (*c == '/') {
			r = pico_execve(AT_FDCWD, prog, gargv, envp, 0);
			die(r == -ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, prog, errstr(r));
		}
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	for (char **e = envp; *e; e++)
		if (memcmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	long err = -ENOENT;
	size_t pl = strlen(prog);
	while (*path) {
		const char *end = path;
		while (*end && *end != ':')
			end++;
		size_t dl = (size_t)(end - path);
		if (dl == 0)
			cand[0] = '.', dl = 1;
		else if (dl + pl + 2 <= sizeof cand)
			memcpy(cand, path, dl);
		if (dl + pl + 2 <= sizeof cand) {
			cand[dl] = '/';
			memcpy(cand + dl + 1, prog, pl + 1);
			r = pico_execve(AT_FDCWD, cand, gargv, envp, 0);
			if (r != -ENOENT && r != -ENOTDIR)
				err = r;
		}
		path = *end ? end + 1 : end;
	}
	die(err == -ENOENT ? EXIT_NOTFOUND : EXIT_NOEXEC, prog, errstr(err));
}

/* ---- stage 1: to the session's address ---------------------------------------------- */

/*
 * Where a session's translator may live: 2048 chunks of 4 GiB from
 * 0x110000000000 (17 TiB) to 0x190000000000 (25 TiB), and in the chunk any
 * page that leaves 4 MiB before the chunk's end (the image must not cross a
 * 4 GiB boundary: the filter compares 32-bit halves). That is 11 + ~20 =
 * 31 bits of entropy. The kernel puts programs at 0x400000 or around
 * 0x555555554000, the heap after them, mmap and the stack below
 * 0x7fffffffffff growing down: all far from here. Sanitizers' fixed shadows
 * (ASan's ends at 0x10007fff8000, MSan's starts at 0x200000000000) are
 * outside it too.
 */
#define BASE_LO     0x110000000000UL
#define BASE_CHUNKS 2048UL
#define BASE_PAGES  ((1UL << 20) - 1024)

static unsigned long pick_base(void)
{
	unsigned long r = 0;
	if (sys3(__NR_getrandom, (long)&r, sizeof r, 0) != sizeof r)
		die(EXIT_INTERNAL, "cannot choose the translator's address", ": getrandom failed");
	return BASE_LO + ((r % BASE_CHUNKS) << 32) + (((r / BASE_CHUNKS) % BASE_PAGES) << 12);
}

/* "FD:HEXBASE:SEALED" */
static int parse_map(const char *s, long *fd, unsigned long *base, int *sealed)
{
	unsigned long v;
	if (pico_atou(&s, &v) || *s++ != ':')
		return -1;
	*fd = (long)v;
	unsigned long b = 0;
	int n = 0;
	for (; *s && *s != ':'; s++, n++) {
		int d = *s >= '0' && *s <= '9'   ? *s - '0'
			: *s >= 'a' && *s <= 'f' ? *s - 'a' + 10
						 : -1;
		if (d < 0 || n >= 16)
			return -1;
		b = b << 4 | (unsigned long)d;
	}
	*base = b;
	if (!n || *s++ != ':' || (*s != '0' && *s != '1') || s[1])
		return -1;
	*sealed = *s == '1';
	return 0;
}

/* Maps this file's PT_LOAD segments from fd at base, by hints only: each
 * must land where asked. Returns 0, or -EEXIST if one did not. */
static long map_image(long fd, unsigned long base)
{
	long r = 0;
	unsigned long done = base;
	const Elf64_Ehdr *eh = &__ehdr_start;
	const Elf64_Phdr *ph = (const Elf64_Phdr *)((const char *)eh + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		int prot = prot_of(p->p_flags);
		unsigned long start = base + PFLOOR(p->p_vaddr);
		unsigned long fend = base + p->p_vaddr + p->p_filesz;
		unsigned long mend = base + PCEIL(p->p_vaddr + p->p_memsz);
		unsigned long zpage = p->p_filesz ? PCEIL(fend) : start;
		if (p->p_filesz) {
			r = sys6(__NR_mmap, (long)start, (long)(fend - start), prot, MAP_PRIVATE,
				 fd, (long)PFLOOR(p->p_offset));
			if (r >= 0 && (unsigned long)r != start) {
				sys2(__NR_munmap, r, (long)(fend - start));
				r = -EEXIST;
			}
			if (r < 0)
				goto undo;
			done = PCEIL(fend);
			/* .bss in the last file page (segments holding .bss are
			 * writable, so this needs no mprotect). */
			if (p->p_memsz > p->p_filesz && fend < zpage)
				memset((void *)fend, 0, zpage - fend);
		}
		if (mend > zpage) {
			r = sys6(__NR_mmap, (long)zpage, (long)(mend - zpage), prot,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (r >= 0 && (unsigned long)r != zpage) {
				sys2(__NR_munmap, r, (long)(mend - zpage));
				r = -EEXIST;
			}
			if (r < 0)
				goto undo;
			done = mend;
		}
	}
	return 0;
undo:
	/* What was mapped of the image here: it starts at base (the ELF
	 * header is in the first segment) and went up to done. */
	if (done > base)
		sys2(__NR_munmap, (long)base, (long)(done - base));
	return r;
}

__attribute__((noreturn, used)) void loader_main(unsigned long *sp, unsigned long from, int sealed);
__attribute__((noreturn, used)) void loader_start(unsigned long *sp);

__asm__(".text\n.globl _start\n_start:\n\txor %ebp, %ebp\n\tmov %rsp, %rdi\n\tand $-16, "
	"%rsp\n\tcall loader_start\n\thlt\n");

/* Stage 1, wherever the kernel put us: only system calls the filter passes
 * from anywhere (mmap with a hint, close, getrandom, write, exit_group). */
__attribute__((noreturn, used)) void loader_start(unsigned long *sp)
{
	char **e = (char **)(sp + 1 + sp[0] + 1);
	unsigned long here = (unsigned long)&__ehdr_start, base = 0;
	long fd = -1, r;
	int sealed = 0;
	const char *map = 0;
	/* The last one is pico_execve's (an earlier one is the guest's). */
	for (; *e; e++)
		if (memcmp(*e, "LXS_PICO_MAP=", 13) == 0)
			map = *e + 13;
	if (map && parse_map(map, &fd, &base, &sealed))
		die(EXIT_INTERNAL, "lxs-pico-loader", " is started by lxs-pico, not by hand");
	int first = fd < 0;
	if (first) {
		/* No filter yet (lxs-pico starts us): any call will do. */
		fd = sys4(__NR_openat, AT_FDCWD, (long)"/proc/self/exe", O_RDONLY | O_CLOEXEC, 0);
		if (fd < 0)
			die(EXIT_INTERNAL, "cannot open /proc/self/exe", errstr(fd));
		base = pick_base();
	}
	if (base & (PAGE - 1))
		die(EXIT_INTERNAL, "lxs-pico-loader", ": bad translator address");
	if (base != here) {
		/* Another try on a first start if something sat there. */
		for (int tries = 0; (r = map_image(fd, base)) == -EEXIST && first && tries < 8;
		     tries++)
			base = pick_base();
		if (r < 0)
			die(EXIT_INTERNAL, "cannot map the translator at its address", errstr(r));
	}
	sys1(__NR_close, fd);
	void (*stage2)(unsigned long *, unsigned long, int) = (void (*)(
	    unsigned long *, unsigned long, int))(base + ((unsigned long)loader_main - here));
	stage2(sp, base == here ? 0 : here, first ? -1 : sealed);
	__builtin_unreachable();
}

/* ---- stage 2, at the session's address ---------------------------------------------- */

#ifndef __NR_mseal
#define __NR_mseal 462
#endif

/*
 * If the session does, the image sealed (mseal, Linux 6.10): the kernel then
 * refuses every munmap, mprotect, mremap, MAP_FIXED mmap and SHM_REMAP
 * shmat over it with EPERM, and the filter needs no look at those calls'
 * arguments (filter.c; madvise it still checks: over a file mapping the
 * kernel allows MADV_DONTFORK, which would leave a child an empty range to
 * fill). The session's first loader tries, and its filter is built for
 * what it found; LXS_PICO_NO_MSEAL=1 in lxs-pico's environment makes it
 * not try (the tests use it to exercise the filter's own checks). A
 * descendant of a sealing session that cannot seal stops: its filter would
 * not guard the image.
 */
static void seal_image(int sealed, char **envp)
{
	unsigned long lo, hi;
	int first = sealed < 0;
	if (first) {
		sealed = 1;
		for (char **e = envp; *e; e++)
			if (memcmp(*e, "LXS_PICO_NO_MSEAL=1", 20) == 0)
				sealed = 0;
	}
	pico_image(&lo, &hi);
	if (sealed && sys3(__NR_mseal, (long)lo, (long)(hi - lo), 0) < 0) {
		if (!first)
			die(EXIT_INTERNAL, "cannot seal the translator",
			    " (mseal) as this session does");
		sealed = 0;
	}
	pico.sealed = sealed;
}

/* sealed: whether the session seals its images (-1 on the first start:
 * to be found out). */
__attribute__((noreturn, used)) void loader_main(unsigned long *sp, unsigned long from, int sealed)
{
	long argc = (long)sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	char **e = envp;
	while (*e)
		e++;
	unsigned long *auxv = (unsigned long *)(e + 1);
	static struct image exe, interp;
	char ihost[PICO_HOST], iguest[PICO_PATH];
	long r;
	unsigned long span = PCEIL((unsigned long)_end) - (unsigned long)&__ehdr_start;

	/* The kernel's copy of us (stage 1's) is no longer needed. */
	if (from)
		sys2(__NR_munmap, (long)from, (long)span);
	seal_image(sealed, envp);

	/* Take our variables out of the guest's environment. */
	const char *vstate = 0, *host = 0, *vexe = 0, *execfn = 0;
	int script_argv = 0;
	char **out = envp;
	for (char **v = envp; *v; v++) {
		const char *s = *v;
		if (memcmp(s, "LXS_PICO_", 9) != 0) {
			*out++ = *v;
			continue;
		}
		s += 9;
		if (memcmp(s, "STATE=", 6) == 0)
			vstate = s + 6;
		else if (memcmp(s, "HOST=", 5) == 0)
			host = s + 5;
		else if (memcmp(s, "EXE=", 4) == 0)
			vexe = s + 4;
		else if (memcmp(s, "EXECFN=", 7) == 0)
			execfn = s + 7;
		else if (memcmp(s, "SCRIPT=", 7) == 0)
			script_argv = 1;
		else if (memcmp(s, "IDS=", 4) == 0 && strlen(s + 4) == PICO_IDS_LEN)
			pico.ids_pub =
			    *v + 13; /* the block is ours to write: the ids are published there */
		else if (memcmp(s, "MAP=", 4) == 0 || memcmp(s, "NO_MSEAL=", 9) == 0)
			; /* read by stage 1, or seal_image */
		else
			*out++ = *v;
	}
	*out = 0;
	if (!vstate || !host || !vexe || !execfn || pico_state_parse(vstate) < 0)
		die(EXIT_INTERNAL, "lxs-pico-loader", " is started by lxs-pico, not by hand");
	pico_caps_exec();
	pico_ids_publish();
	pico_umask_init();
	r = sys4(__NR_readlinkat, AT_FDCWD, (long)"/proc/self/exe", (long)pico.loader,
		 sizeof pico.loader - 1);
	if (r <= 0)
		die(EXIT_INTERNAL, "cannot read /proc/self/exe", "");
	pico.loader[r] = 0;
	if (pico.first) {
		pico.nnp =
		    sys5(__NR_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1; /* the caller's */
		r = pico_install_filter(pico.sealed);
		if (r < 0)
			die(EXIT_INTERNAL, "cannot install the seccomp filter", errstr(r));
	}
	struct stat rst;
	if (sys2(__NR_stat, (long)pico.root, (long)&rst) == 0)
		pico.root_dev = rst.st_dev;
	if (pico.toolslen && sys2(__NR_stat, (long)pico.tools, (long)&rst) == 0)
		pico.tools_dev = rst.st_dev;
	pico.cwd_tools = 0;
	if (pico.toolslen) {
		char cwd[PICO_PATH];
		pico.cwd_tools = sys2(__NR_getcwd, (long)cwd, sizeof cwd) < 0 ||
				 pico_host_region(cwd) == R_TOOLS;
	}
	pico.vsig_pid = (int)sys0(__NR_getpid);
	if (pico_install_handler() < 0)
		die(EXIT_INTERNAL, "cannot install the SIGSYS handler", "");

	char **gargv = argv;
	long gargc = argc;
	if (pico.first)
		first_start(execfn, gargv, envp);

	size_t gl = strlen(vexe);
	if (gl >= sizeof pico.exe)
		die(EXIT_INTERNAL, vexe, ": path too long");
	memcpy(pico.exe, vexe, gl + 1);

	/* #! scripts: the interpreter comes from the distro too. As Linux
	 * does, argv[0] is replaced by "interp [arg] filename" at each level,
	 * where filename is what was being executed (execfn, then the outer
	 * interpreter's path as written). */
	static char istr[4][PICO_PATH], astr[4][PICO_PATH], hstr[4][PICO_HOST];
	const char *filename = execfn;
	for (int depth = 0;; depth++) {
		char head[256];
		struct stat st;
		long n = pico_read_head(host, head, sizeof head - 1, &st, NULL);
		if (n < 0)
			die(EXIT_NOEXEC, pico.exe, errstr(n));
		if (n < 2 || head[0] != '#' || head[1] != '!')
			break;
		char *in, *arg;
		head[n] = 0;
		if (depth >= 4 || pico_parse_shebang(head, n, &in, &arg))
			die(EXIT_NOEXEC, pico.exe, errstr(-ENOEXEC));
		memcpy(istr[depth], in, strlen(in) + 1);
		if (arg)
			memcpy(astr[depth], arg, strlen(arg) + 1);
		int ir = pico_resolve(AT_FDCWD, istr[depth], P_FOLLOW, hstr[depth], iguest);
		if (ir < 0)
			die(EXIT_NOTFOUND, istr[depth], errstr(ir));
		if (depth > 0 || !script_argv) {
			long keep = gargc > 0 ? gargc - 1 : 0, extra = arg ? 2 : 1;
			size_t bytes =
			    ((unsigned long)(keep + extra + 2) * sizeof(char *) + 4095) & ~4095UL;
			r = sys6(__NR_mmap, 0, (long)bytes, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (r < 0)
				die(EXIT_INTERNAL, "out of memory", "");
			char **nv = (char **)r;
			nv[0] = istr[depth];
			if (arg)
				nv[1] = astr[depth];
			nv[extra] = exec_str(filename);
			for (long i = 0; i < keep; i++)
				nv[extra + 1 + i] = gargv[1 + i];
			nv[extra + 1 + keep] = 0;
			gargv = nv;
			gargc = extra + 1 + keep;
		}
		filename = istr[depth];
		host = hstr[depth];
		memcpy(pico.exe, iguest, strlen(iguest) + 1);
	}

	r = load_elf(host, &exe, 1);
	if (r < 0)
		die(EXIT_NOEXEC, pico.exe, errstr(r));
	int has_interp = exe.interp[0] != 0;
	if (has_interp) {
		int ir = pico_resolve(AT_FDCWD, exe.interp, P_FOLLOW, ihost, NULL);
		if (ir < 0)
			die(EXIT_NOTFOUND, exe.interp, errstr(ir));
		r = load_elf(ihost, &interp, 0);
		if (r < 0)
			die(EXIT_NOEXEC, exe.interp, errstr(r));
	}
	const char *base = execfn;
	for (const char *c = execfn; *c; c++)
		if (*c == '/')
			base = c + 1;
	sys5(__NR_prctl, PR_SET_NAME, (long)base, 0, 0, 0);
	start_guest(gargv, gargc, envp, auxv, &exe, has_interp ? &interp : 0, execfn,
		    (unsigned long)sp);
}
