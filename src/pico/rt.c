/*
 * rt.c - the little of a C runtime that the freestanding loader and
 * translator need, and small helpers that several files share (here, at
 * the bottom, so that those files need not call each other). The compiler
 * may emit calls to memcpy/memset/memmove/memcmp on its own, so they carry
 * their standard names.
 */
#include <linux/fcntl.h>

#include "pico.h"
#include "sys.h"

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	/* rep movsb is fast on current CPUs and keeps the compiler from
	 * turning this loop back into a call to memcpy. */
	__asm__ volatile("rep movsb" : "+D"(dp), "+S"(sp), "+c"(n) : : "memory");
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	unsigned char *dp = d;
	const unsigned char *sp = s;
	if (dp <= sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	unsigned char *dp = d;
	__asm__ volatile("rep stosb" : "+D"(dp), "+c"(n) : "a"(c) : "memory");
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;
	while (*p)
		p++;
	return (size_t)(p - s);
}

int pico_streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

char *pico_utoa(char *p, unsigned long v)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*p++ = tmp[--n];
	return p;
}

int pico_atou(const char **p, unsigned long *v)
{
	const char *s = *p;
	unsigned long r = 0;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9')
		r = r * 10 + (unsigned long)(*s++ - '0');
	*v = r;
	*p = s;
	return 0;
}

void pico_write_err(const char *a, const char *b, const char *c)
{
	const char *parts[4] = {a, b, c, "\n"};
	for (int i = 0; i < 4; i++)
		if (parts[i])
			sys3(__NR_write, 2, (long)parts[i], (long)strlen(parts[i]));
}

/*
 * Guest memory the handler touches may be unmapped or read-only: the guest
 * passed a bad pointer, and Linux answers EFAULT. These leaf routines are
 * the only code that reads or writes guest memory before the kernel has
 * vouched for it; a fault inside [pico_uaccess_lo, pico_uaccess_hi) is
 * turned by the SIGSEGV/SIGBUS handler (trap.c) into a jump to
 * pico_uaccess_fault, which returns -EFAULT to their caller. They use no
 * stack, so the jump needs nothing else restored, and no state, so they
 * are thread- and signal-safe and cost nothing when the pointer is good.
 *
 *   long pico_ustrlen(const char *s, unsigned long max)
 *	length of s, or -ENAMETOOLONG if no NUL in max bytes, or -EFAULT
 *   long pico_ucopy(void *dst, const void *src, unsigned long n)
 *	0 or -EFAULT (either side may be the guest's)
 *   long pico_uwritable(void *p, unsigned long n)
 *	0 if every page of [p, p+n) takes a write, or -EFAULT; the bytes
 *	keep their values (an atomic OR of 0)
 */
__asm__(".text\n"
	".globl pico_uaccess_lo, pico_uaccess_hi, pico_uaccess_fault\n"
	".globl pico_ustrlen, pico_ucopy, pico_uwritable\n"
	"pico_uaccess_lo:\n"
	"pico_ustrlen:\n"
	"\txor %eax, %eax\n"
	"1:\tcmp %rsi, %rax\n"
	"\tjae 2f\n"
	"\tcmpb $0, (%rdi,%rax)\n"
	"\tje 3f\n"
	"\tinc %rax\n"
	"\tjmp 1b\n"
	"2:\tmov $-36, %rax\n" /* ENAMETOOLONG */
	"3:\tret\n"
	"pico_ucopy:\n"
	"\tmov %rdx, %rcx\n"
	"\trep movsb\n"
	"\txor %eax, %eax\n"
	"\tret\n"
	"pico_uwritable:\n"
	"\ttest %rsi, %rsi\n"
	"\tjz 5f\n"
	"\tlea -1(%rdi,%rsi), %rdx\n"
	"4:\tlock orb $0, (%rdi)\n"
	"\tor $4095, %rdi\n"
	"\tinc %rdi\n"
	"\tcmp %rdx, %rdi\n"
	"\tjbe 4b\n"
	"5:\txor %eax, %eax\n"
	"\tret\n"
	"pico_uaccess_hi:\n"
	"pico_uaccess_fault:\n"
	"\tmov $-14, %rax\n" /* EFAULT */
	"\tret\n");

/*
 * long pico_on_stack(long (*fn)(void *), void *arg, void *top)
 *	fn(arg) with the stack pointer at top (16-byte aligned), then back
 *	on the caller's stack; fn's result.
 */
__asm__(".text\n"
	".globl pico_on_stack\n"
	"pico_on_stack:\n"
	"\tpush %rbp\n"
	"\tmov %rsp, %rbp\n"
	"\tmov %rdx, %rsp\n"
	"\tmov %rdi, %rax\n"
	"\tmov %rsi, %rdi\n"
	"\tcall *%rax\n"
	"\tmov %rbp, %rsp\n"
	"\tpop %rbp\n"
	"\tret\n");

/* ---- small helpers of several files (path.c, perm.c, privilege.c, procview.c) ---- */

void pico_parent_dir(const char *host, char *dir)
{
	size_t n = strlen(host);
	if (n >= PICO_HOST)
		n = PICO_HOST - 1;
	while (n > 1 && host[n - 1] == '/')
		n--;
	while (n > 0 && host[n - 1] != '/')
		n--;
	if (n == 0) {
		memcpy(dir, ".", 2);
		return;
	}
	memcpy(dir, host, n);
	dir[n > 1 ? n - 1 : n] = 0;
}

long pico_proc_env(const char *path, const char *key, char *out, size_t max)
{
	char buf[512];
	size_t kl = strlen(key), k = 0, o = 0;
	long fd = sys4(__NR_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A stream match: key at the start of an entry, then the value. */
	int at_start = 1, in_value = 0, done = 0;
	long n;
	while (!done && (n = sys3(__NR_read, fd, (long)buf, sizeof buf)) > 0) {
		for (long i = 0; i < n && !done; i++) {
			char c = buf[i];
			if (in_value) {
				if (c == 0 || o + 1 >= max)
					done = 1;
				else
					out[o++] = c;
			} else if (c == 0) {
				at_start = 1, k = 0;
			} else if (at_start && c == key[k]) {
				if (++k == kl)
					in_value = 1;
			} else {
				at_start = 0;
			}
		}
	}
	sys1(__NR_close, fd);
	if (!in_value)
		return -1;
	out[o] = 0;
	return (long)o;
}
