/*
 * evloop.c - epoll event loop. See evloop.h for the contract.
 *
 * Registrations are heap entries that epoll hands back in data.ptr. Another
 * thread may delete one while the loop holds a batch of events that still
 * points at it, so ev_del only marks the entry dead; the loop frees dead
 * entries at the start of its next iteration, when no batch refers to them.
 */
#include "vmm/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define EV_BATCH 64

struct ev_entry {
	int fd;
	bool dead;
	ev_cb cb;
	void *arg;
	struct ev_entry *next;
};

struct evloop {
	int epfd;
	int stopfd;           /* eventfd; its epoll data.ptr is NULL */
	int stop;             /* set by ev_stop(), read atomically */
	pthread_mutex_t lock; /* protects the lists */
	struct ev_entry *live;
	struct ev_entry *dead;
};

int ev_create(struct evloop **out)
{
	struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL};
	struct evloop *ev;
	int r;

	ev = calloc(1, sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ev->epfd < 0) {
		r = -errno;
		goto err_free;
	}
	ev->stopfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (ev->stopfd < 0) {
		r = -errno;
		goto err_ep;
	}
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->stopfd, &e) < 0) {
		r = -errno;
		goto err_stop;
	}
	r = pthread_mutex_init(&ev->lock, NULL);
	if (r) {
		r = -r;
		goto err_stop;
	}
	*out = ev;
	return 0;

err_stop:
	close(ev->stopfd);
err_ep:
	close(ev->epfd);
err_free:
	free(ev);
	return r;
}

static void free_list(struct ev_entry *e)
{
	while (e) {
		struct ev_entry *next = e->next;

		free(e);
		e = next;
	}
}

void ev_destroy(struct evloop *ev)
{
	if (!ev)
		return;
	free_list(ev->live);
	free_list(ev->dead);
	pthread_mutex_destroy(&ev->lock);
	close(ev->stopfd);
	close(ev->epfd);
	free(ev);
}

/* Caller holds ev->lock. */
static struct ev_entry **find_live(struct evloop *ev, int fd)
{
	struct ev_entry **pp;

	for (pp = &ev->live; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			return pp;
	return NULL;
}

int ev_add(struct evloop *ev, int fd, uint32_t events, ev_cb cb, void *arg)
{
	struct epoll_event pe = {.events = events};
	struct ev_entry *e;
	int r = 0;

	if (fd < 0 || !cb)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->fd = fd;
	e->cb = cb;
	e->arg = arg;
	pe.data.ptr = e;

	pthread_mutex_lock(&ev->lock);
	if (find_live(ev, fd)) {
		r = -EEXIST;
		goto out;
	}
	if (epoll_ctl(ev->epfd, EPOLL_CTL_ADD, fd, &pe) < 0) {
		r = -errno;
		goto out;
	}
	e->next = ev->live;
	ev->live = e;
	e = NULL;
out:
	pthread_mutex_unlock(&ev->lock);
	free(e);
	return r;
}

int ev_mod(struct evloop *ev, int fd, uint32_t events)
{
	struct epoll_event pe = {.events = events};
	struct ev_entry **pp;
	int r = 0;

	pthread_mutex_lock(&ev->lock);
	pp = find_live(ev, fd);
	if (!pp) {
		r = -ENOENT;
	} else {
		pe.data.ptr = *pp;
		if (epoll_ctl(ev->epfd, EPOLL_CTL_MOD, fd, &pe) < 0)
			r = -errno;
	}
	pthread_mutex_unlock(&ev->lock);
	return r;
}

int ev_del(struct evloop *ev, int fd)
{
	struct ev_entry **pp, *e;

	pthread_mutex_lock(&ev->lock);
	pp = find_live(ev, fd);
	if (!pp) {
		pthread_mutex_unlock(&ev->lock);
		return -ENOENT;
	}
	e = *pp;
	*pp = e->next;
	/* Fails only if fd was already closed, which removed it from epoll. */
	(void)epoll_ctl(ev->epfd, EPOLL_CTL_DEL, fd, NULL);
	e->dead = true;
	e->next = ev->dead;
	ev->dead = e;
	pthread_mutex_unlock(&ev->lock);
	return 0;
}

void ev_stop(struct evloop *ev)
{
	uint64_t one = 1;
	ssize_t n;

	__atomic_store_n(&ev->stop, 1, __ATOMIC_SEQ_CST);
	/* Only fails if the counter would overflow, and then it is readable. */
	n = write(ev->stopfd, &one, sizeof(one));
	(void)n;
}

int ev_run_once(struct evloop *ev, int timeout_ms)
{
	struct epoll_event evs[EV_BATCH];
	struct ev_entry *dead;
	int n, ran = 0;

	/* Entries deleted before this point cannot be in the coming batch. */
	pthread_mutex_lock(&ev->lock);
	dead = ev->dead;
	ev->dead = NULL;
	pthread_mutex_unlock(&ev->lock);
	free_list(dead);

	n = epoll_wait(ev->epfd, evs, EV_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;

	for (int i = 0; i < n; i++) {
		struct ev_entry *e = evs[i].data.ptr;
		ev_cb cb;
		void *arg;
		int fd;

		if (!e) {
			uint64_t cnt;
			ssize_t r = read(ev->stopfd, &cnt, sizeof(cnt));

			(void)r;
			continue;
		}
		pthread_mutex_lock(&ev->lock);
		cb = e->dead ? NULL : e->cb;
		arg = e->arg;
		fd = e->fd;
		pthread_mutex_unlock(&ev->lock);
		if (!cb)
			continue;
		cb(ev, fd, evs[i].events, arg);
		ran++;
	}
	return ran;
}

int ev_run(struct evloop *ev)
{
	int r;

	while (!__atomic_load_n(&ev->stop, __ATOMIC_SEQ_CST)) {
		r = ev_run_once(ev, -1);
		if (r < 0)
			return r;
	}
	return 0;
}
