/*
 * log.h - diagnostics for every lxs program, in the style of OpenBSD's log.c.
 * Messages go to stderr as "PROG: message". log_warn() and fatal() append
 * strerror(errno); log_warnx() and fatalx() don't. fatal()/fatalx() exit and may only be called
 * from a program's main path, never from library code, which returns -errno instead.
 */
#ifndef LXS_LOG_H
#define LXS_LOG_H

#include <stdnoreturn.h>

enum log_level { LOG_QUIET, LOG_NORMAL, LOG_VERBOSE, LOG_DEBUG };

void log_init(const char *progname, enum log_level level);
enum log_level log_get_level(void);

void log_warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2))); /* + ": strerror(errno)" */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));  /* shown with -v */
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* shown with -vv */
noreturn void fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
noreturn void fatalx(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
