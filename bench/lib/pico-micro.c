/* bench/lib/pico-micro.c - per-call cost of the system calls a translator
 * touches: stat on a 3-component path, open+close, and getpid (never
 * trapped). Prints "name us_per_call" lines; the best of 5 rounds. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "/usr/bin/ls";
	long n = argc > 2 ? atol(argv[2]) : 20000;
	double best_stat = 1e9, best_open = 1e9, best_pid = 1e9, best_fstat = 1e9;
	struct stat st;
	for (int round = 0; round < 5; round++) {
		double t = now();
		for (long i = 0; i < n; i++)
			if (stat(path, &st) != 0)
				return perror(path), 1;
		double d = (now() - t) / (double)n * 1e6;
		if (d < best_stat)
			best_stat = d;
		t = now();
		for (long i = 0; i < n; i++) {
			int fd = open(path, O_RDONLY);
			if (fd < 0)
				return perror(path), 1;
			close(fd);
		}
		d = (now() - t) / (double)n * 1e6;
		if (d < best_open)
			best_open = d;
		int fd = open(path, O_RDONLY);
		t = now();
		for (long i = 0; i < n; i++)
			fstat(fd, &st);
		d = (now() - t) / (double)n * 1e6;
		close(fd);
		if (d < best_fstat)
			best_fstat = d;
		t = now();
		for (long i = 0; i < n; i++)
			syscall(SYS_getpid);
		d = (now() - t) / (double)n * 1e6;
		if (d < best_pid)
			best_pid = d;
	}
	printf("stat %.3f\nopen_close %.3f\nfstat %.3f\ngetpid %.3f\n", best_stat, best_open, best_fstat, best_pid);
	return 0;
}
