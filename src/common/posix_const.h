/*
 * posix_const.h - the places where a POSIX prototype lacks a const that
 * lxs's data has: the exec family's and posix_spawn's argv and envp, and
 * struct iovec's base for the sending side. Each helper here drops the
 * const in the one place it is known to be safe, so that the rest of the
 * code keeps its data const and needs no casts. Shared by the host programs
 * and lxs-init (static musl).
 */
#ifndef LXS_POSIX_CONST_H
#define LXS_POSIX_CONST_H

#include <stdint.h>

/*
 * argv or envp for execv/execvp/execve/posix_spawn(p), which take
 * char *const[]: execv(path, exec_vec(argv)). lxs keeps such vectors as
 * const char *const[] (an array of string literals is one). POSIX declares
 * them without the inner const only so that old code passing char ** still
 * compiles (C converts char ** to const char *const * only with a cast); the
 * functions never write to the strings. POSIX's rationale for exec: "The
 * statement about argv[] and envp[] being constants is included to make
 * explicit to future writers of language bindings that these objects are
 * completely constant."
 */
static inline char *const *exec_vec(const char *const *v)
{
	/* Through an integer: a pointer cast is what -Wcast-qual reports
	 * everywhere else, and this drop is known to be safe (see above). */
	return (char *const *)(uintptr_t)v;
}

/* One string for a char *[] argv or envp built by hand, which exec only reads. */
static inline char *exec_str(const char *s)
{
	return (char *)(uintptr_t)s; /* as in exec_vec */
}

/* The same for environ, char ** for the same historical reason: environ = environ_vec(envp). */
static inline char **environ_vec(const char *const *v)
{
	return (char **)(uintptr_t)v; /* as in exec_vec */
}

/*
 * A struct iovec's iov_base for data that is only sent (sendmsg, writev,
 * pwritev): one struct serves both directions, so its base is void *, but
 * these calls only read from it.
 */
static inline void *iov_const(const void *p)
{
	return (void *)(uintptr_t)p; /* as in exec_vec */
}

#endif
