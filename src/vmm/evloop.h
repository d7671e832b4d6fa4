/*
 * evloop.h - lxs-vm's single event loop: epoll over file descriptors, one
 * callback per fd, run by one thread (the main thread).
 *
 * What this header promises:
 *  - Callbacks run on the thread calling ev_run()/ev_run_once(), one at a
 *    time, without any evloop lock held: a callback may call ev_add, ev_mod,
 *    ev_del (its own fd included) and ev_stop.
 *  - ev_add/ev_mod/ev_del may be called from any thread. After ev_del
 *    returns, the fd's callback is not called again, except that when
 *    ev_del runs on another thread while the loop is already dispatching
 *    that fd, the callback may still be running or about to run once: its
 *    argument must stay valid until the loop has finished that iteration
 *    (in practice: until the loop has stopped).
 *  - ev_stop() may be called from any thread and from a signal handler; the
 *    loop returns from ev_run() after the callbacks of the current
 *    iteration. A stop is sticky: later ev_run() calls return at once.
 *  - Level-triggered: a callback that leaves data unread is called again.
 */
#ifndef LXS_VMM_EVLOOP_H
#define LXS_VMM_EVLOOP_H

#include <stdint.h>

struct evloop;

/* events: EPOLLIN, EPOLLOUT, EPOLLHUP, EPOLLERR ... as reported by epoll. */
typedef void (*ev_cb)(struct evloop *ev, int fd, uint32_t events, void *arg);

/* Returns 0 and *out, or -errno. */
int ev_create(struct evloop **out);
/* Close the loop; registered fds are not closed. No thread may use ev. */
void ev_destroy(struct evloop *ev);

/* Watch fd for `events` (EPOLLIN/EPOLLOUT...). -EEXIST if already watched. */
int ev_add(struct evloop *ev, int fd, uint32_t events, ev_cb cb, void *arg);
/* Change the events watched for fd. -ENOENT if not watched. */
int ev_mod(struct evloop *ev, int fd, uint32_t events);
/* Stop watching fd. -ENOENT if not watched. */
int ev_del(struct evloop *ev, int fd);

/* Dispatch until ev_stop(). Returns 0, or -errno if epoll fails. */
int ev_run(struct evloop *ev);
/*
 * Wait up to timeout_ms (-1: forever) and dispatch one batch of events.
 * Returns the number of callbacks run, or -errno. For tests and for callers
 * with their own loop.
 */
int ev_run_once(struct evloop *ev, int timeout_ms);
/* Make ev_run() return. Async-signal-safe. */
void ev_stop(struct evloop *ev);

#endif
