// fuzz-link: src/vmm/ctlreq.c src/common/wire.c src/common/log.c src/hostfs/*.c
/*
 * fuzz_vmctl.c - libFuzzer target for what a client writes on lxs-vm's
 * control socket: the bytes are framed by wire_next() in chunks of a size
 * the input chooses (the server's reads), then checked the way
 * src/vmm/control.c's take_messages() does: HELLO by ctl_check_hello(),
 * the request after it by ctl_parse_request() (src/vmm/ctlreq.c), and the
 * conversation ends at the first message the server answers or drops for.
 *
 * Input: a byte whose low 5 bits are the VM's disk slots (0..31) and whose
 * top bit skips HELLO (every frame goes to the request parser, so that the
 * fuzzer reaches it without learning HELLO first), a byte for the read
 * size (1..256), then the stream.
 *
 * Checked with abort(), besides crashes and sanitizer reports: the results
 * are 0, -EPROTO, -EINVAL or -ENODEV; a refused request always has a
 * sentence; an accepted one agrees with a separate reading of proto.h
 * (exact payload size per type, slot below the slots, known flags only, for
 * ATTACH a table of exactly two NUL-terminated strings inside the payload
 * with a non-empty path and a serial of at most 20 bytes). With
 * LXS_FUZZ_SEED_DIR set to an empty directory, a seed per request is
 * written there.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#define FUZZ_NAME "fuzz_vmctl"
#include "fuzz_util.h"
#include "vmm/ctlreq.h"
#include "vmm/devices.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sentence(const char *err, size_t cap)
{
	CHECK(memchr(err, 0, cap) != NULL);
	CHECK(err[0] != '\0');
}

/* A request ctl_parse_request accepted, read again from proto.h. */
static void check_accepted(const struct lxs_msg_hdr *h, const uint8_t *p, unsigned nslots,
			   const struct ctl_req *r)
{
	struct lxs_vm_disk d;
	struct lxs_vm_balloon b;

	CHECK(h->stream == 0 && r->type == h->type);
	switch (h->type) {
	case LXS_MSG_VM_ATTACH: {
		size_t tlen = h->len - sizeof(d), nuls = 0;
		const uint8_t *tab = p + sizeof(d);

		CHECK(h->len > sizeof(d));
		memcpy(&d, p, sizeof(d));
		CHECK(d.slot < nslots && r->slot == d.slot && !(d.flags & ~LXS_VM_DISK_RO));
		CHECK(r->ro == !!(d.flags & LXS_VM_DISK_RO));
		for (size_t i = 0; i < tlen; i++)
			nuls += tab[i] == 0;
		CHECK(nuls == 2 && tab[tlen - 1] == 0);
		CHECK((const uint8_t *)r->path == tab);
		size_t pl = strlen(r->path), sl = strlen(r->serial);
		CHECK(pl >= 1 && pl < PATH_MAX && sl <= 20);
		CHECK((const uint8_t *)r->serial == tab + pl + 1 && pl + 1 + sl + 1 == tlen);
		break;
	}
	case LXS_MSG_VM_DETACH:
		CHECK(h->len == sizeof(d));
		memcpy(&d, p, sizeof(d));
		CHECK(d.slot < nslots && d.flags == 0 && r->slot == d.slot && !r->ro);
		CHECK(!r->path && !r->serial);
		break;
	case LXS_MSG_VM_BALLOON:
		CHECK(h->len == sizeof(b));
		memcpy(&b, p, sizeof(b));
		CHECK(r->mib == b.mib && b.mib <= CTL_BALLOON_MAX_MIB);
		break;
	case LXS_MSG_VM_STATS:
	case LXS_MSG_VM_NET:
	case LXS_MSG_VM_POWEROFF:
		CHECK(h->len == 0);
		break;
	case LXS_MSG_VM_SHARE_OPTS: {
		size_t nuls = 0, tl = r->tag ? strlen(r->tag) : 0;

		for (size_t i = 0; i < h->len; i++)
			nuls += p[i] == 0;
		CHECK(nuls == 2 && p[h->len - 1] == 0);
		CHECK((const uint8_t *)r->tag == p && tl >= 1 && tl <= VIRTIO_FS_TAG_MAX);
		CHECK(r->opts.umask <= 07777 && r->opts.fmask <= 07777 && r->opts.dmask <= 07777);
		break;
	}
	default:
		CHECK(!"accepted a type that is not a request");
	}
}

/* One frame as the request: true when the server would end the conversation. */
static bool request(const struct lxs_msg_hdr *h, const uint8_t *p, unsigned nslots)
{
	struct ctl_req r;
	char err[256];
	int ret;

	memset(err, 'x', sizeof(err));
	ret = ctl_parse_request(h, p, nslots, &r, err, sizeof(err));
	CHECK(ret == 0 || ret == -EPROTO || ret == -EINVAL || ret == -ENODEV);
	if (ret == 0)
		check_accepted(h, p, nslots, &r);
	else
		check_sentence(err, sizeof(err));
	return true;
}

static bool hello(const struct lxs_msg_hdr *h, const uint8_t *p, bool *greeted)
{
	char err[256];
	int ret = ctl_check_hello(h, p, err, sizeof(err));

	CHECK(ret == 0 || ret == -EPROTO);
	CHECK(memchr(err, 0, sizeof(err)) != NULL);
	if (ret == 0) {
		struct lxs_hello m;

		memcpy(&m, p, sizeof(m));
		CHECK(h->type == LXS_MSG_HELLO && h->len == sizeof(m) && !h->stream &&
		      m.magic == LXS_SESSION_MAGIC && m.version == LXS_PROTO_VERSION && !err[0]);
		*greeted = true;
		return false;
	}
	return true; /* dropped, or answered ERROR: the end either way */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire w;
	unsigned nslots;
	size_t chunk, off = 2;
	bool greeted, done = false;

	if (size < 2)
		return 0;
	nslots = data[0] & 31;
	greeted = data[0] & 0x80;
	chunk = (size_t)data[1] + 1;
	if (wire_init(&w, -1) < 0)
		return 0;
	while (!done && off < size) {
		/* One read of the server's: what fits its buffer, at most chunk bytes. */
		size_t room = 2 * (WIRE_HDR + LXS_MSG_MAX) - w.rx_have, k = size - off;
		struct lxs_msg_hdr h;
		const uint8_t *p;
		int r;

		if (k > chunk)
			k = chunk;
		if (k > room)
			k = room;
		memcpy(w.rx + w.rx_have, data + off, k);
		w.rx_have += k;
		off += k;
		while (!done && (r = wire_next(&w, &h, &p)) == 1) {
			CHECK(h.len <= LXS_MSG_MAX && WIRE_HDR + h.len <= w.rx_have);
			CHECK(h.type > 0 && h.type < LXS_MSG_TYPE_MAX);
			done = greeted ? request(&h, p, nslots) : hello(&h, p, &greeted);
			wire_consume(&w);
			/* Without HELLO, every frame is a request of its own. */
			if (data[0] & 0x80)
				done = false;
		}
		if (!done && r < 0)
			done = true;
	}
	wire_fini(&w);
	return 0;
}

static size_t frame(uint8_t *b, uint16_t type, const void *a, size_t alen, const void *t,
		    size_t tlen)
{
	struct lxs_msg_hdr h = {.len = (uint32_t)(alen + tlen), .type = type};

	memcpy(b, &h, sizeof(h));
	if (alen)
		memcpy(b + sizeof(h), a, alen);
	if (tlen)
		memcpy(b + sizeof(h) + alen, t, tlen);
	return sizeof(h) + alen + tlen;
}

static void seeds(void)
{
	static const char tab[] = "/run/lxs/disk 0.img\0lxs-0123456789abcdef";
	struct lxs_hello hi = {LXS_SESSION_MAGIC, LXS_PROTO_VERSION};
	struct lxs_vm_disk d = {.slot = 1, .flags = LXS_VM_DISK_RO};
	struct lxs_vm_balloon b = {.mib = 256};
	const char *dir = fz_seed_dir();
	uint8_t buf[256];
	size_t n, at;

	if (!dir)
		return;
	buf[0] = 4;
	buf[1] = 255;
	at = 2 + frame(buf + 2, LXS_MSG_HELLO, &hi, sizeof(hi), NULL, 0);
	n = at + frame(buf + at, LXS_MSG_VM_ATTACH, &d, sizeof(d), tab, sizeof(tab));
	fz_write_seed(dir, "attach", buf, n);
	d.flags = 0;
	n = at + frame(buf + at, LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0);
	fz_write_seed(dir, "detach", buf, n);
	n = at + frame(buf + at, LXS_MSG_VM_BALLOON, &b, sizeof(b), NULL, 0);
	fz_write_seed(dir, "balloon", buf, n);
	n = at + frame(buf + at, LXS_MSG_VM_STATS, NULL, 0, NULL, 0);
	fz_write_seed(dir, "stats", buf, n);
	n = at + frame(buf + at, LXS_MSG_VM_NET, NULL, 0, NULL, 0);
	fz_write_seed(dir, "net", buf, n);
	static const char opts[] = "hostfs0\0uid=1000,gid=1000,umask=022,metadata";
	n = at + frame(buf + at, LXS_MSG_VM_SHARE_OPTS, NULL, 0, opts, sizeof(opts));
	fz_write_seed(dir, "share-opts", buf, n);
	n = at + frame(buf + at, LXS_MSG_VM_POWEROFF, NULL, 0, NULL, 0);
	buf[1] = 0; /* one byte per read */
	fz_write_seed(dir, "poweroff-bytewise", buf, n);
	/* Requests alone, HELLO skipped. */
	buf[0] = 0x80 | 2;
	buf[1] = 63;
	d.flags = LXS_VM_DISK_RO;
	n = 2 + frame(buf + 2, LXS_MSG_VM_ATTACH, &d, sizeof(d), tab, sizeof(tab));
	n += frame(buf + n, LXS_MSG_VM_DETACH, &d, sizeof(d), NULL, 0);
	fz_write_seed(dir, "requests", buf, n);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	seeds();
	return 0;
}
