/* test_size.c - size_parse: what lxs-vm --mem, lxs-mkimage --size and lxs.conf accept. */
#include <errno.h>
#include <stdint.h>

#include "common/size.h"
#include "unit.h"

static void t_accepts(struct unit *u)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {
		{ "0", 0 },           { "4096", 4096 },         { "4096B", 4096 },
		{ "512M", 512 << 20 }, { "512m", 512 << 20 },    { "2G", 2ULL << 30 },
		{ "64GiB", 64ULL << 30 }, { "1TB", 1ULL << 40 }, { "8k", 8192 },
		{ "16777215T", 16777215ULL << 40 },
	};
	uint64_t v;

	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		v = 1;
		CHECK(u, size_parse(ok[i].s, &v) == 0 && v == ok[i].v);
	}
}

static void t_refuses(struct unit *u)
{
	static const char *const bad[] = {
		"", "-1", "+1", " 1", "1 ", "M", "1X", "1MM", "1iB", "1Bi", "16777216T",
		"18446744073709551616", "1G2",
	};
	uint64_t v = 7;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(u, size_parse(bad[i], &v) == -EINVAL);
	CHECK(u, v == 7); /* untouched on failure */
}

int main(void)
{
	struct unit u = { 0 };

	RUN(&u, t_accepts);
	RUN(&u, t_refuses);
	return unit_done(&u);
}
