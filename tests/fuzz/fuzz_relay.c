// fuzz-link: src/relay/relay.c src/common/wire.c
/*
 * fuzz_relay.c - libFuzzer target for the CREATE request that src/relay
 * serves: from the host to lxs-init for a distro's process, and from a
 * distro's lxs-host (hostile: anything in the VM or the distro) to the
 * host's interop server for a host program. The input is CREATE's payload;
 * relay_serve() checks and splits it, and the prepare hook sees the result
 * and refuses it (so nothing is ever run), as a server's would refuse a
 * user or a folder.
 *
 * Checked with abort(), besides crashes and sanitizer reports: relay_serve
 * returns 0 or -errno; the hook is reached only for a payload that a
 * separate reading of proto.h accepts (the struct, known flags, 1..65536
 * arguments, at most 65536 variables, exactly 3 + argc + envc
 * NUL-terminated strings filling the payload), and then every string it is
 * given lies inside the payload, argv and envp are NULL-terminated with
 * argc and envc entries.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/proto.h"
#include "common/wire.h"
#define FUZZ_NAME "fuzz_relay"
#include "fuzz_util.h"
#include "relay/relay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const uint8_t *p;
	size_t n;
	bool reached;
};

static bool inside(const struct seen *s, const char *str)
{
	const uint8_t *b = (const uint8_t *)str;

	return b >= s->p && b < s->p + s->n && memchr(b, 0, (size_t)(s->p + s->n - b)) != NULL;
}

static int prepare(void *ctx, struct wire *w, const struct relay_request *rq, struct relay_plan *pl)
{
	struct seen *s = ctx;
	uint32_t i;

	(void)pl;
	s->reached = true;
	CHECK(!(rq->c.flags & ~LXS_CREATE_FLAGS));
	CHECK(rq->c.argc >= 1 && rq->c.argc <= 65536 && rq->c.envc <= 65536);
	CHECK(inside(s, rq->distro) && inside(s, rq->user) && inside(s, rq->cwd));
	for (i = 0; i < rq->c.argc; i++)
		CHECK(rq->argv[i] && inside(s, rq->argv[i]));
	CHECK(rq->argv[i] == NULL);
	for (i = 0; i < rq->c.envc; i++)
		CHECK(rq->envp[i] && inside(s, rq->envp[i]));
	CHECK(rq->envp[i] == NULL);
	return wire_send_error(w, EPERM, "refused by the fuzzer");
}

static const struct relay_ops ops = {.prepare = prepare};

/* What proto.h says a CREATE payload is, read without relay.c. */
static bool well_formed(const uint8_t *p, size_t n)
{
	struct lxs_create c;
	size_t strs = 0;

	if (n < sizeof(c))
		return false;
	memcpy(&c, p, sizeof(c));
	if ((c.flags & ~LXS_CREATE_FLAGS) || c.argc < 1 || c.argc > 65536 || c.envc > 65536)
		return false;
	for (size_t i = sizeof(c); i < n; i++)
		strs += p[i] == 0;
	return n > sizeof(c) && p[n - 1] == 0 && strs == 3 + (size_t)c.argc + c.envc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen s = {.p = data, .n = size};
	struct wire w;
	int sv[2];

	if (size > LXS_MSG_MAX || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	CHECK(wire_init(&w, sv[0]) == 0);
	int ret = relay_serve(&w, data, size, &ops, &s);
	CHECK(ret <= 0);
	CHECK(s.reached == well_formed(data, size));
	wire_fini(&w);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
