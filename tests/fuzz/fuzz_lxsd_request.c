// fuzz-link: src/store/ipc.c src/store/paths.c src/common/*.c
/*
 * fuzz_lxsd_request.c - libFuzzer target for lxsd's request parser,
 * ipc_parse_request() (src/store/ipc.c; protocol in ipc.h). The input is
 * what a client writes on lxsd's socket: it is cut into lines the way lxsd's
 * main loop does (at '\n', in a 1024-byte client buffer; a line that does
 * not fit ends the connection) and each line is parsed.
 *
 * Checked with abort(), besides crashes and sanitizer reports: the parse
 * agrees with a separate reading of ipc.h's grammar (words split at runs
 * of spaces; ping; run NAME [USER]; terminate NAME; shutdown [force];
 * status; at most three words), a failure says "empty request" or "unknown
 * request", and the names handed out are non-empty words of that line (no
 * space, no newline, inside the buffer). With LXS_FUZZ_SEED_DIR set to an
 * empty directory, one seed per request is written there.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/ipc.h"
#define FUZZ_NAME "fuzz_lxsd_request"
#include "fuzz_util.h"

#define CLIENT_BUF 1024 /* struct client's buf in src/lxsd/main.c */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The grammar read separately: words of line (a copy) and what they ask for. */
struct words {
	int n; /* words, counted up to 4 */
	size_t at[4], len[4];
};

static void split(const char *line, struct words *w)
{
	size_t i = 0, l = strlen(line);

	memset(w, 0, sizeof(*w));
	while (i < l && w->n < 4) {
		while (i < l && line[i] == ' ')
			i++;
		if (i == l)
			break;
		w->at[w->n] = i;
		while (i < l && line[i] != ' ')
			i++;
		w->len[w->n] = i - w->at[w->n];
		w->n++;
	}
}

static bool word_is(const char *line, const struct words *w, int k, const char *s)
{
	return k < w->n && w->len[k] == strlen(s) && !memcmp(line + w->at[k], s, w->len[k]);
}

/* A string handed out: a whole word of the original line. */
static void check_word(const char *buf, const char *orig, const struct words *w, int k,
		       const char *got)
{
	CHECK(got && k < w->n);
	CHECK(got == buf + w->at[k]);
	CHECK(strlen(got) == w->len[k] && w->len[k] > 0);
	CHECK(!memcmp(got, orig + w->at[k], w->len[k]));
	CHECK(!strchr(got, ' ') && !strchr(got, '\n'));
}

static void one_line(char *buf)
{
	static char orig[CLIENT_BUF];
	struct ipc_request rq;
	struct words w;
	const char *why = NULL;
	int r, want = -1;

	snprintf(orig, sizeof(orig), "%s", buf);
	split(orig, &w);
	if (word_is(orig, &w, 0, "ping"))
		want = IPC_PING;
	else if (word_is(orig, &w, 0, "run") && (w.n == 2 || w.n == 3))
		want = IPC_RUN;
	else if (word_is(orig, &w, 0, "terminate") && w.n == 2)
		want = IPC_TERMINATE;
	else if (word_is(orig, &w, 0, "shutdown") && w.n <= 2)
		want = IPC_SHUTDOWN;
	else if (word_is(orig, &w, 0, "status") && w.n == 1)
		want = IPC_STATUS;

	r = ipc_parse_request(buf, &rq, &why);
	if (want < 0) {
		CHECK(r == -EINVAL && why);
		CHECK(!strcmp(why, w.n ? "unknown request" : "empty request"));
		return;
	}
	CHECK(r == 0 && (int)rq.op == want);
	switch (rq.op) {
	case IPC_RUN:
		check_word(buf, orig, &w, 1, rq.name);
		if (w.n == 3)
			check_word(buf, orig, &w, 2, rq.user);
		else
			CHECK(rq.user && !*rq.user);
		break;
	case IPC_TERMINATE:
		check_word(buf, orig, &w, 1, rq.name);
		CHECK(!rq.user);
		break;
	case IPC_SHUTDOWN:
		CHECK(rq.force == word_is(orig, &w, 1, "force"));
		CHECK(!rq.name && !rq.user);
		break;
	default:
		CHECK(!rq.name && !rq.user && !rq.force);
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const seeds[][2] = {
	    {"ping", "ping\n"},
	    {"run", "run debian\n"},
	    {"run-user", "run debian alice\n"},
	    {"terminate", "terminate debian\n"},
	    {"shutdown", "shutdown force\n"},
	    {"status", "status\n"},
	    {"several", "ping\nstatus\n  run  a   b \nshutdown\n\n"},
	};
	const char *dir = fz_seed_dir();

	(void)argc, (void)argv;
	for (size_t i = 0; dir && i < sizeof(seeds) / sizeof(seeds[0]); i++)
		fz_write_seed(dir, seeds[i][0], seeds[i][1], strlen(seeds[i][1]));
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Exactly lxsd's framing (main.c): read into the buffer, handle each whole line. */
	char *buf = malloc(CLIENT_BUF);
	size_t len = 0, off = 0;

	if (!buf)
		abort();
	while (off < size) {
		size_t k = size - off < CLIENT_BUF - 1 - len ? size - off : CLIENT_BUF - 1 - len;
		char *nl;

		memcpy(buf + len, data + off, k);
		off += k;
		len += k;
		while ((nl = memchr(buf, '\n', len))) {
			*nl = 0;
			one_line(buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len >= CLIENT_BUF - 1)
			break; /* lxsd drops the client */
	}
	free(buf);
	return 0;
}
