#include "compat.h"
/* SIGSYS, SIGSEGV and SIGBUS sent while held wait, through system calls
 * that need translating, until they are let through; and a read-only
 * alternate stack does not stop a SIGSEGV handler that does not use it. */
static volatile int got[65];
static void h(int s) { got[s]++; }

int main(void)
{
	int sigs[] = {SIGSYS, SIGSEGV, SIGBUS, SIGUSR1};
	struct sigaction sa = {0};
	sa.sa_handler = h;
	sigset_t set, old;
	sigemptyset(&set);
	for (int i = 0; i < 4; i++) {
		CHECK(sigaction(sigs[i], &sa, 0) == 0);
		sigaddset(&set, sigs[i]);
	}
	CHECK(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	CHECK(sigprocmask(SIG_BLOCK, 0, &old) == 0 && sigismember(&old, SIGSYS) && sigismember(&old, SIGSEGV));
	for (int i = 0; i < 4; i++)
		CHECK(kill(getpid(), sigs[i]) == 0);
	struct stat st;
	mkdir("d", 0755);
	CHECK(stat("d", &st) == 0 && open("d", O_RDONLY) >= 0);
	for (int i = 0; i < 4; i++)
		CHECK(got[sigs[i]] == 0);
	sigset_t pend;
	CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGSEGV) && sigismember(&pend, SIGBUS));
	CHECK(sigprocmask(SIG_UNBLOCK, &set, 0) == 0);
	for (int i = 0; i < 4; i++)
		CHECK(got[sigs[i]] == 1);

	/* SIGHUP on a read-only alternate stack: the kernel cannot push the
	 * frame and sends SIGSEGV, whose handler runs on the thread's stack. */
	static char alt[4 * 4096] __attribute__((aligned(4096)));
	stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt};
	CHECK(sigaltstack(&ss, 0) == 0);
	sa.sa_flags = SA_ONSTACK;
	CHECK(sigaction(SIGHUP, &sa, 0) == 0);
	CHECK(mprotect(alt, sizeof alt, PROT_READ) == 0);
	got[SIGSEGV] = 0;
	raise(SIGHUP);
	CHECK(got[SIGSEGV] == 1);
	CHECK(mprotect(alt, sizeof alt, PROT_READ | PROT_WRITE) == 0);
	PASS();
}
