/*
 * netif.c - the VM's network interfaces, set up by lxs-init at boot before
 * any distro starts, by rtnetlink (no ip(8), no DHCP client in distros):
 * the loopback, and eth0 (the virtio-net card, present when the host runs
 * the NAT: networkingMode=nat) with the fixed addresses of common/proto.h,
 * its MTU and default routes. The VM has one network namespace that every
 * distro shares, as WSL 2's does, so this is done once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "guest.h"

struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
		struct rtmsg rtm;
	};
	char attrs[256];
};

static void nl_attr(struct nl_req *r, unsigned short type, const void *data, size_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)r + NLMSG_ALIGN(r->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	r->nh.nlmsg_len = NLMSG_ALIGN(r->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* Send one request and wait for its acknowledgement: 0 or -errno. */
static int nl_talk(int fd, struct nl_req *r)
{
	char buf[4096];
	static unsigned seq;

	r->nh.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->nh.nlmsg_seq = ++seq;
	if (send(fd, r, r->nh.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != r->nh.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
}

static int link_up(int fd, int index, unsigned mtu)
{
	struct nl_req r = {
	    .nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)), .nlmsg_type = RTM_NEWLINK}};

	r.ifi.ifi_family = AF_UNSPEC;
	r.ifi.ifi_index = index;
	r.ifi.ifi_flags = IFF_UP;
	r.ifi.ifi_change = IFF_UP;
	if (mtu)
		nl_attr(&r, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_talk(fd, &r);
}

static int add_addr(int fd, int index, int family, const char *text, unsigned char prefix)
{
	struct nl_req r = {.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg)),
				  .nlmsg_type = RTM_NEWADDR,
				  .nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE}};
	unsigned char a[16];
	/* The NAT is the only other host on this link: no duplicate to detect, no delay. */
	unsigned flags = IFA_F_NODAD;

	if (inet_pton(family, text, a) != 1)
		return -EINVAL;
	r.ifa.ifa_family = (unsigned char)family;
	r.ifa.ifa_prefixlen = prefix;
	r.ifa.ifa_index = (unsigned)index;
	nl_attr(&r, IFA_LOCAL, a, family == AF_INET ? 4 : 16);
	nl_attr(&r, IFA_ADDRESS, a, family == AF_INET ? 4 : 16);
	nl_attr(&r, IFA_FLAGS, &flags, sizeof(flags));
	return nl_talk(fd, &r);
}

static int add_default_route(int fd, int index, int family, const char *gateway)
{
	struct nl_req r = {.nh = {.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)),
				  .nlmsg_type = RTM_NEWROUTE,
				  .nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE}};
	unsigned char gw[16];
	int oif = index;

	if (inet_pton(family, gateway, gw) != 1)
		return -EINVAL;
	r.rtm.rtm_family = (unsigned char)family;
	r.rtm.rtm_table = RT_TABLE_MAIN;
	r.rtm.rtm_protocol = RTPROT_STATIC;
	r.rtm.rtm_scope = RT_SCOPE_UNIVERSE;
	r.rtm.rtm_type = RTN_UNICAST;
	nl_attr(&r, RTA_GATEWAY, gw, family == AF_INET ? 4 : 16);
	nl_attr(&r, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(fd, &r);
}

int netif_setup(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	int lo, eth, ret;

	if (fd < 0)
		return -errno;
	lo = (int)if_nametoindex("lo");
	if (lo && (ret = link_up(fd, lo, 0)) < 0)
		fprintf(stderr, "lxs-init: cannot bring the loopback up: %s\n", strerror(-ret));
	eth = (int)if_nametoindex("eth0");
	if (!eth) {
		close(fd);
		return 0; /* networkingMode=none: no card */
	}
	if ((ret = link_up(fd, eth, LXS_NET_MTU)) < 0 ||
	    (ret = add_addr(fd, eth, AF_INET, LXS_NET_GUEST4, LXS_NET_PREFIX4)) < 0 ||
	    (ret = add_default_route(fd, eth, AF_INET, LXS_NET_GATEWAY4)) < 0) {
		fprintf(stderr, "lxs-init: cannot configure eth0: %s\n", strerror(-ret));
		close(fd);
		return ret;
	}
	/* IPv6 is a bonus: a kernel or NAT without it still leaves IPv4 working. */
	if ((ret = add_addr(fd, eth, AF_INET6, LXS_NET_GUEST6, LXS_NET_PREFIX6)) < 0 ||
	    (ret = add_default_route(fd, eth, AF_INET6, LXS_NET_GATEWAY6)) < 0)
		fprintf(stderr, "lxs-init: eth0 has no IPv6: %s\n", strerror(-ret));
	close(fd);
	return 1;
}
