/*
 * balloon.c - traditional virtio memory balloon (device ID 5, VIRTIO 1.2
 * 5.5) with statistics and free page reporting. See devices.h for what the
 * VMM gets.
 *
 * How memory goes back to the host: guest RAM is anonymous private memory,
 * so madvise(MADV_DONTNEED) frees a range at once (RSS drops) and the next
 * guest access faults in a zero page. Reported free pages and inflated
 * pages are handled that way; deflated pages need nothing, they refault on
 * demand. Without VIRTIO_BALLOON_F_PAGE_POISON, which we do not offer, the
 * guest treats reported and deflated pages as uninitialised, so zero pages
 * are what it may see. (Linux only refuses reporting without PAGE_POISON
 * when it poisons or zeroes free pages itself, which our kernel does not.)
 *
 * Queue numbering: 5.5.2 lists inflateq, deflateq, statsq, free_page_vq,
 * reporting_vq, each of the last three present only with its feature.
 * Linux numbers the queues that are present without gaps (vm_find_vqs
 * skips absent ones), so the reporting queue is 2 without STATS_VQ and 3
 * with it. The transport knows nothing of this: we expose four queue slots
 * and map a slot to its role from the negotiated features.
 *
 * Every callback runs with dev.lock held (virtio.h), and so do the host
 * calls below, which take it themselves. madvise() runs under the lock on
 * the notifying vCPU: it is quick for the sizes Linux sends (at most 256
 * pages per inflate, 32 ranges per report).
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "vmm/devices.h"
#include "vmm/guest_mem.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"
#include "common/le.h"

#define BALLOON_QUEUE_MAX  128 /* Linux wants >= 32 on the reporting queue */
#define BALLOON_NUM_QUEUES 4   /* inflate, deflate, stats, reporting */
#define PFN_SHIFT          12
#define PAGE               VIRTIO_BALLOON_PAGE_SIZE
#define STAT_BYTES         10 /* le16 tag + le64 val, packed */
/* Linux sends 16 entries; a longer buffer is only CPU burnt under the lock. */
#define STATS_MAX_ENTRIES 256

enum bq_role { BQ_INFLATE, BQ_DEFLATE, BQ_STATS, BQ_REPORTING, BQ_NONE };

struct balloon {
	struct virtio_dev dev;

	uint32_t target; /* num_pages, the host's wish; the driver cannot write it */
	uint32_t actual; /* the driver's last word on its balloon size */

	bool stats_held;     /* the driver's stats buffer is ours until we ask */
	uint16_t stats_head; /* its chain head, to return it */
	struct balloon_stats stats;

	uint64_t inflated_pages, deflated_pages, bad_pfns;
	uint64_t reported_bytes, reports;
	bool madvise_warned;

	struct vq_chain chain; /* the chain being handled; 16 KiB, hence here */
};

/* Config bytes the device owns are rewritten from our copy, always. */
static void sync_config(struct balloon *b)
{
	uint8_t *cfg = b->dev.config;

	le_put32(cfg + VIRTIO_BALLOON_CFG_NUM_PAGES, b->target);
	le_put32(cfg + VIRTIO_BALLOON_CFG_ACTUAL, b->actual);
	/* Neither FREE_PAGE_HINT nor PAGE_POISON is offered: both stay 0. */
	le_put32(cfg + VIRTIO_BALLOON_CFG_FREE_PAGE_HINT_CMD_ID, 0);
	le_put32(cfg + VIRTIO_BALLOON_CFG_POISON_VAL, 0);
}

/* --- queue roles ----------------------------------------------------------- */

static enum bq_role queue_role(const struct virtio_dev *dev, unsigned q)
{
	unsigned next = 2;

	if (q == 0)
		return BQ_INFLATE;
	if (q == 1)
		return BQ_DEFLATE;
	if (virtio_dev_has_feature(dev, VIRTIO_BALLOON_F_STATS_VQ) && q == next++)
		return BQ_STATS;
	/* FREE_PAGE_HINT would come here; it is never offered. */
	if (virtio_dev_has_feature(dev, VIRTIO_BALLOON_F_REPORTING) && q == next)
		return BQ_REPORTING;
	return BQ_NONE;
}

/* The slot of `role` under the negotiated features, or -1 if absent. */
static int role_queue(const struct virtio_dev *dev, enum bq_role role)
{
	for (unsigned q = 0; q < BALLOON_NUM_QUEUES; q++)
		if (queue_role(dev, q) == role)
			return (int)q;
	return -1;
}

/* --- giving memory back ------------------------------------------------------ */

/*
 * Whether [p, p + len) lies inside one host mapping of guest RAM. queue.c
 * already guarantees it for chain buffers; checking again costs nothing
 * and keeps a future bug there from turning into madvise() on our heap.
 */
static bool host_in_ram(const struct guest_mem *gm, const uint8_t *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p;

	if (gm->low && a >= (uintptr_t)gm->low) {
		uint64_t off = a - (uintptr_t)gm->low;

		if (off <= gm->low_size && len <= gm->low_size - off)
			return true;
	}
	if (gm->high && a >= (uintptr_t)gm->high) {
		uint64_t off = a - (uintptr_t)gm->high;

		if (off <= gm->high_size && len <= gm->high_size - off)
			return true;
	}
	return false;
}

/* Drop [p, p + len) (page-aligned, guest RAM). Returns the bytes freed. */
static uint64_t discard(struct balloon *b, uint8_t *p, uint64_t len)
{
	if (!len)
		return 0;
	if (madvise(p, len, MADV_DONTNEED) == 0)
		return len;
	/* EINVAL on mlock'ed RAM, for instance: the memory just stays. */
	if (!b->madvise_warned) {
		b->madvise_warned = true;
		log_warn("virtio-balloon: cannot give guest memory back");
	}
	return 0;
}

/* --- inflate and deflate ---------------------------------------------------- */

/*
 * Walk the PFN array of an inflate or deflate chain. Valid PFNs are
 * counted and, on inflate, discarded in runs of host-contiguous pages so
 * that a sorted array costs a few madvise() calls, not one per page.
 */
static void pfn_walk(struct balloon *b, struct vq_chain *c, bool inflate)
{
	const struct guest_mem *gm = b->dev.gm;
	uint32_t pfns[256];
	uint8_t *run = NULL;
	uint64_t run_len = 0;
	size_t n;

	for (uint64_t off = 0; off < c->rd_bytes; off += n) {
		n = vq_chain_read(c, off, pfns, sizeof(pfns));
		if (!n)
			break;
		for (size_t i = 0; i < n / sizeof(pfns[0]); i++) {
			uint8_t *p = gm_ptr(gm, (uint64_t)pfns[i] << PFN_SHIFT, PAGE);

			if (!p || ((uintptr_t)p & (PAGE - 1))) {
				b->bad_pfns++;
				continue;
			}
			if (!inflate) {
				b->deflated_pages++;
				continue;
			}
			b->inflated_pages++;
			if (run && p == run + run_len) {
				run_len += PAGE;
				continue;
			}
			if (run)
				discard(b, run, run_len);
			run = p;
			run_len = PAGE;
		}
	}
	if (run)
		discard(b, run, run_len);
}

static void pfn_run(struct balloon *b, unsigned q, bool inflate)
{
	struct virtio_dev *dev = &b->dev;
	struct vq_chain *c = &b->chain;
	bool pushed = false;

	while (virtio_dev_pop(dev, q, c) > 0) {
		if (c->n_wr) {
			virtio_dev_set_needs_reset(dev, "balloon PFN buffer is device-writable");
			break;
		}
		if (c->rd_bytes % sizeof(uint32_t)) {
			virtio_dev_set_needs_reset(dev, "balloon PFN array ends in a partial PFN");
			break;
		}
		pfn_walk(b, c, inflate);
		virtio_dev_push(dev, q, c->head, 0);
		pushed = true;
	}
	if (pushed)
		virtio_dev_signal(dev, q);
}

/* --- free page reporting ---------------------------------------------------- */

/*
 * Each buffer of a report is one free range. Linux posts them
 * device-writable (virtqueue_add_inbuf); the spec does not say, so either
 * direction is taken. Only whole pages inside a range are dropped: a page
 * the range only partly covers may hold live data.
 */
static void report_run(struct balloon *b, unsigned q)
{
	struct virtio_dev *dev = &b->dev;
	struct vq_chain *c = &b->chain;
	bool pushed = false;

	while (virtio_dev_pop(dev, q, c) > 0) {
		for (unsigned i = 0; i < c->n_rd + c->n_wr; i++) {
			uint8_t *p = c->iov[i].iov_base;
			uint64_t len = c->iov[i].iov_len;
			uintptr_t start, end;

			if (!host_in_ram(dev->gm, p, len)) {
				virtio_dev_set_needs_reset(dev, "reported range not in guest RAM");
				goto out;
			}
			start = ((uintptr_t)p + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
			end = ((uintptr_t)p + len) & ~(uintptr_t)(PAGE - 1);
			if (end > start)
				b->reported_bytes += discard(b, (uint8_t *)start, end - start);
		}
		b->reports++;
		virtio_dev_push(dev, q, c->head, 0);
		pushed = true;
	}
out:
	if (pushed)
		virtio_dev_signal(dev, q);
}

/* --- statistics -------------------------------------------------------------- */

/* Where each known tag lands in struct balloon_stats. */
static const size_t stat_field[VIRTIO_BALLOON_S_NR] = {
    [VIRTIO_BALLOON_S_SWAP_IN] = offsetof(struct balloon_stats, swap_in),
    [VIRTIO_BALLOON_S_SWAP_OUT] = offsetof(struct balloon_stats, swap_out),
    [VIRTIO_BALLOON_S_MAJFLT] = offsetof(struct balloon_stats, major_faults),
    [VIRTIO_BALLOON_S_MINFLT] = offsetof(struct balloon_stats, minor_faults),
    [VIRTIO_BALLOON_S_MEMFREE] = offsetof(struct balloon_stats, free),
    [VIRTIO_BALLOON_S_MEMTOT] = offsetof(struct balloon_stats, total),
    [VIRTIO_BALLOON_S_AVAIL] = offsetof(struct balloon_stats, available),
    [VIRTIO_BALLOON_S_CACHES] = offsetof(struct balloon_stats, caches),
    [VIRTIO_BALLOON_S_HTLB_PGALLOC] = offsetof(struct balloon_stats, hugetlb_allocs),
    [VIRTIO_BALLOON_S_HTLB_PGFAIL] = offsetof(struct balloon_stats, hugetlb_failures),
    [VIRTIO_BALLOON_S_OOM_KILL] = offsetof(struct balloon_stats, oom_kills),
    [VIRTIO_BALLOON_S_ALLOC_STALL] = offsetof(struct balloon_stats, alloc_stalls),
    [VIRTIO_BALLOON_S_ASYNC_SCAN] = offsetof(struct balloon_stats, async_scans),
    [VIRTIO_BALLOON_S_DIRECT_SCAN] = offsetof(struct balloon_stats, direct_scans),
    [VIRTIO_BALLOON_S_ASYNC_RECLAIM] = offsetof(struct balloon_stats, async_reclaims),
    [VIRTIO_BALLOON_S_DIRECT_RECLAIM] = offsetof(struct balloon_stats, direct_reclaims),
};

/*
 * Take the values of a stats buffer: whole 10-byte entries only (a
 * trailing partial one is ignored), in any order, unknown tags skipped
 * (5.5.6.3). The buffer replaces the previous one entirely: the driver
 * sends the same set every time, so a tag it left out is unknown now.
 */
static void stats_parse(struct balloon *b, const struct vq_chain *c)
{
	struct balloon_stats *s = &b->stats;
	uint8_t buf[64 * STAT_BYTES];
	uint64_t entries = c->rd_bytes / STAT_BYTES;
	uint64_t done = 0;
	struct timespec ts;

	if (entries > STATS_MAX_ENTRIES)
		entries = STATS_MAX_ENTRIES;
	*s = (struct balloon_stats){.updates = s->updates};
	while (done < entries) {
		uint64_t k = entries - done;
		size_t n;

		if (k > sizeof(buf) / STAT_BYTES)
			k = sizeof(buf) / STAT_BYTES;
		n = vq_chain_read(c, done * STAT_BYTES, buf, k * STAT_BYTES);
		if (n != k * STAT_BYTES)
			break;
		for (uint64_t i = 0; i < k; i++) {
			const uint8_t *e = buf + i * STAT_BYTES;
			uint16_t tag;
			uint64_t val;

			memcpy(&tag, e, sizeof(tag));
			memcpy(&val, e + sizeof(tag), sizeof(val));
			if (tag >= VIRTIO_BALLOON_S_NR)
				continue;
			memcpy((uint8_t *)s + stat_field[tag], &val, sizeof(val));
			s->valid |= 1u << tag;
		}
		done += k;
	}
	s->updates++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void stats_run(struct balloon *b, unsigned q)
{
	struct virtio_dev *dev = &b->dev;
	struct vq_chain *c = &b->chain;
	bool pushed = false;

	while (virtio_dev_pop(dev, q, c) > 0) {
		if (c->n_wr) {
			virtio_dev_set_needs_reset(dev, "balloon stats buffer is device-writable");
			break;
		}
		stats_parse(b, c);
		/*
		 * A driver may hold only one buffer here (5.5.6.3.1). If it
		 * posts another, hand the older back rather than leak it.
		 */
		if (b->stats_held) {
			virtio_dev_push(dev, q, b->stats_head, 0);
			pushed = true;
		}
		b->stats_held = true;
		b->stats_head = c->head;
	}
	if (pushed)
		virtio_dev_signal(dev, q);
}

/* --- transport callbacks ---------------------------------------------------- */

static void run_queue(struct balloon *b, unsigned q)
{
	switch (queue_role(&b->dev, q)) {
	case BQ_INFLATE:
		pfn_run(b, q, true);
		break;
	case BQ_DEFLATE:
		pfn_run(b, q, false);
		break;
	case BQ_STATS:
		stats_run(b, q);
		break;
	case BQ_REPORTING:
		report_run(b, q);
		break;
	case BQ_NONE:
		/* A slot that does not exist for these features: ignore it. */
		break;
	}
}

static void bal_notify(struct virtio_dev *dev, unsigned q)
{
	run_queue(dev->priv, q);
}

static int bal_activate(struct virtio_dev *dev)
{
	/*
	 * Linux posts and kicks its first stats buffer before DRIVER_OK,
	 * when the transport drops notifications: look at every queue now.
	 */
	for (unsigned q = 0; q < BALLOON_NUM_QUEUES; q++)
		run_queue(dev->priv, q);
	return 0;
}

static void bal_reset(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;

	/* The queue is gone and so is the driver's balloon. The target stays. */
	b->stats_held = false;
	b->actual = 0;
	sync_config(b);
}

static void bal_config_write(struct virtio_dev *dev, uint32_t off, uint32_t len)
{
	struct balloon *b = dev->priv;

	/* Only `actual` is the driver's (5.5.4); a 4-byte write on mmio. */
	if (off < VIRTIO_BALLOON_CFG_ACTUAL + 4 && off + len > VIRTIO_BALLOON_CFG_ACTUAL)
		b->actual = le_get32(dev->config + VIRTIO_BALLOON_CFG_ACTUAL);
	sync_config(b);
}

static const struct virtio_dev_ops balloon_ops = {
    .name = "balloon",
    .device_id = VIRTIO_ID_BALLOON,
    .features = VIRTIO_BIT(VIRTIO_BALLOON_F_STATS_VQ) |
		VIRTIO_BIT(VIRTIO_BALLOON_F_DEFLATE_ON_OOM) |
		VIRTIO_BIT(VIRTIO_BALLOON_F_REPORTING),
    .num_queues = BALLOON_NUM_QUEUES,
    .queue_max = BALLOON_QUEUE_MAX,
    .config_size = VIRTIO_BALLOON_CFG_SIZE,
    .queue_notify = bal_notify,
    .reset = bal_reset,
    .config_write = bal_config_write,
    .activate = bal_activate,
    .destroy = virtio_balloon_destroy,
};

/* --- life cycle and host calls ---------------------------------------------- */

int virtio_balloon_create(struct virtio_dev **out, struct guest_mem *gm)
{
	struct balloon *b;
	int r;

	if (!out || !gm)
		return -EINVAL;
	/* A PFN is one 4 KiB page: discarding it must not take a neighbour. */
	if (sysconf(_SC_PAGESIZE) != PAGE)
		return -ENOTSUP;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	r = virtio_dev_init(&b->dev, &balloon_ops, gm, b);
	if (r < 0)
		goto err_free;
	sync_config(b);
	*out = &b->dev;
	return 0;

err_free:
	free(b);
	return r;
}

void virtio_balloon_destroy(struct virtio_dev *dev)
{
	struct balloon *b;

	if (!dev)
		return;
	b = dev->priv;
	virtio_dev_fini(dev);
	free(b);
}

int virtio_balloon_set_target(struct virtio_dev *dev, uint64_t pages)
{
	struct balloon *b = dev->priv;

	/* More than all of RAM would only make the guest thrash or OOM. */
	if (pages > gm_total(dev->gm) / PAGE || pages > UINT32_MAX)
		return -EINVAL;
	virtio_dev_lock(dev);
	b->target = (uint32_t)pages;
	sync_config(b);
	virtio_dev_config_changed(dev);
	virtio_dev_unlock(dev);
	return 0;
}

int virtio_balloon_stats(struct virtio_dev *dev, struct balloon_stats *out)
{
	struct balloon *b = dev->priv;
	int r = 0;

	virtio_dev_lock(dev);
	if (b->stats.updates)
		*out = b->stats;
	else
		r = -ENODATA;
	virtio_dev_unlock(dev);
	return r;
}

void virtio_balloon_request_stats(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;
	int q;

	virtio_dev_lock(dev);
	q = role_queue(dev, BQ_STATS);
	if (b->stats_held && q >= 0 && virtio_dev_running(dev)) {
		/* Using the buffer is the request (5.5.6.3): nothing written. */
		virtio_dev_push(dev, (unsigned)q, b->stats_head, 0);
		b->stats_held = false;
		virtio_dev_signal(dev, (unsigned)q);
	}
	virtio_dev_unlock(dev);
}

uint64_t virtio_balloon_reported_bytes(struct virtio_dev *dev)
{
	struct balloon *b = dev->priv;
	uint64_t v;

	virtio_dev_lock(dev);
	v = b->reported_bytes;
	virtio_dev_unlock(dev);
	return v;
}

void virtio_balloon_info(struct virtio_dev *dev, struct balloon_info *out)
{
	struct balloon *b = dev->priv;

	virtio_dev_lock(dev);
	out->target_pages = b->target;
	out->actual_pages = b->actual;
	out->inflated_pages = b->inflated_pages;
	out->deflated_pages = b->deflated_pages;
	out->bad_pfns = b->bad_pfns;
	out->reported_bytes = b->reported_bytes;
	out->reports = b->reports;
	virtio_dev_unlock(dev);
}
