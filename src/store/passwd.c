/* passwd.c - see passwd.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/passwd.h"

int passwd_lookup(const char *text, const char *user, struct pw_entry *e)
{
	bool by_uid = user[0] == '#' || !user[0];
	unsigned long want = user[0] == '#' ? strtoul(user + 1, NULL, 10) : 0;
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[1024], *fld[7], *s = buf;
		int n = 0;

		if (len < sizeof(buf)) {
			memcpy(buf, line, len);
			buf[len] = 0;
			for (char *t; n < 7 && (t = strsep(&s, ":"));)
				fld[n++] = t;
		}
		line = nl ? nl + 1 : NULL;
		if (n < 7)
			continue;
		unsigned long uid = strtoul(fld[2], NULL, 10);
		if (by_uid ? uid != want : strcmp(fld[0], user) != 0)
			continue;
		snprintf(e->name, sizeof(e->name), "%s", fld[0]);
		e->uid = (unsigned)uid;
		e->gid = (unsigned)strtoul(fld[3], NULL, 10);
		snprintf(e->home, sizeof(e->home), "%s", fld[5][0] ? fld[5] : "/");
		snprintf(e->shell, sizeof(e->shell), "%s", fld[6][0] ? fld[6] : "/bin/sh");
		return 0;
	}
	return -ENOENT;
}
