#include "compat.h"
/* Rust's runtime gives each thread an 8 KiB alternate signal stack with a
 * guard page below it; path calls made then (and from a handler running on
 * it) must still work. */
static volatile int in_handler_ok;
static void h(int s)
{
	(void)s;
	struct stat st;
	int fd = open("d/f", O_RDONLY);
	in_handler_ok = fd >= 0 && stat("d/../d/f", &st) == 0 && st.st_size == 2;
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	size_t page = 4096, size = 8192;
	char *m = mmap(0, page + size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	CHECK(m != MAP_FAILED);
	CHECK(mprotect(m, page, PROT_NONE) == 0);
	stack_t ss = {.ss_sp = m + page, .ss_size = size};
	CHECK(sigaltstack(&ss, 0) == 0);
	struct sigaction sa = {0};
	sa.sa_handler = h;
	sa.sa_flags = SA_ONSTACK;
	CHECK(sigaction(SIGUSR1, &sa, 0) == 0);
	CHECK(mkdir("d", 0755) == 0);
	put_file("d/f", "in");
	struct stat st;
	CHECK(stat("./d/../d/f", &st) == 0 && st.st_size == 2);
	CHECK(file_is("d/f", "in"));
	CHECK(rename("d/f", "d/g") == 0 && rename("d/g", "d/f") == 0);
	raise(SIGUSR1);
	CHECK(in_handler_ok);
	/* The alternate stack is still the guest's, and still in place. */
	stack_t o;
	CHECK(sigaltstack(0, &o) == 0 && o.ss_sp == m + page && o.ss_size == size && !(o.ss_flags & SS_DISABLE));
	PASS();
}
