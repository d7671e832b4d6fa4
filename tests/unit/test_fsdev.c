/*
 * test_fsdev.c - the virtio-fs device (src/vmm/fs.c) driven through the mmio
 * transport by a fake guest, over a scratch directory: its identity and
 * config space, FUSE requests through the request queue (INIT, LOOKUP, a
 * READ whose data lands in scattered guest buffers, a WRITE from them),
 * FORGET through the high-priority queue (used, with no reply), chains that
 * cannot be a FUSE request (needs-reset), reset starting a new session, and
 * the DrvFs options set for the next INIT, and with VIRTIO_FS_F_NOTIFICATION
 * the notification queue: a host change told through it, the guest's own
 * change not, long timeouts only then. The FUSE protocol itself is
 * test_fusesrv.c's; this is the transport.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/fuse.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "fake_guest.h"
#include "fusesrv/fusesrv.h"
#include "hostfs/hostfs.h"
#include "unit.h"
#include "vmm/devices.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

#define QSIZE 8
#define REQ   FG_BUF
#define RESP  (FG_BUF + 0x10000)
#define DATA  (FG_BUF + 0x20000)
#define NOTE  (FG_BUF + 0x40000) /* notification buffers, 0x800 apart by descriptor */

enum { HIPRIO, REQUESTS, NOTIFICATIONS = 1, REQUESTS_WITH_NOTIFY = 2 };

struct t {
	struct fake_guest fg;
	struct fake_ring r[3];
	unsigned rq; /* the request queue: 1, or 2 with the notification queue */
	struct virtio_dev *dev;
	char dir[64];
	uint64_t unique;
};

static void no_irq(void *opaque)
{
	(void)opaque;
}

static struct t *t_new_in(bool ro, const char *where)
{
	struct t *t = calloc(1, sizeof(*t));
	struct fsrv_config cfg = {.read_only = ro, .watch = true};

	if (!t || fg_init(&t->fg) < 0)
		abort();
	hfs_opts_default(&cfg.opts);
	t->rq = REQUESTS;
	snprintf(t->dir, sizeof(t->dir), "%s/test_fsdev.XXXXXX", where);
	if (!mkdtemp(t->dir) ||
	    virtio_fs_create(&t->dev, &t->fg.gm, "hostfs0", t->dir, &cfg, NULL) < 0)
		abort();
	virtio_dev_set_irq(t->dev, no_irq, t);
	return t;
}

static struct t *t_new(bool ro)
{
	return t_new_in(ro, "/tmp");
}

static void t_free(struct t *t)
{
	char cmd[128];

	virtio_fs_destroy(t->dev);
	fg_fini(&t->fg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", t->dir);
	free(t);
}

static void drv_start(struct t *t)
{
	t->r[HIPRIO] = fr_make(0, QSIZE);
	t->r[REQUESTS] = fr_make(1, QSIZE);
	fg_driver_start(t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1), t->r, 2);
}

static uint8_t *gp(struct t *t, uint64_t gpa)
{
	return fg_ptr(&t->fg, gpa);
}

static uint16_t used_idx(struct t *t, unsigned q)
{
	return __atomic_load_n(&fr_used(&t->fg, &t->r[q])->idx, __ATOMIC_ACQUIRE);
}

/* Wait until queue q's used ring reaches idx; false after 5 s. */
static bool wait_used(struct t *t, unsigned q, uint16_t idx)
{
	for (int i = 0; i < 5000; i++) {
		if (used_idx(t, q) == idx)
			return true;
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	}
	return false;
}

/*
 * Post segs on queue q (descriptors from 0: one request at a time) and
 * wait for it to be used. Returns the used length, or -1 when it never was.
 */
static long post(struct t *t, unsigned q, const struct fg_seg *s, unsigned n)
{
	uint16_t want = (uint16_t)(used_idx(t, q) + 1);

	fr_post_chain(&t->fg, &t->r[q], 0, s, n);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, q);
	if (!wait_used(t, q, want))
		return -1;
	return fr_used(&t->fg, &t->r[q])->ring[(uint16_t)(want - 1) % QSIZE].len;
}

/* A request at REQ: header (len filled in) and args; reply room wlen at RESP. */
static long request(struct t *t, uint32_t opcode, uint64_t nodeid, const void *args, size_t alen,
		    uint32_t wlen)
{
	struct fuse_in_header h = {.len = (uint32_t)(sizeof(h) + alen),
				   .opcode = opcode,
				   .unique = ++t->unique,
				   .nodeid = nodeid};
	struct fg_seg s[2] = {{REQ, h.len, false}, {RESP, wlen, true}};

	memcpy(gp(t, REQ), &h, sizeof(h));
	memcpy(gp(t, REQ + sizeof(h)), args, alen);
	memset(gp(t, RESP), 0xa5, wlen);
	return post(t, t->rq, s, wlen ? 2 : 1);
}

static struct fuse_out_header *out_hdr(struct t *t)
{
	return (struct fuse_out_header *)gp(t, RESP);
}

static long init(struct t *t)
{
	struct fuse_init_in in = {.major = FUSE_KERNEL_VERSION,
				  .minor = FUSE_KERNEL_MINOR_VERSION,
				  .max_readahead = 1 << 20};

	return request(t, FUSE_INIT, 0, &in, sizeof(in), 4096);
}

/* LOOKUP name in folder dir: its entry, nodeid 0 on failure. */
static struct fuse_entry_out lookup_in(struct t *t, uint64_t dir, const char *name)
{
	long n = request(t, FUSE_LOOKUP, dir, name, strlen(name) + 1, 4096);
	struct fuse_entry_out e = {0};

	if (n == (long)(sizeof(struct fuse_out_header) + sizeof(e)) && !out_hdr(t)->error)
		memcpy(&e, gp(t, RESP + sizeof(struct fuse_out_header)), sizeof(e));
	return e;
}

/* LOOKUP name in the root: the node id, 0 on failure. */
static uint64_t lookup(struct t *t, const char *name)
{
	long n = request(t, FUSE_LOOKUP, FUSE_ROOT_ID, name, strlen(name) + 1, 4096);
	struct fuse_entry_out e;

	if (n != (long)(sizeof(struct fuse_out_header) + sizeof(e)) || out_hdr(t)->error)
		return 0;
	memcpy(&e, gp(t, RESP + sizeof(struct fuse_out_header)), sizeof(e));
	return e.nodeid;
}

static void put_file(struct t *t, const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		abort();
}

static void t_identity(struct unit *u)
{
	struct t *t = t_new(false);
	uint8_t cfg[VIRTIO_FS_TAG_MAX + 8];
	uint32_t nq, nbuf;

	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_FS);
	for (unsigned i = 0; i < sizeof(cfg); i++)
		virtio_mmio_read(t->dev, VIRTIO_MMIO_CONFIG + i, &cfg[i], 1);
	/* The tag NUL-padded to 36 bytes, then one request queue. */
	CHECK(u, !memcmp(cfg, "hostfs0", 8) && cfg[VIRTIO_FS_TAG_MAX - 1] == 0);
	memcpy(&nq, cfg + VIRTIO_FS_TAG_MAX, 4);
	CHECK(u, nq == 1);
	/* VIRTIO_FS_F_NOTIFICATION offered, and buffers for the longest name asked. */
	CHECK(u, fg_mmio_rd(t->dev, VIRTIO_MMIO_DEVICE_FEATURES) & 1);
	memcpy(&nbuf, cfg + VIRTIO_FS_TAG_MAX + 4, 4);
	CHECK(u, nbuf >= 16 + 16 + 1024 + 1);
	t_free(t);
}

/* INIT and a LOOKUP through the request queue; the reply's length is the used length. */
static void t_roundtrip(struct unit *u)
{
	struct t *t = t_new(false);
	struct fuse_entry_out e;
	long n;

	put_file(t, "hello", "hello, world\n");
	drv_start(t);
	n = init(t);
	CHECK(u, n > (long)sizeof(struct fuse_out_header) && out_hdr(t)->error == 0 &&
		     out_hdr(t)->unique == t->unique && out_hdr(t)->len == (uint32_t)n);
	CHECK(u, lookup(t, "hello") != 0);
	/* An absent name is an entry of node 0, kept as long as any (1 s here). */
	e = lookup_in(t, FUSE_ROOT_ID, "nothing");
	CHECK(u, e.nodeid == 0 && out_hdr(t)->error == 0 && e.entry_valid == 1);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* READ lands in three scattered guest buffers; WRITE comes from two. */
static void t_data_scattered(struct unit *u)
{
	struct t *t = t_new(false);
	struct fuse_open_in oi = {.flags = O_RDWR};
	struct fuse_open_out oo;
	struct fuse_read_in ri = {0};
	struct fuse_write_in wi = {0};
	struct fuse_in_header h;
	uint64_t node;
	char path[128], back[32] = "";
	long n;
	FILE *f;

	put_file(t, "data", "abcdefghijklmnopqrstuvwxyz");
	drv_start(t);
	CHECK(u, init(t) > 0);
	node = lookup(t, "data");
	CHECK(u, node != 0);
	n = request(t, FUSE_OPEN, node, &oi, sizeof(oi), 4096);
	CHECK(u, n == (long)(sizeof(struct fuse_out_header) + sizeof(oo)) && !out_hdr(t)->error);
	memcpy(&oo, gp(t, RESP + sizeof(struct fuse_out_header)), sizeof(oo));

	/* READ 26 bytes: the reply header, then 10 + 16 bytes in two far buffers. */
	ri.fh = oo.fh;
	ri.size = 26;
	h = (struct fuse_in_header){.len = sizeof(h) + sizeof(ri),
				    .opcode = FUSE_READ,
				    .unique = ++t->unique,
				    .nodeid = node};
	memcpy(gp(t, REQ), &h, sizeof(h));
	memcpy(gp(t, REQ + sizeof(h)), &ri, sizeof(ri));
	struct fg_seg rs[4] = {{REQ, h.len, false},
			       {RESP, sizeof(struct fuse_out_header), true},
			       {DATA, 10, true},
			       {DATA + 0x1000, 16, true}};
	n = post(t, t->rq, rs, 4);
	CHECK(u, n == (long)sizeof(struct fuse_out_header) + 26 && !out_hdr(t)->error);
	CHECK(u, !memcmp(gp(t, DATA), "abcdefghij", 10) &&
		     !memcmp(gp(t, DATA + 0x1000), "klmnopqrstuvwxyz", 16));

	/* WRITE "0123456789" at 3 from two buffers after the header and args. */
	wi.fh = oo.fh;
	wi.offset = 3;
	wi.size = 10;
	h = (struct fuse_in_header){.len = sizeof(h) + sizeof(wi) + 10,
				    .opcode = FUSE_WRITE,
				    .unique = ++t->unique,
				    .nodeid = node};
	memcpy(gp(t, REQ), &h, sizeof(h));
	memcpy(gp(t, REQ + sizeof(h)), &wi, sizeof(wi));
	memcpy(gp(t, DATA), "0123", 4);
	memcpy(gp(t, DATA + 0x1000), "456789", 6);
	struct fg_seg ws[4] = {{REQ, sizeof(h) + sizeof(wi), false},
			       {DATA, 4, false},
			       {DATA + 0x1000, 6, false},
			       {RESP, 4096, true}};
	n = post(t, t->rq, ws, 4);
	CHECK(u, n == (long)(sizeof(struct fuse_out_header) + sizeof(struct fuse_write_out)) &&
		     !out_hdr(t)->error);
	snprintf(path, sizeof(path), "%s/data", t->dir);
	f = fopen(path, "r");
	CHECK(u, f && fgets(back, sizeof(back), f));
	if (f)
		fclose(f);
	CHECK(u, !strcmp(back, "abc0123456789nopqrstuvwxyz"));
	t_free(t);
}

/* FORGET on the high-priority queue: used with length 0, the node then unknown. */
static void t_forget_hiprio(struct unit *u)
{
	struct t *t = t_new(false);
	struct fuse_forget_in fi = {.nlookup = 1};
	struct fuse_in_header h;
	struct fuse_getattr_in gi = {0};
	uint64_t node;

	put_file(t, "f", "x");
	drv_start(t);
	CHECK(u, init(t) > 0);
	node = lookup(t, "f");
	CHECK(u, node != 0);
	h = (struct fuse_in_header){.len = sizeof(h) + sizeof(fi),
				    .opcode = FUSE_FORGET,
				    .unique = ++t->unique,
				    .nodeid = node};
	memcpy(gp(t, REQ), &h, sizeof(h));
	memcpy(gp(t, REQ + sizeof(h)), &fi, sizeof(fi));
	struct fg_seg s[1] = {{REQ, h.len, false}};
	CHECK(u, post(t, HIPRIO, s, 1) == 0);
	CHECK(u,
	      request(t, FUSE_GETATTR, node, &gi, sizeof(gi), 4096) > 0 && out_hdr(t)->error != 0);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/*
 * With EVENT_IDX, forgets are batched while requests flow (the driver is
 * asked to notify only at a batch's last one: queue.c's test). None waits
 * for good: forgets posted with no notify are all taken, by the next
 * request or once the device is idle, and then each forget notifies again.
 */
static void t_forget_batched(struct unit *u)
{
	struct t *t = t_new(false);
	struct fuse_forget_in fi = {.nlookup = 1};
	struct fuse_getattr_in gi = {0};
	struct fuse_in_header h;
	uint64_t node[3];
	char name[8];

	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		put_file(t, name, "x");
	}
	t->r[HIPRIO] = fr_make(0, QSIZE);
	t->r[REQUESTS] = fr_make(1, QSIZE);
	fg_driver_start(
	    t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(VIRTIO_F_RING_EVENT_IDX), t->r, 2);
	CHECK(u, init(t) > 0);
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		node[i] = lookup(t, name);
		CHECK(u, node[i] != 0);
	}
	/* three forgets, never notified */
	for (int i = 0; i < 3; i++) {
		uint64_t at = REQ + 0x100 * (uint64_t)(i + 1);

		h = (struct fuse_in_header){.len = sizeof(h) + sizeof(fi),
					    .opcode = FUSE_FORGET,
					    .unique = ++t->unique,
					    .nodeid = node[i]};
		memcpy(gp(t, at), &h, sizeof(h));
		memcpy(gp(t, at + sizeof(h)), &fi, sizeof(fi));
		fr_post_chain(&t->fg, &t->r[HIPRIO], (uint16_t)(2 * i),
			      &(struct fg_seg){at, h.len, false}, 1);
	}
	CHECK(u, wait_used(t, HIPRIO, 3));
	for (int i = 0; i < 3; i++)
		CHECK(u, request(t, FUSE_GETATTR, node[i], &gi, sizeof(gi), 4096) > 0 &&
			     out_hdr(t)->error == -ENOENT);
	/* idle again: the next forget notifies */
	for (int i = 0; i < 5000 && *fr_avail_event(&t->fg, &t->r[HIPRIO]) != 3; i++)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	CHECK(u, *fr_avail_event(&t->fg, &t->r[HIPRIO]) == 3);
	CHECK(u, !fg_needs_reset(t->dev));
	t_free(t);
}

/* A chain shorter than a FUSE header, or with no room for a reply header: needs-reset. */
static void t_bad_chains(struct unit *u)
{
	struct t *t = t_new(false);
	struct fg_seg s[2] = {{REQ, 8, false}, {RESP, 4096, true}};

	drv_start(t);
	memset(gp(t, REQ), 0, 64);
	post(t, t->rq, s, 2);
	CHECK(u, fg_needs_reset(t->dev));
	t_free(t);

	t = t_new(false);
	drv_start(t);
	CHECK(u, init(t) > 0);
	struct fuse_getattr_in gi = {0};
	request(t, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), 4);
	CHECK(u, fg_needs_reset(t->dev));
	t_free(t);
}

/* After a reset the session starts over: nodes are gone, INIT is needed again. */
static void t_reset(struct unit *u)
{
	struct t *t = t_new(false);
	struct fuse_getattr_in gi = {0};
	uint64_t node;

	put_file(t, "f", "x");
	drv_start(t);
	CHECK(u, init(t) > 0);
	node = lookup(t, "f");
	CHECK(u, node != 0);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_STATUS, 0);
	fr_clear(&t->fg, &t->r[0]);
	fr_clear(&t->fg, &t->r[1]);
	t->r[0].avail_idx = t->r[1].avail_idx = 0;
	drv_start(t);
	/* Before INIT: an error reply, not a served request. */
	CHECK(u, request(t, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), 4096) > 0 &&
		     out_hdr(t)->error != 0);
	CHECK(u, init(t) > 0 && !out_hdr(t)->error);
	CHECK(u,
	      request(t, FUSE_GETATTR, node, &gi, sizeof(gi), 4096) > 0 && out_hdr(t)->error != 0);
	CHECK(u, lookup(t, "f") != 0);
	t_free(t);
}

/* A read-only share refuses a CREATE; nothing appears on the host. */
static void t_read_only(struct unit *u)
{
	struct t *t = t_new(true);
	uint8_t args[sizeof(struct fuse_create_in) + 8];
	struct fuse_create_in ci = {.flags = O_WRONLY | O_CREAT, .mode = S_IFREG | 0644};
	char path[128];

	drv_start(t);
	CHECK(u, init(t) > 0);
	memcpy(args, &ci, sizeof(ci));
	memcpy(args + sizeof(ci), "new", 4);
	CHECK(u, request(t, FUSE_CREATE, FUSE_ROOT_ID, args, sizeof(ci) + 4, 4096) > 0 &&
		     out_hdr(t)->error == -EROFS);
	snprintf(path, sizeof(path), "%s/new", t->dir);
	CHECK(u, access(path, F_OK) < 0);
	t_free(t);
}

/* Options set on the device take effect at the next INIT: uid=1234 shows. */
static void t_options_next_init(struct unit *u)
{
	struct t *t = t_new(false);
	struct fuse_getattr_in gi = {0};
	struct fuse_attr_out ao;
	struct hfs_opts o;

	hfs_opts_default(&o);
	CHECK(u, hfs_opts_parse(&o, "uid=1234,gid=4321") == 0);
	virtio_fs_set_opts(t->dev, &o);
	drv_start(t);
	CHECK(u, init(t) > 0);
	CHECK(u, request(t, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), 4096) ==
			 (long)(sizeof(struct fuse_out_header) + sizeof(ao)) &&
		     !out_hdr(t)->error);
	memcpy(&ao, gp(t, RESP + sizeof(struct fuse_out_header)), sizeof(ao));
	CHECK(u, ao.attr.uid == 1234 && ao.attr.gid == 4321);
	t_free(t);
}

/* Offer notification buffer (descriptor) i of the notification queue. */
static void post_note(struct t *t, uint16_t i)
{
	struct fg_seg s = {NOTE + i * 0x800u, 0x800, true};

	fr_post_chain(&t->fg, &t->r[NOTIFICATIONS], i, &s, 1);
	fg_mmio_wr(t->dev, VIRTIO_MMIO_QUEUE_NOTIFY, NOTIFICATIONS);
}

/*
 * Wait for the next notification (the used ring's entry k): its header, and
 * for an INVAL_ENTRY its parent and name. False after 5 s.
 */
static bool next_note(struct t *t, uint16_t k, struct fuse_out_header *h, uint64_t *parent,
		      char *name, size_t size)
{
	struct fuse_notify_inval_entry_out e;
	struct vring_used_elem *el;
	uint8_t *b;

	if (!wait_used(t, NOTIFICATIONS, (uint16_t)(k + 1)) &&
	    (uint16_t)(used_idx(t, NOTIFICATIONS) - k) == 0)
		return false;
	el = &fr_used(&t->fg, &t->r[NOTIFICATIONS])->ring[k % QSIZE];
	b = gp(t, NOTE + el->id * 0x800u);
	memcpy(h, b, sizeof(*h));
	name[0] = 0;
	*parent = 0;
	if (h->error == FUSE_NOTIFY_INVAL_ENTRY && el->len > sizeof(*h) + sizeof(e)) {
		memcpy(&e, b + sizeof(*h), sizeof(e));
		*parent = e.parent;
		snprintf(name, size, "%.*s", (int)e.namelen,
			 (const char *)b + sizeof(*h) + sizeof(e));
	}
	return h->len == el->len && h->unique == 0;
}

/*
 * The notification queue: a folder the guest looked up is watched (its
 * entries get the long timeout), a name the host makes in it is told
 * (INVAL_ENTRY of the folder and name, INVAL_INODE of the folder), a name
 * the guest made itself is not; without the feature, short timeouts only.
 */
static void t_notifications(struct unit *u)
{
	struct statfs sf;
	struct fuse_out_header h;
	struct fuse_entry_out d, e;
	char path[160], name[64];
	bool saw_marker = false, saw_mine = false, saw_dir = false;
	uint64_t parent;
	struct t *t;
	struct {
		struct fuse_create_in in;
		char name[8];
	} c = {.in = {.flags = O_RDWR | O_CREAT, .mode = 0644}, .name = "mine"};

	/* Watches only where a change is sure to be reported: a tmpfs (Debian's /dev/shm). */
	CHECK(u, statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
	if (u->case_failed)
		return;
	t = t_new_in(false, "/dev/shm");
	snprintf(path, sizeof(path), "%s/d", t->dir);
	CHECK(u, mkdir(path, 0755) == 0);
	for (unsigned q = 0; q < 3; q++)
		t->r[q] = fr_make(q, QSIZE);
	t->rq = REQUESTS_WITH_NOTIFY;
	fg_driver_start(t->dev, VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(0), t->r, 3);
	CHECK(u, init(t) > 0 && out_hdr(t)->error == 0);
	d = lookup_in(t, FUSE_ROOT_ID, "d");
	CHECK(u, d.nodeid != 0 && d.entry_valid == 300 && d.attr_valid == 300);
	for (uint16_t i = 0; i < QSIZE; i++)
		post_note(t, i);

	/* The guest makes "mine" through the server, then the host "marker". */
	CHECK(u, request(t, FUSE_CREATE, d.nodeid, &c, sizeof(c.in) + 5, 4096) > 0 &&
		     out_hdr(t)->error == 0);
	put_file(t, "d/marker", "host\n");
	for (uint16_t k = 0; k < QSIZE && !saw_marker; k++) {
		if (!next_note(t, k, &h, &parent, name, sizeof(name)))
			break;
		if (h.error == FUSE_NOTIFY_INVAL_ENTRY && parent == d.nodeid) {
			saw_marker |= !strcmp(name, "marker");
			saw_mine |= !strcmp(name, "mine");
		}
		saw_dir |= h.error == FUSE_NOTIFY_INVAL_INODE;
	}
	CHECK(u, saw_marker);
	CHECK(u, !saw_mine);
	CHECK(u, saw_dir);
	/* A file in a watched folder keeps its attributes long too; an absence as long. */
	e = lookup_in(t, d.nodeid, "marker");
	CHECK(u, e.nodeid != 0 && e.entry_valid == 300 && e.attr_valid == 300);
	e = lookup_in(t, d.nodeid, "absent");
	CHECK(u, e.nodeid == 0 && out_hdr(t)->error == 0 && e.entry_valid == 300);
	t_free(t);

	/* A driver without the feature: one request queue at 1, a second's timeouts. */
	t = t_new_in(false, "/dev/shm");
	snprintf(path, sizeof(path), "%s/d", t->dir);
	CHECK(u, mkdir(path, 0755) == 0);
	drv_start(t);
	CHECK(u, init(t) > 0 && out_hdr(t)->error == 0);
	d = lookup_in(t, FUSE_ROOT_ID, "d");
	CHECK(u, d.nodeid != 0 && d.entry_valid == 1 && d.attr_valid == 1);
	t_free(t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_identity);
	RUN(&u, t_roundtrip);
	RUN(&u, t_data_scattered);
	RUN(&u, t_forget_hiprio);
	RUN(&u, t_forget_batched);
	RUN(&u, t_bad_chains);
	RUN(&u, t_reset);
	RUN(&u, t_read_only);
	RUN(&u, t_options_next_init);
	RUN(&u, t_notifications);
	return unit_done(&u);
}
