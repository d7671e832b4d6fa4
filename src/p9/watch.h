/*
 * watch.h - lxs's one addition to 9P2000.L: the server tells its client
 * what others changed in the tree it serves, so that the client may keep
 * names and attributes cached for long and still see a change at once
 * (lxs-fs's view of a version-2 distro: src/guest/distrofs_watch.c says
 * what, src/distrofs/ops.c what the host does with it).
 *
 *   Tlxswatch  size[4] 200 tag[2]
 *   Rlxswatch  size[4] 201 tag[2] flags[4] count[2] count*(kind[1] ino[8] dir[8] name[s])
 *
 * The first Tlxswatch of a connection is answered at once with
 * P9_WATCH_ARMED: everything others change from the connection's attach on
 * is reported. A later one is held until there is something to report (a
 * long poll; one at a time, a second gets EBUSY) and may be flushed: a
 * Tflush of it is answered with Rflush and it gets no Rlxswatch after. A
 * server that does not watch answers Rlerror, as any 9P2000.L server does
 * for a type it does not know. What the connection changes itself is not
 * reported.
 *
 * A record's ino and dir are qid paths of the server's files:
 *   P9_WATCH_ATTR  ino's attributes changed (owner, mode, times, links, xattrs)
 *   P9_WATCH_DATA  ino's contents changed, and so its attributes
 *   P9_WATCH_NAME  the entry `name` of folder dir was made, removed or renamed
 *                  (ino 0)
 * and ATTR and DATA have no dir (0) and no name (""). flags:
 *   P9_WATCH_LOST  changes were lost (too many at once): anything may have
 *                  changed since the last reply.
 */
#ifndef LXS_P9_WATCH_H
#define LXS_P9_WATCH_H

#include "p9/proto.h"

#define P9_TLXSWATCH 200
#define P9_RLXSWATCH 201

#define P9_WATCH_ARMED 0x1u
#define P9_WATCH_LOST  0x2u

enum p9_watch_kind { P9_WATCH_ATTR = 1, P9_WATCH_DATA = 2, P9_WATCH_NAME = 3 };

#define P9_WATCH_HDRSZ    (P9_HDRSZ + 4 + 2) /* Rlxswatch up to its records */
#define P9_WATCH_RECSZ    (1 + 8 + 8 + 2)    /* a record without its name */
#define P9_WATCH_NAME_MAX 255                /* a name of a Linux file system */

#endif
