/*
 * compat.h - shared by the compatibility suite: each t_*.c is one program
 * that prints "PASS" and exits 0, or prints "FAIL file:line: what (errno)"
 * and exits 1. They run natively and under lxs-pico (tests/pico/compat/run.sh)
 * as whoever runs them, in an empty writable current directory, so they
 * accept both an ordinary user and the faked root where those differ.
 */
#ifndef COMPAT_H
#define COMPAT_H
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/times.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                                                    \
	do {                                                                                        \
		if (!(c)) {                                                                         \
			printf("FAIL %s:%d: %s (errno %d %s)\n", __FILE__, __LINE__, #c, errno,     \
			       strerror(errno));                                                    \
			fflush(stdout);                                                             \
			_exit(1);                                                                   \
		}                                                                                   \
	} while (0)
#define PASS()                        \
	do {                          \
		printf("PASS\n");     \
		return 0;             \
	} while (0)

static inline void put_file(const char *p, const char *s)
{
	int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK(write(fd, s, strlen(s)) == (ssize_t)strlen(s));
	CHECK(close(fd) == 0);
}

static inline int file_is(const char *p, const char *s)
{
	char buf[4096];
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return 0;
	buf[n] = 0;
	return strcmp(buf, s) == 0;
}

/* Runs fn in a child and returns its wait status. */
static inline int in_child(void (*fn)(void))
{
	pid_t p = fork();
	if (p == 0) {
		fn();
		_exit(0);
	}
	int st;
	CHECK(waitpid(p, &st, 0) == p);
	return st;
}
#endif
