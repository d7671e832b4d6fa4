/*
 * ctlreq.h - what lxs-vm's control socket accepts (control.h has the
 * conversation), decoded and checked without touching a device, so that the
 * unit tests and tests/fuzz/fuzz_vmctl.c reach every check without KVM.
 *
 * What it promises: a request that ctl_parse_request() passes has exactly
 * its type's payload size, no unknown flag bits, a slot below the VM's
 * number of disk slots, for ATTACH exactly two strings (a non-empty
 * image path below PATH_MAX bytes, a serial of at most VIRTIO_BLK_ID_BYTES)
 * that point into the payload, and for SHARE_OPTS exactly two strings (a
 * tag of 1 to VIRTIO_FS_TAG_MAX bytes, DrvFs options hfs_opts_parse takes).
 * Nothing else reaches the devices.
 */
#ifndef LXS_VMM_CTLREQ_H
#define LXS_VMM_CTLREQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/proto.h"
#include "hostfs/hostfs.h"

/* One checked request. */
struct ctl_req {
	uint16_t type;        /* LXS_MSG_VM_* */
	uint32_t slot;        /* ATTACH, DETACH: < the VM's disk slots */
	bool ro;              /* ATTACH: LXS_VM_DISK_RO */
	uint64_t mib;         /* BALLOON: at most CTL_BALLOON_MAX_MIB */
	const char *path;     /* ATTACH: inside the payload, NUL-terminated */
	const char *serial;   /* ATTACH: likewise */
	const char *tag;      /* SHARE_OPTS: inside the payload, NUL-terminated */
	struct hfs_opts opts; /* SHARE_OPTS: parsed over the defaults */
};

/* More than any guest's RAM; keeps MiB -> 4 KiB pages from overflowing. */
#define CTL_BALLOON_MAX_MIB (1ULL << 32)

/*
 * The client's HELLO: 0 if it is one, of the right size and magic and our
 * LXS_PROTO_VERSION. A HELLO of another version is -EPROTO with a sentence
 * in err to answer ERROR with; anything else is -EPROTO with err "" (not a
 * client of ours: dropped without an answer).
 */
int ctl_check_hello(const struct lxs_msg_hdr *h, const uint8_t *payload, char *err, size_t errlen);

/*
 * The request after HELLO, for a VM with nslots disk slots: 0 and *req, or
 * -EPROTO (not a request; wrong payload size, string table or stream),
 * -EINVAL (unknown flags, a bad path, serial, balloon size, tag or
 * options) or -ENODEV
 * (no such slot), always with one sentence in err for the ERROR answer.
 */
int ctl_parse_request(const struct lxs_msg_hdr *h, const uint8_t *payload, unsigned nslots,
		      struct ctl_req *req, char *err, size_t errlen);

#endif
