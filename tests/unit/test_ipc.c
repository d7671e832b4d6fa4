/*
 * test_ipc.c - lxsd's request parser, ipc_parse_request() (src/store/ipc.c):
 * the requests of ipc.h, and the lines it refuses with their sentences.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store/ipc.h"
#include "unit.h"

static int parse(const char *text, struct ipc_request *rq, const char **why)
{
	static char line[256];

	snprintf(line, sizeof(line), "%s", text);
	return ipc_parse_request(line, rq, why);
}

static void t_requests(struct unit *u)
{
	struct ipc_request rq;
	const char *why;

	CHECK(u, parse("ping", &rq, &why) == 0 && rq.op == IPC_PING);
	CHECK(u, parse("run debian", &rq, &why) == 0 && rq.op == IPC_RUN);
	CHECK(u, !strcmp(rq.name, "debian") && !strcmp(rq.user, ""));
	CHECK(u, parse("  run   debian  alice ", &rq, &why) == 0 && rq.op == IPC_RUN);
	CHECK(u, !strcmp(rq.name, "debian") && !strcmp(rq.user, "alice"));
	CHECK(u, parse("terminate d", &rq, &why) == 0 && rq.op == IPC_TERMINATE);
	CHECK(u, !strcmp(rq.name, "d"));
	CHECK(u, parse("shutdown", &rq, &why) == 0 && rq.op == IPC_SHUTDOWN && !rq.force);
	CHECK(u, parse("shutdown force", &rq, &why) == 0 && rq.op == IPC_SHUTDOWN && rq.force);
	CHECK(u, parse("shutdown now", &rq, &why) == 0 && !rq.force);
	CHECK(u, parse("status", &rq, &why) == 0 && rq.op == IPC_STATUS);
}

static void t_refused(struct unit *u)
{
	struct ipc_request rq;
	const char *why;

	CHECK(u, parse("", &rq, &why) == -EINVAL && !strcmp(why, "empty request"));
	CHECK(u, parse("   ", &rq, &why) == -EINVAL && !strcmp(why, "empty request"));
	static const char *const bad[] = {"run",           "run a b c",        "terminate",
					  "terminate a b", "shutdown force x", "status x",
					  "RUN a",         "runx a",           "nothing"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(u, parse(bad[i], &rq, &why) == -EINVAL && !strcmp(why, "unknown request"));
}

int main(void)
{
	struct unit u = {0};

	RUN(&u, t_requests);
	RUN(&u, t_refused);
	return unit_done(&u);
}
