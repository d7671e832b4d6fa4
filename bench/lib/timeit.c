/*
 * timeit - bench/interop's stopwatch, one static binary (musl-gcc -static)
 * for the host, the rig and the distros, which have only busybox.
 *
 *   timeit N CMD [ARG...]   runs CMD N times in a row (fork, execvp, waitpid,
 *                           stdio inherited) and prints each run's wall time
 *                           in nanoseconds (CLOCK_MONOTONIC), one per line,
 *                           as it finishes.
 *
 * A run that does not exit 0 ends it: one line on stderr naming the run and
 * how CMD ended, exit 1. Bad usage exits 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	char *end;
	long n;

	if (argc < 3) {
		fprintf(stderr, "usage: timeit N CMD [ARG...]\n");
		return 2;
	}
	errno = 0;
	n = strtol(argv[1], &end, 10);
	if (errno || *end || n < 1 || n > 1000000) {
		fprintf(stderr, "timeit: N must be a number from 1 to 1000000, not '%s'\n", argv[1]);
		return 2;
	}
	for (long i = 1; i <= n; i++) {
		long long t0 = now_ns();
		pid_t pid = fork();
		int status;

		if (pid < 0) {
			fprintf(stderr, "timeit: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid == 0) {
			execvp(argv[2], argv + 2);
			fprintf(stderr, "timeit: cannot run %s: %s\n", argv[2], strerror(errno));
			_exit(127);
		}
		while (waitpid(pid, &status, 0) < 0) {
			if (errno != EINTR) {
				fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
				return 1;
			}
		}
		long long dt = now_ns() - t0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("%lld\n", dt);
			fflush(stdout);
			continue;
		}
		if (WIFEXITED(status))
			fprintf(stderr, "timeit: run %ld of %s exited %d\n", i, argv[2], WEXITSTATUS(status));
		else
			fprintf(stderr, "timeit: run %ld of %s was killed by signal %d\n", i, argv[2],
				WTERMSIG(status));
		return 1;
	}
	return 0;
}
