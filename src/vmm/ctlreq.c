/*
 * ctlreq.c - decoding and checking the requests of lxs-vm's control socket
 * (ctlreq.h). Pure: no device, no socket, no allocation.
 */
#include "ctlreq.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "common/wire.h"
#include "devices.h"

int ctl_check_hello(const struct lxs_msg_hdr *h, const uint8_t *payload, char *err, size_t errlen)
{
	struct lxs_hello hello;

	err[0] = '\0';
	if (h->type != LXS_MSG_HELLO || h->len != sizeof(hello) || h->stream)
		return -EPROTO;
	memcpy(&hello, payload, sizeof(hello));
	if (hello.magic != LXS_SESSION_MAGIC)
		return -EPROTO;
	if (hello.version != LXS_PROTO_VERSION) {
		snprintf(err, errlen, "lxs-vm speaks protocol version %u, not %u",
			 LXS_PROTO_VERSION, hello.version);
		return -EPROTO;
	}
	return 0;
}

/* The payload size each request must have: exactly, or at least for ATTACH's string table. */
static int want_len(uint16_t type, size_t *len)
{
	switch (type) {
	case LXS_MSG_VM_ATTACH:
	case LXS_MSG_VM_DETACH:
		*len = sizeof(struct lxs_vm_disk);
		return 0;
	case LXS_MSG_VM_BALLOON:
		*len = sizeof(struct lxs_vm_balloon);
		return 0;
	case LXS_MSG_VM_STATS:
	case LXS_MSG_VM_NET:
	case LXS_MSG_VM_POWEROFF:
	case LXS_MSG_VM_SHARE_OPTS: /* all in its string table */
		*len = 0;
		return 0;
	default:
		return -EPROTO;
	}
}

static int take_disk(const struct lxs_msg_hdr *h, const uint8_t *payload, unsigned nslots,
		     struct ctl_req *req, char *err, size_t errlen)
{
	struct lxs_vm_disk d;
	uint32_t known = h->type == LXS_MSG_VM_ATTACH ? LXS_VM_DISK_RO : 0;

	memcpy(&d, payload, sizeof(d));
	if (d.flags & ~known) {
		snprintf(err, errlen, "unknown disk flags %#x", d.flags & ~known);
		return -EINVAL;
	}
	if (d.slot >= nslots) {
		snprintf(err, errlen, "no disk slot %u (this VM has %u)", d.slot, nslots);
		return -ENODEV;
	}
	req->slot = d.slot;
	req->ro = d.flags & LXS_VM_DISK_RO;
	if (h->type != LXS_MSG_VM_ATTACH)
		return 0;

	const char *s[2];
	size_t plen;

	if (wire_split(payload + sizeof(d), h->len - sizeof(d), s, 2) < 0) {
		snprintf(err, errlen, "an attach needs exactly two strings: image path and serial");
		return -EPROTO;
	}
	plen = strlen(s[0]);
	if (plen == 0 || plen >= PATH_MAX) {
		snprintf(err, errlen, "the image path is empty or longer than %d bytes",
			 PATH_MAX - 1);
		return -EINVAL;
	}
	if (strlen(s[1]) > VIRTIO_BLK_ID_BYTES) {
		snprintf(err, errlen, "the serial is longer than %d bytes", VIRTIO_BLK_ID_BYTES);
		return -EINVAL;
	}
	req->path = s[0];
	req->serial = s[1];
	return 0;
}

static int take_share_opts(const struct lxs_msg_hdr *h, const uint8_t *payload, struct ctl_req *req,
			   char *err, size_t errlen)
{
	const char *s[2];
	size_t tlen;

	if (wire_split(payload, h->len, s, 2) < 0) {
		snprintf(err, errlen, "share options need exactly two strings: tag and options");
		return -EPROTO;
	}
	tlen = strlen(s[0]);
	if (tlen == 0 || tlen > VIRTIO_FS_TAG_MAX) {
		snprintf(err, errlen, "a share tag has 1 to %d bytes", VIRTIO_FS_TAG_MAX);
		return -EINVAL;
	}
	hfs_opts_default(&req->opts);
	if (hfs_opts_parse(&req->opts, s[1]) < 0) {
		snprintf(err, errlen,
			 "the share options are not DrvFs options (metadata, uid=, gid=, umask=, "
			 "fmask=, dmask=)");
		return -EINVAL;
	}
	req->tag = s[0];
	return 0;
}

int ctl_parse_request(const struct lxs_msg_hdr *h, const uint8_t *payload, unsigned nslots,
		      struct ctl_req *req, char *err, size_t errlen)
{
	size_t want;

	memset(req, 0, sizeof(*req));
	err[0] = '\0';
	if (h->stream || want_len(h->type, &want) < 0) {
		snprintf(err, errlen, "message type %u is not a request lxs-vm takes", h->type);
		return -EPROTO;
	}
	/* Only ATTACH and SHARE_OPTS carry more than their struct: the string table. */
	bool table = h->type == LXS_MSG_VM_ATTACH || h->type == LXS_MSG_VM_SHARE_OPTS;
	if (table ? h->len < want : h->len != want) {
		snprintf(err, errlen, "request %u has %u bytes of payload, not %s%zu", h->type,
			 h->len, table ? "at least " : "", want);
		return -EPROTO;
	}
	req->type = h->type;
	switch (h->type) {
	case LXS_MSG_VM_ATTACH:
	case LXS_MSG_VM_DETACH:
		return take_disk(h, payload, nslots, req, err, errlen);
	case LXS_MSG_VM_SHARE_OPTS:
		return take_share_opts(h, payload, req, err, errlen);
	case LXS_MSG_VM_BALLOON: {
		struct lxs_vm_balloon b;

		memcpy(&b, payload, sizeof(b));
		if (b.mib > CTL_BALLOON_MAX_MIB) {
			snprintf(err, errlen, "a balloon of %llu MiB is more than any VM has",
				 (unsigned long long)b.mib);
			return -EINVAL;
		}
		req->mib = b.mib;
		return 0;
	}
	default:
		return 0;
	}
}
