/* The VolFs metadata attribute (src/common/volfs.h): the on-disk contract of a
 * version-1 distro folder, so its parser must take exactly what the
 * formatter writes and refuse everything else. */
#include <string.h>

#include "common/volfs.h"
#include "unit.h"

static int roundtrip(const struct lxs_meta *m)
{
	char buf[LXS_META_MAX];
	struct lxs_meta out;
	int n = lxs_meta_format(m, buf);
	if (n <= 0 || n > LXS_META_MAX || lxs_meta_parse(buf, n, &out))
		return 0;
	return memcmp(m, &out, sizeof out) == 0;
}

static void t_format_known(struct unit *u)
{
	struct lxs_meta m = {0, 5, 020620, 136, 0};
	char buf[LXS_META_MAX];
	int n = lxs_meta_format(&m, buf);
	CHECK(u, n == (int)strlen("0:5:20620:136:0") && memcmp(buf, "0:5:20620:136:0", (size_t)n) == 0);
}

static void t_roundtrip(struct unit *u)
{
	struct lxs_meta cases[] = {
		{0, 0, 0100644, 0, 0},
		{4294967294u, 4294967294u, 0177777, 4095, 1048575},
		{1000, 1000, 0104755, 0, 0},
		{0, 42, 0100640, 0, 0},
		{0, 0, 060660, 8, 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		CHECK(u, roundtrip(&cases[i]));
}

static void t_parse_rejects(struct unit *u)
{
	static const char *bad[] = {"", "1:2:3:4", "1:2:3:4:5:6", "a:0:100644:0:0", "0:0:100648:0:0",
				    "0:0::0:0", "99999999999:0:100644:0:0", "0:0:100644:0:0:", "-1:0:100644:0:0",
				    "0:0:100644:0:0\n"};
	struct lxs_meta m;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		CHECK(u, lxs_meta_parse(bad[i], (long)strlen(bad[i]), &m) != 0);
	char big[LXS_META_MAX + 8];
	memset(big, '1', sizeof big);
	CHECK(u, lxs_meta_parse(big, (long)sizeof big, &m) != 0);
}

static void t_host_perm_and_needed(struct unit *u)
{
	struct lxs_meta plain = {0, 0, 0100644, 0, 0}, shadow = {0, 42, 0100640, 0, 0};
	struct lxs_meta ro = {0, 0, 0100444, 0, 0}, dir = {0, 0, 040755, 0, 0}, dev = {0, 0, 020666, 1, 3};
	struct lxs_meta suid = {0, 0, 0104755, 0, 0}, lnk = {0, 0, 0120777, 0, 0};
	CHECK(u, lxs_host_perm(0100444) == 0644 && lxs_host_perm(040500) == 0700 && lxs_host_perm(0104755) == 0755);
	CHECK(u, !lxs_meta_needed(&plain, lxs_host_perm(plain.mode)));
	CHECK(u, lxs_meta_needed(&shadow, lxs_host_perm(shadow.mode)));
	CHECK(u, lxs_meta_needed(&ro, lxs_host_perm(ro.mode)));
	CHECK(u, !lxs_meta_needed(&dir, lxs_host_perm(dir.mode)));
	CHECK(u, lxs_meta_needed(&dev, 0600));
	CHECK(u, lxs_meta_needed(&suid, lxs_host_perm(suid.mode)));
	CHECK(u, !lxs_meta_needed(&lnk, 0777));
}

int main(void)
{
	struct unit u = {0};
	RUN(&u, t_format_known);
	RUN(&u, t_roundtrip);
	RUN(&u, t_parse_rejects);
	RUN(&u, t_host_perm_and_needed);
	return unit_done(&u);
}
