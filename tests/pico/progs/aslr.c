/*
 * tests/pico/progs/aslr.c - a hostile guest against lxs-pico's translator.
 * It finds the translator in /proc/self/maps (lxs-pico names its mappings
 * "[lxs-pico]") and tries to unmap, reprotect, remap or replace its pages
 * in every way tests/pico/run.sh checks; each attempt prints NAME=RESULT
 * (EPERM when refused, "ok" or a count when it went through). Then it
 * checks the translator still translates (the faked root, a distro path)
 * and that its text still holds the same bytes, and that the loader's
 * file is mapped once (the copy the kernel made at exec is gone).
 *
 *   aslr base     prints base=0x... (where the translator's image starts)
 *   aslr attack   the attempts above, and sealed=1 if the text is mseal()ed
 *                 (its VmFlags in smaps hold "sl"); exit 0 when it could run them
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static unsigned long img_lo, text_lo, text_hi;
static int images; /* mappings of the loader's file at offset 0 */
static int sealed; /* the text's VmFlags in smaps hold "sl" (mseal) */

/* The translator's first mapping and its executable one, from the maps. */
static int find_translator(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off;
		char perms[8], dev[16];
		if (!strstr(line, "[lxs-pico]") || sscanf(line, "%lx-%lx %7s %lx %15s", &lo, &hi, perms, &off, dev) != 5)
			continue;
		images += off == 0 && strcmp(dev, "00:00") != 0;
		if (!img_lo)
			img_lo = lo;
		if (perms[2] == 'x')
			text_lo = lo, text_hi = hi;
	}
	fclose(f);
	if (!img_lo || !text_lo)
		return -1;
	/* smaps: the text's block, up to its VmFlags line */
	f = fopen("/proc/self/smaps", "r");
	int in_text = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo;
		if (sscanf(line, "%lx-", &lo) == 1 && strchr(line, '-') && strchr(line, ' ') > strchr(line, '-'))
			in_text = lo == text_lo;
		else if (in_text && strncmp(line, "VmFlags:", 8) == 0)
			sealed = strstr(line, " sl") != NULL;
	}
	if (f)
		fclose(f);
	return 0;
}

static void result(const char *name, long r)
{
	if (r == -1)
		printf("%s=%s\n", name, errno == EPERM ? "EPERM" : strerrorname_np(errno));
	else
		printf("%s=%ld\n", name, r);
	fflush(stdout);
}

/* The translator still works: the faked root, and a path only the distro has. */
static int translator_ok(void)
{
	return getuid() == 0 && access("/opt/t/aslr", X_OK) == 0 && access("/etc/debian_version", R_OK) == 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "attack";
	if (find_translator() < 0) {
		printf("no translator in /proc/self/maps\n");
		return 2;
	}
	if (strcmp(mode, "base") == 0) {
		printf("base=0x%lx\n", img_lo);
		return 0;
	}
	unsigned char before[64];
	memcpy(before, (void *)text_lo, sizeof before);
	unsigned long tlen = text_hi - text_lo, four_g = 1UL << 32;
	long pg = 4096;
	void *mine = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mine == MAP_FAILED)
		return perror("mmap"), 1;

	result("munmap_text", munmap((void *)text_lo, tlen));
	result("mprotect_text", mprotect((void *)text_lo, pg, PROT_READ | PROT_WRITE | PROT_EXEC));
	result("pkey_mprotect_text", syscall(SYS_pkey_mprotect, text_lo, pg, PROT_READ | PROT_WRITE | PROT_EXEC, 0));
	void *m = mmap((void *)text_lo, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	result("mmap_fixed_text", m == MAP_FAILED ? -1 : 0);
	m = mmap((void *)text_lo, pg, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	result("mmap_noreplace_text", m == MAP_FAILED ? -1 : 0);
	m = mremap((void *)text_lo, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, mine);
	result("mremap_from_text", m == MAP_FAILED ? -1 : 0);
	m = mremap(mine, pg, pg, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)text_lo);
	result("mremap_onto_text", m == MAP_FAILED ? -1 : 0);
	/* From far below, up to the image's first page. */
	result("munmap_from_below", munmap((void *)four_g, img_lo + pg - four_g));
	/* A length that wraps past 2^64, from the text and from below. */
	result("munmap_wrap", munmap((void *)text_lo, -text_lo + pg));
	result("munmap_wrap_below", munmap((void *)four_g, -four_g + pg));
	result("madvise_dontneed", madvise((void *)text_lo, tlen, MADV_DONTNEED));
	result("madvise_dontfork", madvise((void *)text_lo, tlen, MADV_DONTFORK));
	result("madvise_willneed", madvise((void *)text_lo, tlen, MADV_WILLNEED));
	int id = shmget(IPC_PRIVATE, pg, IPC_CREAT | 0600);
	if (id >= 0) {
		void *s = shmat(id, (void *)text_lo, SHM_REMAP);
		result("shmat_remap_text", s == (void *)-1 ? -1 : 0);
		shmctl(id, IPC_RMID, NULL);
	} else {
		result("shmat_remap_text", -1);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	struct iovec iv = {(void *)text_lo, (size_t)pg};
	result("process_madvise_text", syscall(SYS_process_madvise, pidfd, &iv, 1, MADV_DONTNEED, 0));
	/* Not refused: the same calls next to the image. */
	iv.iov_base = mine;
	result("process_madvise_mine", syscall(SYS_process_madvise, pidfd, &iv, 1, MADV_DONTNEED, 0));
	result("munmap_below_adjacent", munmap((void *)four_g, img_lo - four_g));
	void *near = (void *)((text_hi + (64UL << 20)) & ~(4095UL));
	m = mmap(near, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	long near_ok = m == near && mprotect(near, pg, PROT_READ) == 0 && munmap(near, pg) == 0;
	printf("near_fixed=%s\n", near_ok ? "ok" : strerrorname_np(errno));

	printf("images=%d\n", images);
	printf("sealed=%d\n", sealed);
	printf("text_intact=%d\n", memcmp(before, (void *)text_lo, sizeof before) == 0);
	printf("translator=%s\n", translator_ok() ? "ok" : "broken");
	return 0;
}
