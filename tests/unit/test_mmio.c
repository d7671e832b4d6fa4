/*
 * test_mmio.c - the virtio-mmio transport and device state machine (mmio.c)
 * driven through its bus entry points, with a dummy device and a fake guest.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_guest.h"
#include "unit.h"
#include "vmm/mmio.h"
#include "vmm/queue.h"
#include "vmm/virtio.h"

/* --- a dummy device -------------------------------------------------------- */

#define DUMMY_F_A 0
#define DUMMY_F_B 5

struct dummy {
	struct virtio_dev dev;
	int notifies[2];
	int resets, activates, config_writes, irqs;
	uint32_t cw_off, cw_len;
	int activate_ret;
	int last_pop;
	struct vq_chain c;
};

/* Pop everything, "write" the whole writable part, complete it. */
static void d_notify(struct virtio_dev *dev, unsigned q)
{
	struct dummy *d = dev->priv;
	int r;

	d->notifies[q]++;
	while ((r = virtio_dev_pop(dev, q, &d->c)) > 0)
		virtio_dev_push(dev, q, d->c.head, (uint32_t)d->c.wr_bytes);
	d->last_pop = r;
	virtio_dev_signal(dev, q);
}

static void d_reset(struct virtio_dev *dev)
{
	((struct dummy *)dev->priv)->resets++;
}

static void d_config_write(struct virtio_dev *dev, uint32_t off, uint32_t len)
{
	struct dummy *d = dev->priv;

	d->config_writes++;
	d->cw_off = off;
	d->cw_len = len;
}

static int d_activate(struct virtio_dev *dev)
{
	struct dummy *d = dev->priv;

	d->activates++;
	return d->activate_ret;
}

static void d_irq(void *opaque)
{
	((struct dummy *)opaque)->irqs++;
}

static const struct virtio_dev_ops dummy_ops = {
    .name = "dummy",
    .device_id = VIRTIO_ID_RNG,
    .features = VIRTIO_BIT(DUMMY_F_A) | VIRTIO_BIT(DUMMY_F_B),
    .num_queues = 2,
    .queue_max = 16,
    .config_size = 8,
    .queue_notify = d_notify,
    .reset = d_reset,
    .config_write = d_config_write,
    .activate = d_activate,
};

static const struct virtio_dev_ops dummy_ro_ops = {
    .name = "dummy-ro",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max = 16,
    .config_size = 4,
    .queue_notify = d_notify,
    .reset = d_reset,
};

struct t {
	struct fake_guest fg;
	struct fake_ring r[2];
	struct dummy d;
};

static struct t *t_new_ops(const struct virtio_dev_ops *ops)
{
	struct t *t = calloc(1, sizeof(*t));

	if (!t || fg_init(&t->fg) < 0)
		abort();
	if (virtio_dev_init(&t->d.dev, ops, &t->fg.gm, &t->d) != 0)
		abort();
	virtio_dev_set_irq(&t->d.dev, d_irq, &t->d);
	for (unsigned q = 0; q < 2; q++)
		t->r[q] = fr_make(q, 16);
	return t;
}

static struct t *t_new(void)
{
	return t_new_ops(&dummy_ops);
}

static void t_free(struct t *t)
{
	virtio_dev_fini(&t->d.dev);
	fg_fini(&t->fg);
	free(t);
}

static uint32_t status(struct t *t)
{
	return fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_STATUS);
}

#define GOOD_FEATURES (VIRTIO_BIT(VIRTIO_F_VERSION_1) | VIRTIO_BIT(DUMMY_F_B))
#define RUNNING                                                                                    \
	(VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK |            \
	 VIRTIO_STATUS_DRIVER_OK)

static void drv_all(struct t *t)
{
	fg_driver_start(&t->d.dev, GOOD_FEATURES, t->r, 2);
}

/* Post a one-buffer writable chain on queue q. */
static void post_buf(struct t *t, unsigned q, uint16_t head, uint32_t len)
{
	fr_desc(&t->fg, &t->r[q], head, FG_BUF + head * 0x100, len, VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r[q], head);
}

/* --- identification and features -------------------------------------------- */

static void t_ident(struct unit *u)
{
	struct t *t = t_new();

	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE) == 0x74726976);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_VERSION_REG) == 2);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_DEVICE_ID) == VIRTIO_ID_RNG);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_VENDOR_ID) == VIRTIO_MMIO_VENDOR);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_STATUS) == 0);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM_MAX) == 16);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_READY) == 0);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_SHM_LEN_LOW) == 0xffffffff);
	CHECK(u, fg_mmio_rd(&t->d.dev, 0x0f0) == 0); /* reserved */
	t_free(t);
}

static void t_device_features(struct unit *u)
{
	struct t *t = t_new();

	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_DEVICE_FEATURES) ==
		     ((1u << DUMMY_F_A) | (1u << DUMMY_F_B) | (1u << VIRTIO_F_INDIRECT_DESC) |
		      (1u << VIRTIO_F_RING_EVENT_IDX)));
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_DEVICE_FEATURES) == 1u); /* VERSION_1 */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 2);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_DEVICE_FEATURES) == 0);
	t_free(t);
}

static void t_init_rejects_bad_ops(struct unit *u)
{
	struct fake_guest fg;
	struct virtio_dev dev;
	struct virtio_dev_ops ops;

	if (fg_init(&fg) < 0)
		abort();
	ops = dummy_ops;
	ops.num_queues = 0;
	CHECK(u, virtio_dev_init(&dev, &ops, &fg.gm, NULL) == -EINVAL);
	ops = dummy_ops;
	ops.num_queues = VIRTIO_MAX_QUEUES + 1;
	CHECK(u, virtio_dev_init(&dev, &ops, &fg.gm, NULL) == -EINVAL);
	ops = dummy_ops;
	ops.queue_max = 12;
	CHECK(u, virtio_dev_init(&dev, &ops, &fg.gm, NULL) == -EINVAL);
	ops = dummy_ops;
	ops.config_size = VIRTIO_CONFIG_MAX + 1;
	CHECK(u, virtio_dev_init(&dev, &ops, &fg.gm, NULL) == -EINVAL);
	ops = dummy_ops;
	ops.queue_notify = NULL;
	CHECK(u, virtio_dev_init(&dev, &ops, &fg.gm, NULL) == -EINVAL);
	CHECK(u, virtio_dev_init(&dev, &dummy_ops, &fg.gm, NULL) == 0);
	virtio_dev_fini(&dev);
	fg_fini(&fg);
}

/* --- register access width --------------------------------------------------- */

static void t_register_width(struct unit *u)
{
	struct t *t = t_new();
	uint64_t v8 = ~0ULL;
	uint16_t v2 = 0xffff;
	uint8_t v1 = VIRTIO_STATUS_ACKNOWLEDGE;
	uint32_t v4;

	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE, &v2, 2);
	CHECK(u, v2 == 0);
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE, &v8, 8);
	CHECK(u, v8 == 0);
	v4 = 0xffffffff;
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE + 2, &v4, 4);
	CHECK(u, v4 == 0);

	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_STATUS, &v1, 1);
	CHECK(u, status(t) == 0);
	v2 = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_STATUS, &v2, 2);
	CHECK(u, status(t) == 0);
	v4 = VIRTIO_STATUS_ACKNOWLEDGE << 8;
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_STATUS + 1, &v4, 4);
	CHECK(u, status(t) == 0);
	v8 = VIRTIO_STATUS_ACKNOWLEDGE;
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_STATUS, &v8, 8);
	CHECK(u, status(t) == 0);
	/* The aligned 32-bit access works. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	CHECK(u, status(t) == VIRTIO_STATUS_ACKNOWLEDGE);
	/* Writes to read-only registers change nothing. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM_MAX, 2);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS, 3);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE) == VIRTIO_MMIO_MAGIC);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM_MAX) == 16);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	t_free(t);
}

/* --- config space ---------------------------------------------------------------- */

static void t_config_access(struct unit *u)
{
	struct t *t = t_new();
	static const uint8_t init[8] = {0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
	uint64_t v8;
	uint32_t v4;
	uint16_t v2;
	uint8_t v1;

	memcpy(t->d.dev.config, init, 8);
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG, &v1, 1);
	CHECK(u, v1 == 0x11);
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG + 6, &v2, 2);
	CHECK(u, v2 == 0x8877);
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG + 4, &v4, 4);
	CHECK(u, v4 == 0x88776655);
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG, &v8, 8);
	CHECK(u, v8 == 0x8877665544332211ULL);

	/* Partly or wholly past config_size, odd widths, absurd offsets: 0. */
	v4 = 0xffffffff;
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG + 6, &v4, 4);
	CHECK(u, v4 == 0);
	v4 = 0xffffffff;
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG + 8, &v4, 4);
	CHECK(u, v4 == 0);
	v8 = ~0ULL;
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG + 1, &v8, 8);
	CHECK(u, v8 == 0);
	v4 = 0xffffffff;
	virtio_mmio_read(&t->d.dev, VIRTIO_MMIO_CONFIG, &v4, 3);
	CHECK(u, v4 == 0xff000000);
	v2 = 0xffff;
	virtio_mmio_read(&t->d.dev, ~0ULL - 1, &v2, 2);
	CHECK(u, v2 == 0);

	/* Writes inside reach the device; outside are dropped. */
	v2 = 0xabcd;
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_CONFIG + 2, &v2, 2);
	CHECK(u, t->d.config_writes == 1 && t->d.cw_off == 2 && t->d.cw_len == 2);
	CHECK(u, t->d.dev.config[2] == 0xcd && t->d.dev.config[3] == 0xab);
	v4 = 0;
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_CONFIG + 6, &v4, 4);
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_CONFIG + 8, &v4, 4);
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_CONFIG, &v4, 3);
	virtio_mmio_write(&t->d.dev, ~0ULL - 1, &v4, 2);
	virtio_mmio_write(&t->d.dev, ~0ULL - 3, &v4, 4);
	CHECK(u, t->d.config_writes == 1);
	CHECK(u, !memcmp(t->d.dev.config + 4, init + 4, 4) && t->d.dev.config[0] == 0x11);
	t_free(t);

	/* A device without config_write has read-only config. */
	t = t_new_ops(&dummy_ro_ops);
	t->d.dev.config[0] = 7;
	v1 = 9;
	virtio_mmio_write(&t->d.dev, VIRTIO_MMIO_CONFIG, &v1, 1);
	CHECK(u, t->d.dev.config[0] == 7);
	t_free(t);
}

static void t_config_generation(struct unit *u)
{
	struct t *t = t_new();
	uint32_t g = fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_CONFIG_GENERATION);

	virtio_dev_lock(&t->d.dev);
	virtio_dev_config_changed(&t->d.dev);
	virtio_dev_unlock(&t->d.dev);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_CONFIG_GENERATION) == g + 1);
	CHECK(u, t->d.irqs == 0); /* no interrupt before DRIVER_OK */
	drv_all(t);
	virtio_dev_lock(&t->d.dev);
	virtio_dev_config_changed(&t->d.dev);
	virtio_dev_unlock(&t->d.dev);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_INT_CONFIG &&
		     t->d.irqs == 1);
	t_free(t);
}

/* --- status machine and features --------------------------------------------------- */

static void t_status_order(struct unit *u)
{
	struct t *t = t_new();

	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
	CHECK(u, status(t) == 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	CHECK(u, status(t) == VIRTIO_STATUS_ACKNOWLEDGE);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
	CHECK(u, status(t) == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER));
	CHECK(u, t->d.activates == 0);
	/* Clearing a bit is not a reset. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER);
	CHECK(u, status(t) == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER));
	/* Undefined bits are refused. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | 0x10);
	CHECK(u, status(t) == (VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER));
	t_free(t);

	/*
	 * FEATURES_OK without DRIVER, with features that would be acceptable
	 * (set behind the transport's back: a driver cannot write them then).
	 */
	t = t_new();
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	t->d.dev.driver_features = GOOD_FEATURES;
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_FEATURES_OK);
	CHECK(u, status(t) == VIRTIO_STATUS_ACKNOWLEDGE);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);

	/* FAILED may be set at any point. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS,
		   VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FAILED);
	CHECK(u, status(t) & VIRTIO_STATUS_FAILED);
	t_free(t);

	/* The whole sequence activates the device once. */
	t = t_new();
	drv_all(t);
	CHECK(u, status(t) == RUNNING && t->d.activates == 1);
	/* Dropping DRIVER_OK (or any bit) is not a reset either. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, RUNNING & ~VIRTIO_STATUS_DRIVER_OK);
	CHECK(u, status(t) == RUNNING);
	t_free(t);
}

static void t_features_ok_refused(struct unit *u)
{
	struct t *t;

	/* A feature the device did not offer. */
	t = t_new();
	fg_driver_features(&t->d.dev, GOOD_FEATURES | VIRTIO_BIT(1));
	CHECK(u, !(status(t) & VIRTIO_STATUS_FEATURES_OK));
	/* ... so DRIVER_OK cannot follow either. */
	fg_driver_ok(&t->d.dev);
	CHECK(u, !(status(t) & VIRTIO_STATUS_DRIVER_OK) && t->d.activates == 0);
	t_free(t);

	/* No VERSION_1: we are a modern-only device. */
	t = t_new();
	fg_driver_features(&t->d.dev, VIRTIO_BIT(DUMMY_F_A));
	CHECK(u, !(status(t) & VIRTIO_STATUS_FEATURES_OK));
	t_free(t);

	/* A bit above 63. */
	t = t_new();
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 2);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DRIVER_FEATURES, 1);
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	CHECK(u, !(status(t) & VIRTIO_STATUS_FEATURES_OK));
	t_free(t);

	/* The good set is taken, and a reset forgets a bad one. */
	t = t_new();
	fg_driver_features(&t->d.dev, GOOD_FEATURES | VIRTIO_BIT(40));
	CHECK(u, !(status(t) & VIRTIO_STATUS_FEATURES_OK));
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, 0);
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	CHECK(u, status(t) & VIRTIO_STATUS_FEATURES_OK);
	virtio_dev_lock(&t->d.dev);
	CHECK(u, virtio_dev_has_feature(&t->d.dev, DUMMY_F_B));
	CHECK(u, !virtio_dev_has_feature(&t->d.dev, DUMMY_F_A));
	virtio_dev_unlock(&t->d.dev);
	t_free(t);
}

static void t_features_wrong_state(struct unit *u)
{
	struct t *t = t_new();

	/* Before DRIVER. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DRIVER_FEATURES, 1u << DUMMY_F_B);
	CHECK(u, t->d.dev.driver_features == 0);

	/* After FEATURES_OK. */
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	CHECK(u, status(t) & VIRTIO_STATUS_FEATURES_OK);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_DRIVER_FEATURES, (1u << DUMMY_F_A) | (1u << DUMMY_F_B));
	CHECK(u, t->d.dev.driver_features == GOOD_FEATURES);
	t_free(t);
}

/* --- queues ---------------------------------------------------------------------- */

static void t_bad_queue_select(struct unit *u)
{
	struct t *t = t_new();

	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	for (unsigned i = 0; i < 2; i++) {
		uint32_t sel = i ? 0xffffffff : 2;

		fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_SEL, sel);
		CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM_MAX) == 0);
		CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_READY) == 0);
		fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM, 4);
		fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x1234);
		fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 1);
		CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_READY) == 0);
	}
	for (unsigned q = 0; q < 2; q++)
		CHECK(u, t->d.dev.vqs[q].num == 16 && t->d.dev.vqs[q].desc_gpa == 0 &&
			     !t->d.dev.vqs[q].ready);
	CHECK(u, !(status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	t_free(t);
}

static void t_queue_regs_wrong_state(struct unit *u)
{
	struct t *t = t_new();
	struct virtqueue *vq = &t->d.dev.vqs[0];

	/* Before FEATURES_OK. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	fg_driver_queue(&t->d.dev, 0, &t->r[0]);
	CHECK(u, !vq->ready && vq->desc_gpa == 0);
	t_free(t);

	/* While the queue is ready. */
	t = t_new();
	vq = &t->d.dev.vqs[0];
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	fg_driver_queue(&t->d.dev, 0, &t->r[0]);
	CHECK(u, vq->ready);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM, 4);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	CHECK(u, vq->num == 16 && vq->desc_gpa == t->r[0].desc && vq->size == 16);

	/* After DRIVER_OK, even once the queue was turned off. */
	fg_driver_queue(&t->d.dev, 1, &t->r[1]);
	fg_driver_ok(&t->d.dev);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 0);
	CHECK(u, !vq->ready && fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_READY) == 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NUM, 4);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_DESC_LOW, 0x8000);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(u, vq->num == 16 && vq->desc_gpa == t->r[0].desc && !vq->ready);
	t_free(t);
}

static void t_queue_high_registers(struct unit *u)
{
	struct t *t = t_new();
	struct virtqueue *vq = &t->d.dev.vqs[0];

	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	fg_queue_regs(&t->d.dev, 0, t->r[0].size, 0x100001000ULL, t->r[0].avail, t->r[0].used);
	CHECK(u, vq->desc_gpa == 0x100001000ULL);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(u, !vq->ready && (status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	t_free(t);
}

/* A ring outside RAM: the queue stays off and the device needs a reset. */
static void t_needs_reset_bad_ring(struct unit *u)
{
	struct t *t = t_new();

	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	fg_queue_regs(&t->d.dev, 0, t->r[0].size, FG_RAM, t->r[0].avail, t->r[0].used);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_READY) == 0);
	CHECK(u, status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	CHECK(u, t->d.irqs == 0); /* driver not running yet: no interrupt */

	/* Nothing more is accepted until a reset. */
	fg_driver_queue(&t->d.dev, 1, &t->r[1]);
	CHECK(u, !t->d.dev.vqs[1].ready);
	fg_driver_ok(&t->d.dev);
	CHECK(u, t->d.activates == 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK(u, t->d.notifies[1] == 0);

	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, 0);
	CHECK(u, status(t) == 0);
	drv_all(t);
	CHECK(u, status(t) == RUNNING && t->d.activates == 1);
	t_free(t);

	/* Misaligned is as bad as outside. */
	t = t_new();
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	fg_queue_regs(&t->d.dev, 0, t->r[0].size, t->r[0].desc, t->r[0].avail + 1, t->r[0].used);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 1);
	CHECK(u, status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	t_free(t);

	/* So is a queue size the device cannot take. */
	t = t_new();
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	t->r[0].size = 32;
	fg_driver_queue(&t->d.dev, 0, &t->r[0]);
	CHECK(u, status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	t_free(t);
}

/* A bad chain found while running: needs-reset, config interrupt, silence. */
static void t_needs_reset_bad_chain(struct unit *u)
{
	struct t *t = t_new();

	drv_all(t);
	fr_desc(&t->fg, &t->r[0], 0, FG_BUF, 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 0);
	fr_post(&t->fg, &t->r[0], 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, t->d.notifies[0] == 1 && t->d.last_pop == -ELOOP);
	CHECK(u, status(t) == (RUNNING | VIRTIO_STATUS_DEVICE_NEEDS_RESET));
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_INT_CONFIG);
	CHECK(u, t->d.irqs == 1);

	/* The device is stopped: notifies don't reach it, pops return nothing. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK(u, t->d.notifies[0] == 1 && t->d.notifies[1] == 0);
	/* The driver echoing status back keeps the bit. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, RUNNING);
	CHECK(u, status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, 0);
	CHECK(u, status(t) == 0 && !t->d.dev.needs_reset);
	t_free(t);
}

static void t_activate_failure(struct unit *u)
{
	struct t *t = t_new();

	t->d.activate_ret = -EIO;
	drv_all(t);
	CHECK(u, t->d.activates == 1);
	CHECK(u, status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	t_free(t);
}

static void t_notify(struct unit *u)
{
	struct t *t = t_new();
	struct vring_used *used = fr_used(&t->fg, &t->r[1]);

	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	fg_driver_queue(&t->d.dev, 0, &t->r[0]);
	fg_driver_queue(&t->d.dev, 1, &t->r[1]);
	/* Not yet DRIVER_OK: ignored. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, t->d.notifies[0] == 0);
	fg_driver_ok(&t->d.dev);

	/* Bad index: ignored, and not a reason to reset. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 2);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffff);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0xffffffff);
	CHECK(u, t->d.notifies[0] == 0 && t->d.notifies[1] == 0);
	CHECK(u, status(t) == RUNNING);

	/* A good one runs the device, which completes the chain. */
	post_buf(t, 1, 3, 100);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK(u, t->d.notifies[1] == 1 && t->d.last_pop == 0);
	CHECK(u, used->idx == 1 && used->ring[0].id == 3 && used->ring[0].len == 100);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) == VIRTIO_INT_VRING &&
		     t->d.irqs == 1);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_INTERRUPT_ACK, VIRTIO_INT_VRING);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);

	/* A queue the driver turned off gets no notifications. */
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_SEL, 1);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 1);
	CHECK(u, t->d.notifies[1] == 1);
	t_free(t);
}

static void t_reset_clears_state(struct unit *u)
{
	struct t *t = t_new();

	drv_all(t);
	post_buf(t, 0, 0, 10);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_SEL, 1);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) != 0);

	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, 0);
	CHECK(u, t->d.resets == 1);
	CHECK(u, status(t) == 0);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_INTERRUPT_STATUS) == 0);
	CHECK(u, t->d.dev.driver_features == 0 && t->d.dev.queue_sel == 0);
	for (unsigned q = 0; q < 2; q++) {
		struct virtqueue *vq = &t->d.dev.vqs[q];

		CHECK(u, !vq->ready && vq->desc_gpa == 0 && vq->used_gpa == 0 && vq->num == 16);
	}
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_SEL, 0);
	CHECK(u, fg_mmio_rd(&t->d.dev, VIRTIO_MMIO_QUEUE_READY) == 0);

	/* And the device works again after a fresh setup. */
	memset(fg_ptr(&t->fg, 0), 0, FG_BUF);
	t->r[0] = fr_make(0, 16);
	drv_all(t);
	post_buf(t, 0, 1, 7);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
	CHECK(u, fr_used(&t->fg, &t->r[0])->idx == 1);
	t_free(t);
}

/* A hostile driver gets one line on stderr per device, not a flood. */
static void t_warns_once(struct unit *u)
{
	struct t *t = t_new();
	FILE *tmp = tmpfile();
	int saved = dup(2), lines = 0, ch;

	if (!tmp || saved < 0)
		abort();
	fflush(stderr);
	dup2(fileno(tmp), 2);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_MAGIC_VALUE, 1);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_DRIVER_OK);
	fg_driver_features(&t->d.dev, GOOD_FEATURES);
	fg_queue_regs(&t->d.dev, 0, t->r[0].size, FG_RAM, 0, 0);
	fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_READY, 1);
	for (int i = 0; i < 100; i++)
		fg_mmio_wr(&t->d.dev, VIRTIO_MMIO_QUEUE_NOTIFY, 99);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(tmp);
	while ((ch = fgetc(tmp)) != EOF)
		lines += ch == '\n';
	fclose(tmp);
	CHECK(u, lines == 1);
	CHECK(u, status(t) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
	t_free(t);
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_ident);
	RUN(&u, t_device_features);
	RUN(&u, t_init_rejects_bad_ops);
	RUN(&u, t_register_width);
	RUN(&u, t_config_access);
	RUN(&u, t_config_generation);
	RUN(&u, t_status_order);
	RUN(&u, t_features_ok_refused);
	RUN(&u, t_features_wrong_state);
	RUN(&u, t_bad_queue_select);
	RUN(&u, t_queue_regs_wrong_state);
	RUN(&u, t_queue_high_registers);
	RUN(&u, t_needs_reset_bad_ring);
	RUN(&u, t_needs_reset_bad_chain);
	RUN(&u, t_activate_failure);
	RUN(&u, t_notify);
	RUN(&u, t_reset_clears_state);
	RUN(&u, t_warns_once);
	return unit_done(&u);
}
