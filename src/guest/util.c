/*
 * util.c - what every part of lxs-init uses: its messages on the VM's
 * console and the monotonic clock in milliseconds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "guest.h"

void say_as(const char *who, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "lxs-init: %s", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
